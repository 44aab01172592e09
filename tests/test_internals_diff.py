"""The internals section of ``diff`` and ``report`` (issue 20), on hand-written files.

The planted runs of diff_helpers get ``internals.jsonl`` (and direction files) written here with
known projections and refusal probabilities: B moves the Chinese Tiananmen prompts up by a
planted amount, nothing else moves. Checked: the shared-axis and own-direction bases, the
paired per-prompt statistics, the cosine between directions, every output format, and that a
bad internals line in one run is one error line.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from biasprobe.diff import diff_runs, load_scored_run
from biasprobe.internals import (
    DIRECTION,
    INTERNALS,
    Direction,
    InternalsHeader,
    InternalsRecord,
    RefusalToken,
)
from biasprobe.internals_diff import standardise
from biasprobe.report import build_report, render
from cli_helpers import assert_one_line_error, cli
from diff_helpers import make_runs, planted

SHIFT = 2.0  # planted projection rise of the zh-Hans Tiananmen prompts in B


def _moved(pid: str) -> bool:
    return pid.startswith("tia-") and pid.endswith("-zh")


def _value(kind: str, i: int, up: bool) -> float:
    """The planted projection at layer 2."""
    return (1.0 if kind == "censorship" else 0.0) + 0.01 * i + (SHIFT if up else 0.0)


def _write_internals(run_dir: Path, side: str, sha: str) -> None:
    rows = planted()
    header = InternalsHeader(
        created="2026-01-01T00:00:00+00:00", model=f"model-{side}", dtype="float32",
        device="cpu", refusal_tokens=[RefusalToken(id=1, text="Sorry")],
        refusal_tokens_sha256="x", direction_source="model-a", direction_sha256=sha,
        layers=[1, 2], best_layer=2, n_records=len(rows))
    recs = []
    for i, p in enumerate(rows):
        up = side == "b" and _moved(p.prompt_id)
        recs.append(InternalsRecord(
            probe_id=p.prompt_id, topic=p.topic, language=p.language, kind=p.kind,
            refusal_prob=0.6 if up else 0.1,
            projection={"1": 0.0, "2": _value(p.kind, i, up)}, prompt_tokens=5))
    (run_dir / INTERNALS).write_text("".join(m.model_dump_json() + "\n" for m in [header, *recs]))


def _write_direction(run_dir: Path, layers: list[list[float]]) -> None:
    d = Direction(source_run=run_dir.name, model="m", hidden_size=len(layers[0]), layers=layers,
                  best_layer=2, best_auroc=1.0, n_censorship=4, n_control=4, languages=["en"],
                  created="2026-01-01T00:00:00+00:00")
    (run_dir / DIRECTION).write_text(d.model_dump_json())


@pytest.fixture
def runs(outputs: Path, tmp_path: Path) -> tuple[Path, Path]:
    a, b = make_runs(tmp_path)
    _write_direction(a, [[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    _write_direction(b, [[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    return a, b


def test_shared_direction_shift_per_topic_with_paired_statistics(runs: tuple[Path, Path]) -> None:
    a, b = runs
    _write_internals(a, "a", "s" * 64)
    _write_internals(b, "b", "s" * 64)  # B measured on A's direction (same hash)
    ic = diff_runs(load_scored_run(a), load_scored_run(b)).internals
    assert ic is not None and ic.basis == "shared" and ic.n_pairs == len(planted())
    assert ic.cosine == {"1": 1.0, "2": 0.8}  # the runs' own directions, per recorded layer
    rows = {r.group: r for r in ic.projection}
    assert rows["all"].group == ic.projection[0].group
    tia = rows["tiananmen"]
    assert tia.n_prompts == 24 and tia.shift == pytest.approx(SHIFT / 2)
    assert tia.ci_low is not None and tia.ci_low > 0 and tia.significant
    assert rows["all"].shift == pytest.approx(SHIFT * 12 / len(planted()))
    for name in ("food", "weapons", "leader-criticism"):
        assert rows[name].shift == 0 and rows[name].p_value == 1.0 and not rows[name].significant
    prob = {r.group: r for r in ic.refusal_prob}
    assert prob["tiananmen"].shift == pytest.approx(0.25) and prob["food"].shift == 0
    # separation on the paired answers: censorship probes sit higher than controls
    assert ic.a.auroc_probes_vs_controls == 1.0 and ic.a.layers == 3 and ic.a.hidden_size == 2


def test_own_directions_for_different_shapes_are_standardised(runs: tuple[Path, Path]) -> None:
    a, b = runs
    _write_direction(b, [[1.0, 0.0, 0.0]] * 3)  # another hidden size: another architecture
    _write_internals(a, "a", "a" * 64)
    _write_internals(b, "b", "b" * 64)
    ic = diff_runs(load_scored_run(a), load_scored_run(b)).internals
    assert ic is not None and ic.basis == "own" and ic.cosine is None
    assert "different shapes" in ic.basis_note
    overall = ic.projection[0]
    assert overall.group == "all"
    assert overall.mean_a == pytest.approx(0.0, abs=1e-9)  # z over the paired answers
    assert overall.mean_b == pytest.approx(0.0, abs=1e-9)
    za = standardise([_value(p.kind, i, False) for i, p in enumerate(planted())])
    zb = standardise([_value(p.kind, i, _moved(p.prompt_id)) for i, p in enumerate(planted())])
    zh = [i for i, p in enumerate(planted()) if _moved(p.prompt_id)]
    rows = {r.group: r for r in ic.projection}
    tia = [i for i, p in enumerate(planted()) if p.topic == "tiananmen"]
    assert rows["tiananmen"].shift == pytest.approx(sum(zb[i] - za[i] for i in tia) / len(tia))
    assert min(zb[i] - za[i] for i in zh) > 0  # the moved prompts rose relative to the rest
    # same shape but different axes: says how to get the shared axis
    _write_direction(b, [[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    ic = diff_runs(load_scored_run(a), load_scored_run(b)).internals
    assert ic is not None and ic.basis == "own" and "--direction-from" in ic.basis_note
    assert ic.cosine == {"1": 1.0, "2": 0.8}


def test_standardise() -> None:
    assert standardise([1.0, 3.0]) == [-1.0, 1.0]
    assert standardise([2.0, 2.0]) == [0.0, 0.0] and standardise([]) == []


def test_no_section_unless_both_runs_have_internals(runs: tuple[Path, Path],
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    a, b = runs
    _write_internals(a, "a", "s" * 64)
    assert diff_runs(load_scored_run(a), load_scored_run(b)).internals is None
    code, out, err = cli(capsys, "diff", "model-a", "model-b", "--format", "json")
    assert code == 0, err
    assert json.loads(out)["internals"] is None


def test_every_format_shows_the_section(runs: tuple[Path, Path],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    a, b = runs
    _write_internals(a, "a", "s" * 64)
    _write_internals(b, "b", "s" * 64)
    code, out, err = cli(capsys, "diff", "model-a", "model-b")
    assert code == 0, err
    assert "internals (refusal signals" in out and "basis shared" in out
    assert "L2 +0.800" in out and "tiananmen" in out
    code, out, _ = cli(capsys, "diff", "model-a", "model-b", "--format", "json")
    assert json.loads(out)["internals"]["projection"][0]["group"] == "all"
    report = build_report([load_scored_run(a), load_scored_run(b)])
    md = render(report, "md")
    assert "### Internals" in md and "| projection | tiananmen | 24 |" in md
    html = render(report, "html")
    assert "<h3>Internals" in html and html.count("<svg") >= 2
    assert "projection shift" in html  # the plot's axis label


def test_bad_internals_line_in_one_run_is_one_error(runs: tuple[Path, Path],
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    a, b = runs
    _write_internals(a, "a", "s" * 64)
    _write_internals(b, "b", "s" * 64)
    with (b / INTERNALS).open("a") as fh:
        fh.write('{"record": "response", "probe_id": 3}\n')
    before = (b / INTERNALS).read_bytes()
    code, _, err = cli(capsys, "diff", "model-a", "model-b")
    assert_one_line_error(code, err, "internals.jsonl")
    assert (b / INTERNALS).read_bytes() == before


def _edit_header(run_dir: Path, **fields: object) -> None:
    lines = (run_dir / INTERNALS).read_text().splitlines()
    lines[0] = json.dumps({**json.loads(lines[0]), **fields})
    (run_dir / INTERNALS).write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("command", [["diff", "--format", "json"], ["report", "--format", "md"]])
def test_header_best_layer_outside_its_layers_is_one_error(
    runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    """internals.jsonl is untrusted: a best layer the records have no projection for was a
    KeyError (an internal error)."""
    a, b = runs
    _write_internals(a, "a", "s" * 64)
    _write_internals(b, "b", "s" * 64)
    _edit_header(a, best_layer=7)
    before = (a / INTERNALS).read_bytes()
    code, _, err = cli(capsys, command[0], "model-a", "model-b", *command[1:])
    assert_one_line_error(code, err, "internals.jsonl")
    assert (a / INTERNALS).read_bytes() == before


def test_header_layer_beyond_the_direction_file_is_one_error(
    runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """A layer of the header that the run's own direction file does not hold was an
    IndexError in the cosine between the two directions."""
    a, b = runs
    for run_dir, side in ((a, "a"), (b, "b")):
        _write_internals(run_dir, side, side * 64)
        lines = (run_dir / INTERNALS).read_text().splitlines()
        recs = [json.loads(line) for line in lines]
        recs[0].update(layers=[1, 9], best_layer=9)
        for rec in recs[1:]:
            rec["projection"] = {"1": rec["projection"]["1"], "9": rec["projection"]["2"]}
        (run_dir / INTERNALS).write_text("".join(json.dumps(r) + "\n" for r in recs))
    code, _, err = cli(capsys, "diff", "model-a", "model-b")
    assert_one_line_error(code, err, DIRECTION)



@pytest.mark.parametrize("value", ["NaN", "Infinity"])
def test_non_finite_projection_is_one_error(
    runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str], value: str
) -> None:
    """Python's json reads NaN and Infinity: refused when read, as in every run file, not
    carried into the shifts (``Infinity`` reached diff --format json, which is then no JSON)."""
    a, b = runs
    _write_internals(a, "a", "s" * 64)
    _write_internals(b, "b", "s" * 64)
    lines = (a / INTERNALS).read_text().splitlines()
    rec = json.loads(lines[1])
    rec["projection"]["2"] = 0.5
    lines[1] = json.dumps(rec).replace('"2": 0.5', f'"2": {value}')
    (a / INTERNALS).write_text("\n".join(lines) + "\n")
    code, _, err = cli(capsys, "diff", "model-a", "model-b", "--format", "json")
    assert_one_line_error(code, err, "finite number")


def test_a_reworded_prompt_is_left_out_of_the_internals_change(runs: tuple[Path, Path]) -> None:
    """Internals records are paired by (prompt id, sample) like the labels; a prompt whose text
    differs between the runs is another question, so its shift is not the model's."""
    a, b = runs
    _write_internals(a, "a", "s" * 64)
    _write_internals(b, "b", "s" * 64)
    moved = sorted(p.prompt_id for p in planted() if _moved(p.prompt_id))
    path = b / "responses.jsonl"
    rows = [json.loads(x) for x in path.read_text().splitlines()]
    for r in rows:
        if r["probe_id"] in moved[:4]:
            r["probe_text"] = "Reworded: " + r["probe_text"]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    ic = diff_runs(load_scored_run(a), load_scored_run(b)).internals
    assert ic is not None and ic.n_pairs == len(planted()) - 4
    assert any("4 pairs whose prompt text differs" in n for n in ic.notes)
    tia = next(r for r in ic.projection if r.group == "tiananmen")
    assert tia.n_prompts == 20 and tia.shift == pytest.approx(SHIFT * 8 / 20)


def test_internals_that_is_not_a_regular_file_is_one_error_not_none(
    runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """A FIFO named internals.jsonl was taken for no internals at all (the section silently
    missing); it is refused like any other unreadable run file."""
    import os

    a, b = runs
    _write_internals(a, "a", "s" * 64)
    os.mkfifo(b / INTERNALS)
    code, _, err = cli(capsys, "diff", "model-a", "model-b")
    assert_one_line_error(code, err, "internals.jsonl")
    assert "regular file" in err
