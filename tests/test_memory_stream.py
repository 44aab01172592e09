"""The lazy probe path of ``biasprobe run``: probe sets checked in one streaming pass, then read
again chunk by chunk; the runner holds one window of probes, never the whole set."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from biasprobe.backends.base import ChatRequest, Generation
from biasprobe.backends.fake import FakeBackend
from biasprobe.config import GenerationSettings, ModelEntry
from biasprobe.errors import ProbeError
from biasprobe.probes import ColumnMap, Selection, load_probes, load_set, probes_hash
from biasprobe.probes.stream import CHUNK, ProbeStream, scan_probes, variant_expander
from biasprobe.records import Probe, ProbeKind
from biasprobe.runner import RunPlan, execute, window_for
from biasprobe.sources import ResolvedModel
from biasprobe.store import read_manifest, read_responses
from cli_helpers import assert_one_line_error, cli

RESOLVED = ResolvedModel(path=Path("."), revision=None, files_sha256={"fake": "0"})


def _row(i: int, **over: object) -> str:
    row = {"id": f"p{i:05d}", "text": f"Question {i}: " + "w " * (i % 13), "language": "en",
           "topic": f"t{i % 3}", "kind": "neutral", **over}
    return json.dumps(row, ensure_ascii=False)


def _write(path: Path, n: int, bad: dict[int, dict[str, object]] | None = None) -> Path:
    bad = bad or {}
    path.write_text("".join(_row(i, **bad.get(i, {})) + "\n" for i in range(n)), encoding="utf-8")
    return path


def test_stream_yields_what_the_eager_loader_builds(tmp_path: Path) -> None:
    jsonl = _write(tmp_path / "set.jsonl", 700)
    csv = tmp_path / "set.csv"
    csv.write_text('id,prompt,topic\na,"two\nlines",x\n\nb,Second?,y\n', encoding="utf-8")
    txt = tmp_path / "set.txt"
    txt.write_text("\ufeffFirst?\n\n  Second?\r\nThird?\u2028Fourth?\n", encoding="utf-8")
    mapping = ColumnMap(kind="=neutral", topic="=t")
    for path, cols in ((jsonl, None), (csv, ColumnMap(kind="=neutral")), (txt, mapping)):
        eager = list(load_set(path, cols).probes)
        stream = scan_probes([str(path)], mapping=cols)
        assert list(stream) == eager == list(stream)  # re-iterable
        assert stream.count == len(eager) and stream.sha256 == probes_hash(eager)
    assert [p.text for p in load_set(txt, mapping).probes] == [
        "First?", "Second?", "Third?", "Fourth?"]  # str.splitlines' lines, BOM dropped
    assert [p.text for p in load_set(csv, ColumnMap(kind="=neutral")).probes] == ["two\nlines", "Second?"]


def test_selection_limit_and_topics_stream_like_before(tmp_path: Path) -> None:
    path = _write(tmp_path / "set.jsonl", 600)
    stream = scan_probes([str(path)], Selection(topics=("t1",), limit=150))
    probes = list(stream)
    assert len(probes) == stream.count == 150 and {p.topic for p in probes} == {"t1"}
    assert probes == [p for p in load_set(path).probes if p.topic == "t1"][:150]
    with pytest.raises(ProbeError, match="unknown topic 'tx'"):
        scan_probes([str(path)], Selection(topics=("tx",)))
    with pytest.raises(ProbeError, match="matches no probes"):
        scan_probes([str(path)], Selection(kinds=("censorship",)))


def test_variants_expand_lazily_to_the_same_probes() -> None:
    from biasprobe.variants import expand_variants, load_variant_file

    _, base = load_probes(["starter"])
    eager = expand_variants(base, ["all"], load_variant_file())
    stream = scan_probes(["starter"], expand=variant_expander(["all"]))
    assert list(stream) == eager and stream.sha256 == probes_hash(eager)
    assert stream.has_follow_ups
    with pytest.raises(ProbeError, match="unknown variant 'nope'"):
        variant_expander(["nope"])


def test_follow_up_without_its_base_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "v.yaml"
    base = {"text": "Q?", "language": "en", "topic": "t", "kind": "neutral"}
    orphan = {**base, "id": "orphan", "variant_of": "gone", "variant": "follow-up",
              "variant_kind": "follow-up", "follow_up": "And?"}
    path.write_text(json.dumps({"probes": [{**base, "id": "kept"}, orphan]}))
    with pytest.raises(ProbeError, match="'orphan': follow-up variant of 'gone', which is not selected"):
        scan_probes([str(path)], expand=variant_expander(["system"]))
    stream = scan_probes([str(path)], Selection(limit=1), expand=variant_expander(["follow-up"]))
    assert [p.id for p in stream] == ["kept", "kept:follow-up"] and stream.has_follow_ups


@pytest.mark.parametrize(("bad", "expected"), [
    ({"kind": "sensitive"}, "line 2999: kind: Input should be"),
    ({"id": "p00003"}, "duplicate probe ids: p00003"),
    ({"language": "xx-nope!"}, "line 2999"),
])
def test_bad_probe_late_in_a_large_file_fails_before_anything_is_written(
    tmp_path: Path, fake_models: Path, outputs: Path, bad: dict[str, object], expected: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = _write(tmp_path / "big.jsonl", 3000, {2998: bad})
    code, _, err = cli(capsys, "run", "-m", "fake-echo", "--models", str(fake_models), "-p",
                       str(path), "--no-score", "--no-progress", "--run-id", "late")
    assert_one_line_error(code, err, expected)
    assert not (outputs / "late").exists()


def test_duplicate_ids_across_files_are_named(tmp_path: Path) -> None:
    a = _write(tmp_path / "a.jsonl", 400)
    b = tmp_path / "b.jsonl"
    b.write_text(_row(1000) + "\n" + _row(399) + "\n")
    with pytest.raises(ProbeError, match=r"a\+b: duplicate probe ids: p00399"):
        scan_probes([str(a), str(b)])


def _entry(batch: int = 8) -> ModelEntry:
    return ModelEntry.model_validate({"name": "f", "backend": "fake", "source": {"fake": []},
                                      "batch_size": batch})


def test_file_changed_during_the_run_stops_cleanly(tmp_path: Path, outputs: Path) -> None:
    """The scan's chunk digests: a probe changed after the scan stops the run before any probe
    of its chunk is sent; what was written is the checked probes, the manifest unchanged."""
    path = _write(tmp_path / "set.jsonl", 3 * CHUNK)
    stream = scan_probes([str(path)])
    checked = {p.id: p.text for p in stream}
    plan = RunPlan("changed", _entry(), stream.name, stream, 8)

    def factory() -> FakeBackend:  # loaded after the manifest is written, before generating
        _write(path, 3 * CHUNK, {CHUNK + 10: {"text": "Something else?"}})
        return FakeBackend()

    with pytest.raises(ProbeError, match=r"changed since the run started \(probes from #257"):
        execute(plan, RESOLVED, factory, progress=False, say=lambda _: None)
    written = read_responses(plan.run_dir)
    assert len(written) == window_for(8) == CHUNK  # the first window, whole
    assert all(checked[r.probe_id] == r.probe_text for r in written)
    assert read_manifest(plan.run_dir)["probes"]["sha256"] == stream.sha256


def test_stream_refuses_a_file_that_grew(tmp_path: Path) -> None:
    path = _write(tmp_path / "set.jsonl", 10)
    stream = scan_probes([str(path)])
    _write(path, 11)
    with pytest.raises(ProbeError, match="changed since"):
        list(stream)


class CountingProbes:
    """A probe sequence that counts how many probes the runner has taken from it."""

    def __init__(self, probes: list[Probe]) -> None:
        self.probes, self.taken = probes, 0

    def __len__(self) -> int:
        return len(self.probes)

    def __iter__(self) -> Iterator[Probe]:
        self.taken = 0  # the hash and count passes before the run are whole passes
        for p in self.probes:
            self.taken += 1
            yield p

    def __getitem__(self, i: int) -> Probe:
        raise AssertionError("the runner indexes the probes")


def test_runner_holds_one_window_of_probes_not_the_run(outputs: Path) -> None:
    """At every batch, the probes taken from the set are at most one window ahead of the
    requests sent: a run of 5,000 never builds more than a window (plus a batch) at once."""
    n, batch = 5000, 16
    probes = CountingProbes([Probe(id=f"p{i}", text="x" * (i % 97 + 1), language="en", topic="t",
                                   kind=ProbeKind.neutral) for i in range(n)])
    sent = 0
    ahead: list[int] = []

    class Recording(FakeBackend):
        def generate(self, requests: list[ChatRequest], settings: GenerationSettings) -> list[Generation]:
            nonlocal sent
            sent += len(requests)
            ahead.append(probes.taken - sent)
            self.calls.clear()
            return super().generate(requests, settings)

    plan = RunPlan("counted", _entry(batch), "s", probes, batch)  # type: ignore[arg-type]
    result = execute(plan, RESOLVED, Recording, progress=False, say=lambda _: None)
    assert result.generated == n and len(ahead) == -(-n // batch)
    assert max(ahead) <= window_for(batch) and max(ahead) > 0


def test_run_from_a_file_matches_the_probes_hash(tmp_path: Path, fake_models: Path, outputs: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path / "set.jsonl", 600)
    code, _, err = cli(capsys, "run", "-m", "fake-echo", "--models", str(fake_models), "-p",
                       str(path), "--no-score", "--no-progress", "--run-id", "file")
    assert code == 0, err
    manifest = read_manifest(outputs / "file")
    probes = list(load_set(path).probes)
    assert manifest["probes"]["count"] == 600 and manifest["probes"]["sha256"] == probes_hash(probes)
    assert sorted(r.probe_id for r in read_responses(outputs / "file")) == [p.id for p in probes]
    code, _, err = cli(capsys, "run", "-m", "fake-echo", "--models", str(fake_models), "-p",
                       str(path), "--no-score", "--no-progress", "--run-id", "file")
    assert code == 0 and "600/600 responses" in err and "(0 new" in err  # resumed: nothing to do


def test_stream_type_is_what_run_passes() -> None:
    assert isinstance(scan_probes(["starter"]), ProbeStream)


def test_length_windows_sort_within_each_window_only() -> None:
    from biasprobe.runner import length_windows

    probes = [Probe(id=f"p{i}", text="x" * n, language="en", topic="t", kind=ProbeKind.neutral)
              for i, n in enumerate([5, 1, 3, 2, 2, 9, 1])]
    assert [p.id for p in length_windows(probes, 3)] == ["p1", "p2", "p0", "p3", "p4", "p5", "p6"]
    assert [p.id for p in length_windows(probes, 100)] == ["p1", "p6", "p3", "p4", "p2", "p0", "p5"]
