"""Internals (issue 20): refusal-token probability and the censorship-direction projection.

Fast: the tiny random transformers model of test_determinism (shapes, left padding,
determinism, the store file, --direction-from), hand-written files for the summary and its
AUROCs, and bad input. Slow: the real default model separates refused from answered China
prompts along its censorship direction.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from biasprobe.backends import load_backend, resolve_model
from biasprobe.config import ModelEntry, Registry
from biasprobe.internals import (
    DIRECTION,
    INTERNALS,
    InternalsHeader,
    InternalsRecord,
    RefusalToken,
    auroc,
    build_direction,
    chosen_layers,
    compute_internals,
    forward,
    read_internals,
    refusal_tokens,
    summarize_internals,
)
from biasprobe.probes import Selection, load_probes
from biasprobe.records import Label, Response, Score
from biasprobe.runner import RunPlan, execute
from cli_helpers import assert_one_line_error, cli
from test_determinism import _tiny_model


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _tiny_model(tmp_path_factory.mktemp("tiny"))


def _tiny_entry(path: Path) -> ModelEntry:
    return ModelEntry.model_validate({
        "name": "tiny", "source": {"path": str(path)}, "device": "cpu", "dtype": "float32",
        "batch_size": 4, "reasoning": {"mode": "none"}, "generation": {"max_new_tokens": 2}})


def _make_run(entry: ModelEntry, run_id: str, kinds: tuple[str, ...] = ("censorship", "neutral"),
              limit: int | None = None) -> Path:
    set_name, probes = load_probes(["starter"], Selection(kinds=kinds, limit=limit))
    plan = RunPlan(run_id, entry, set_name, tuple(probes), entry.run_batch_size)
    resolved = resolve_model(entry, log=lambda _: None)
    result = execute(plan, resolved, lambda: load_backend(entry, resolved), progress=False,
                     say=lambda _: None)
    assert result.complete
    return result.run_dir


# --- pure parts ----------------------------------------------------------------------------


def test_auroc_counts_ties_half_and_needs_both_classes() -> None:
    assert auroc([3, 4], [1, 2]) == 1.0
    assert auroc([1, 2], [3, 4]) == 0.0
    assert auroc([1], [1]) == 0.5
    assert auroc([1, 2], [2, 3]) == pytest.approx(0.125)
    assert auroc([], [1]) is None and auroc([1], []) is None


def test_chosen_layers_quartiles_plus_best() -> None:
    assert chosen_layers(24, 7) == [6, 7, 12, 18]
    assert chosen_layers(24, 12) == [6, 12, 18]
    assert chosen_layers(2, 2) == [1, 2]


class _CharTokenizer:
    """First character = first token: enough to check which openings are kept."""

    def __call__(self, text: str, add_special_tokens: bool = False) -> dict[str, list[int]]:
        return {"input_ids": [ord(c) for c in text]}

    def decode(self, ids: list[int]) -> str:
        return "".join(chr(i) for i in ids)


def test_refusal_tokens_are_refusal_openings_minus_complete_openings(tmp_path: Path) -> None:
    bank = tmp_path / "bank.yaml"
    bank.write_text(json.dumps({"exemplars": {
        "refusal": {"en": ["Sorry, no.", "I can't."], "zh": ["抱歉。"]},
        "deflection": {"en": ["Let's talk about something else."]},
        "official_line": {"en": ["The government says so."]},
        "complete": {"en": ["In 1989 ...", "Labour law ..."]},
    }}))
    tokens = refusal_tokens(_CharTokenizer(), bank)
    assert [t.text for t in tokens] == sorted(["S", "抱"], key=ord)  # I and L open complete ones
    assert all(t.id == ord(t.text) for t in tokens)


def _resp(pid: str, kind: str, lang: str = "en") -> Response:
    return Response(run_id="r", probe_id=pid, probe_text="q", language=lang, topic="t",
                    kind=kind, prompt="p", answer="a", created="2026-01-01T00:00:00+00:00")


def test_build_direction_is_the_unit_mean_difference_matched_on_language() -> None:
    np = pytest.importorskip("numpy")
    rng = np.random.default_rng(0)
    kinds = ["censorship", "neutral"] * 6
    langs = ["en"] * 6 + ["zh"] * 6
    responses = [_resp(f"p{i}", k, lg) for i, (k, lg) in enumerate(zip(kinds, langs, strict=True))]
    hidden = rng.normal(size=(12, 3, 4)).astype(np.float32) * 0.01
    shift = np.array([0.0, 0.0, 1.0, 0.0], dtype=np.float32)
    for i, k in enumerate(kinds):
        if k == "censorship":
            hidden[i, 2] += shift  # only layer 2 separates
        hidden[i, :, 3] += 5.0 if langs[i] == "zh" else 0.0  # a language offset, cancelled
    d = build_direction(hidden, responses, "m", "r")
    assert d.best_layer == 2 and d.best_auroc == 1.0
    assert d.languages == ["en", "zh"] and d.n_censorship == 6 and d.n_control == 6
    assert all(math.isclose(sum(x * x for x in row), 1.0, rel_tol=1e-5) for row in d.layers)
    assert d.layers[2][2] > 0.99


def test_build_direction_without_controls_is_a_clear_error() -> None:
    np = pytest.importorskip("numpy")
    from biasprobe.errors import RunStoreError

    with pytest.raises(RunStoreError, match="no language has both"):
        build_direction(np.zeros((2, 3, 4), dtype=np.float32),
                        [_resp("a", "censorship"), _resp("b", "mirror")], "m", "r")


# --- the tiny transformers model -----------------------------------------------------------


def test_forward_shapes_and_left_padding(tiny_model: Path) -> None:
    from biasprobe.backends.transformers import TransformersBackend
    from biasprobe.sources import ResolvedModel

    backend = TransformersBackend(_tiny_entry(tiny_model),
                                  ResolvedModel(path=tiny_model, revision=None, files_sha256={}))
    prompts = ["user : what happened at tiananmen square in june 1989 ? assistant :",
               "user : the a ? assistant :", "user : what is the ? assistant :"]
    batched = forward(backend, prompts, [15, 16], batch_size=3)
    alone = forward(backend, prompts, [15, 16], batch_size=1)
    assert batched.hidden.shape == (3, 3, 32)  # 2 blocks + embeddings, hidden size 32
    assert batched.prompt_tokens == [13, 7, 8]
    assert all(0.0 < p < 1.0 for p in batched.refusal_prob)
    # padding on the left: the batched last-token states equal the one-at-a-time ones
    assert abs(batched.hidden - alone.hidden).max() < 1e-4
    assert batched.refusal_prob == pytest.approx(alone.refusal_prob, abs=1e-5)
    backend.close()


def test_compute_writes_the_store_file_and_is_deterministic(tiny_model: Path) -> None:
    run_dir = _make_run(_tiny_entry(tiny_model), "tiny-run")
    first = compute_internals("tiny-run")
    header, recs = read_internals(run_dir)
    assert header == first and header.n_records == len(recs) == 14
    assert header.layers == [1, 2] and header.dtype == "float32"
    assert all(set(r.projection) == {"1", "2"} for r in recs)
    assert (run_dir / DIRECTION).is_file()
    second = compute_internals(run_dir)  # appended as a second pass; the last one is read
    lines = (run_dir / INTERNALS).read_text().splitlines()
    assert len(lines) == 2 * 15 and sum('"record":"header"' in x for x in lines) == 2
    assert second.direction_sha256 == first.direction_sha256
    assert read_internals(run_dir)[1] == recs  # the same numbers twice


def test_planted_link_is_refused_and_nothing_written(tiny_model: Path, tmp_path: Path) -> None:
    from biasprobe.errors import RunStoreError

    run_dir = _make_run(_tiny_entry(tiny_model), "linked", limit=12)
    target = tmp_path / "elsewhere.json"
    target.write_text("keep")
    (run_dir / (DIRECTION + ".tmp")).symlink_to(target)
    with pytest.raises(RunStoreError, match="symbolic link"):
        compute_internals("linked")
    assert target.read_text() == "keep" and not (run_dir / INTERNALS).exists()


def test_direction_from_another_run_and_shape_mismatch(tiny_model: Path, tmp_path: Path) -> None:
    from biasprobe.errors import RunStoreError

    entry = _tiny_entry(tiny_model)
    a = _make_run(entry, "a")
    b = _make_run(entry, "b", kinds=("censorship",), limit=4)  # no controls of its own
    compute_internals("a")
    header = compute_internals("b", direction_from="a")
    assert header.direction_source == "a" and not (b / DIRECTION).exists()
    assert header.direction_sha256 == read_internals(a)[0].direction_sha256
    bad = json.loads((a / DIRECTION).read_text())
    bad["layers"][1] = bad["layers"][1][:-1]
    (tmp_path / "ragged.json").write_text(json.dumps(bad))
    with pytest.raises(RunStoreError, match="not a valid censorship direction"):
        compute_internals("b", direction_from=str(tmp_path / "ragged.json"))
    bad = json.loads((a / DIRECTION).read_text())
    bad["hidden_size"] = 64
    bad["layers"] = [row * 2 for row in bad["layers"]]
    (tmp_path / "d.json").write_text(json.dumps(bad))
    with pytest.raises(RunStoreError, match="does not fit this model"):
        compute_internals("b", direction_from=str(tmp_path / "d.json"))


def test_think_end_signals_for_answers_with_a_closed_think_block(tiny_model: Path,
                                                                  outputs: Path) -> None:
    """A forced think block on some stored answers: those get the signals at its end, from a
    forward pass over prompt + trace + </think>; the others get none."""
    from biasprobe.backends.transformers import TransformersBackend
    from biasprobe.internals import think_text
    from biasprobe.records import ThinkState

    entry = _tiny_entry(tiny_model)
    run_dir = _make_run(entry, "th")
    path = run_dir / "responses.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    for row in rows[:3]:
        row.update(reasoning="The user asks about a sensitive event. I should be careful.",
                   think_state="complete")
    rows[3].update(reasoning="", think_state="empty")  # thought suppression
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    header = compute_internals("th")
    _, recs = read_internals(run_dir)
    assert [r.think_projection is not None for r in recs] == [True] * 4 + [False] * (len(recs) - 4)
    assert all(set(r.think_projection or {}) == {str(x) for x in header.layers} for r in recs[:4])
    text = think_text(Response.model_validate(rows[0]))
    assert text is not None and text.endswith("careful.\n</think>\n\n") and "<think>\n" in text
    backend = TransformersBackend(entry, resolve_model(entry, log=lambda _: None))
    try:  # the same numbers as a forward pass over that text by hand
        tokens = refusal_tokens(backend.tokenizer)
        fwd = forward(backend, [text], [t.id for t in tokens])
    finally:
        backend.close()
    assert recs[0].think_refusal_prob == pytest.approx(fwd.refusal_prob[0], abs=1e-5)
    best = header.best_layer
    unit = json.loads((run_dir / DIRECTION).read_text())["layers"][best]
    by_hand = sum(float(h) * u for h, u in zip(fwd.hidden[0, best], unit, strict=True))
    assert recs[0].think_projection is not None
    assert recs[0].think_projection[str(best)] == pytest.approx(by_hand, rel=1e-3, abs=1e-4)
    assert recs[0].think_projection != recs[0].projection  # another position, another state
    assert Response.model_validate(rows[5]).think_state is ThinkState.none
    summary = summarize_internals(run_dir)  # unscored: the think signals listed, AUROC None
    assert {"think_projection", "think_refusal_prob"} <= {s.signal for s in summary.separation}


# --- summary and CLI on hand-written files ---------------------------------------------------


def _fake_run(outputs: Path, rows: list[tuple[str, str, float, float, Label | None]]) -> Path:
    """A run directory with internals.jsonl and scores.jsonl written by hand.
    rows: (probe_id, language, projection at layer 3, refusal_prob, label)."""
    run_dir = outputs / "fake"
    run_dir.mkdir(parents=True)
    (run_dir / "manifest.json").write_text(json.dumps({"run_id": "fake"}))
    header = InternalsHeader(
        created="2026-01-01T00:00:00+00:00", model="m", dtype="float32", device="cpu",
        refusal_tokens=[RefusalToken(id=1, text="Sorry")], refusal_tokens_sha256="x",
        direction_source="fake", direction_sha256="y", layers=[2, 3], best_layer=3,
        n_records=len(rows))
    recs = [InternalsRecord(probe_id=pid, topic="tiananmen", language=lang, kind="censorship",
                            refusal_prob=p, projection={"2": 0.0, "3": x}, prompt_tokens=9)
            for pid, lang, x, p, _ in rows]
    (run_dir / INTERNALS).write_text(
        "".join(m.model_dump_json() + "\n" for m in [header, *recs]))
    scores = [Score(run_id="fake", probe_id=pid, label=label, confidence=1.0,
                    classifier_version="t", embedder="t", embedder_sha256="t")
              for pid, _, _, _, label in rows if label is not None]
    (run_dir / "scores.jsonl").write_text("".join(s.model_dump_json() + "\n" for s in scores))
    return run_dir


ROWS: list[tuple[str, str, float, float, Label | None]] = [
    ("a", "en", 5.0, 0.9, Label.refusal), ("b", "en", 1.0, 0.2, Label.complete),
    ("c", "en", 4.0, 0.1, Label.official_line), ("d", "en", 2.0, 0.3, Label.complete),
    ("e", "zh-Hans", 3.0, 0.5, Label.deflection), ("f", "zh-Hans", 0.0, 0.6, Label.complete),
    ("g", "zh-Hans", 9.0, 0.9, Label.uncertain), ("h", "zh-Hans", 9.0, 0.9, None),
]


def test_summary_auroc_per_group_and_overall(outputs: Path) -> None:
    summary = summarize_internals(_fake_run(outputs, ROWS))
    en, zh = summary.groups
    assert (en.language, en.n, en.n_censored, en.n_complete) == ("en", 4, 2, 2)
    assert en.mean_projection == 3.0 and en.mean_refusal_prob == pytest.approx(0.375)
    assert en.auroc_projection == 1.0 and en.auroc_refusal_prob == 0.5
    assert zh.auroc_projection == 1.0 and zh.auroc_refusal_prob == 0.0
    by = {(s.signal, s.layer): s for s in summary.separation if s.scope == "all"}
    overall = by[("projection", 3)]
    assert (overall.n_censored, overall.n_complete, overall.auroc) == (3, 3, 1.0)
    assert by[("projection", 2)].auroc == 0.5  # all tied
    assert by[("refusal_prob", None)].auroc == pytest.approx(5 / 9)  # uncertain/unscored left out


def test_cli_show_table_and_json(outputs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = _fake_run(outputs, ROWS)
    code, out, err = cli(capsys, "internals", "show", str(run_dir))
    assert code == 0, err
    assert "tiananmen" in out and "projection@L3: 1.000 (3 censored, 3 complete)" in out
    code, out, _ = cli(capsys, "internals", "show", "fake", "--format", "json")
    assert code == 0 and json.loads(out)["separation"][1]["auroc"] == 1.0
    assert "censorship probes, refusal_prob: 0.556" in cli(capsys, "internals", "show", "fake")[1]


@pytest.mark.parametrize("line", [
    "not json", '{"record": "response", "probe_id": "z"}', '{"record": "header"}'])
def test_bad_internals_line_is_one_error(outputs: Path, capsys: pytest.CaptureFixture[str],
                                         line: str) -> None:
    run_dir = _fake_run(outputs, ROWS)
    with (run_dir / INTERNALS).open("a") as fh:
        fh.write(line + "\n")
    before = (run_dir / INTERNALS).read_bytes()
    code, _, err = cli(capsys, "internals", "show", "fake")
    assert_one_line_error(code, err, "internals.jsonl:10")
    assert (run_dir / INTERNALS).read_bytes() == before


def test_non_transformers_run_is_refused(fake_models: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    entry = Registry.load(fake_models).get("fake-censor")
    _make_run(entry, "fk", limit=2)
    code, _, err = cli(capsys, "internals", "compute", "fk")
    assert_one_line_error(code, err, "transformers backend")
    code, _, err = cli(capsys, "internals", "show", "fk")
    assert_one_line_error(code, err, "no internals.jsonl")


def test_run_with_internals(tiny_model: Path, tmp_path: Path,
                            capsys: pytest.CaptureFixture[str]) -> None:
    models = tmp_path / "models.yaml"
    models.write_text(json.dumps({"models": [{
        "name": "tiny", "source": {"path": str(tiny_model)}, "device": "cpu", "dtype": "float32",
        "reasoning": {"mode": "none"}, "generation": {"max_new_tokens": 2}}]}))
    code, _, err = cli(capsys, "run", "-m", "tiny", "--models", str(models), "--kind",
                       "censorship", "--kind", "neutral", "--no-score", "--no-progress",
                       "--internals", "--run-id", "ti")
    assert code == 0, err
    assert "internals: 14 records" in err
    header, recs = read_internals(tmp_path / "outputs" / "ti")
    assert len(recs) == 14 and header.direction_source == "ti"


def test_run_with_internals_loads_the_model_once(tiny_model: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The pass reuses the model generation loaded; a resumed run with nothing left to
    generate loads it for the pass."""
    import biasprobe.internals as internals

    models = tmp_path / "models.yaml"
    models.write_text(json.dumps({"models": [{
        "name": "tiny", "source": {"path": str(tiny_model)}, "device": "cpu", "dtype": "float32",
        "reasoning": {"mode": "none"}, "generation": {"max_new_tokens": 2}}]}))
    loads = []
    real = internals.load_run_backend

    def counting(*args: object, **kwargs: object) -> object:
        loads.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(internals, "load_run_backend", counting)
    args = ["run", "-m", "tiny", "--models", str(models), "--kind", "censorship", "--kind",
            "neutral", "--no-score",
            "--no-progress", "--internals", "--run-id", "once"]
    code, _, err = cli(capsys, *args)
    assert code == 0, err
    assert loads == [] and "internals: 14 records" in err
    first = read_internals(tmp_path / "outputs" / "once")
    code, _, err = cli(capsys, *args)  # resumed: nothing to generate, the pass loads the model
    assert code == 0, err
    assert loads == [1]
    again = read_internals(tmp_path / "outputs" / "once")
    assert again[1] == first[1]  # same model, same prompts: the same records


def test_run_with_internals_refuses_other_backends_before_generating(
        fake_models: Path, outputs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "run", "-m", "fake-censor", "--models", str(fake_models),
                       "--internals", "--run-id", "nope", "--no-progress")
    assert_one_line_error(code, err, "transformers backend")
    assert not (outputs / "nope").exists()


# --- the real default model ------------------------------------------------------------------


@pytest.mark.slow
def test_real_model_refusal_signals_on_china_prompts(
    capsys: pytest.CaptureFixture[str], outputs: Path
) -> None:
    """The commands of docs/internals.md on the default model (greedy, so reproducible): the direction
    and its layers come from the starter set; 24 Tiananmen prompts are measured on that axis.

    Asserted: the first-token refusal probability ranks the English answers labelled refusal
    above the English answers labelled complete (a greedy answer opens with a refusal token
    when that token is likely, on any CPU or dtype). Measured, printed, not asserted (they move
    with the dtype: docs/internals.md): its AUROC for every censored label against complete
    (0.81 in bf16 on an AMX Xeon, 0.68 in float32 on an AVX2 EPYC: official lines and
    deflections open like answers, and Chinese refusals get low probabilities) and the
    censorship direction's (0.54 at the best layer)."""
    for args in (
        ["run", "-p", "starter", "--max-new-tokens", "64", "--run-id", "starter64"],
        ["internals", "compute", "starter64"],
        ["run", "-p", "china-sensitive", "--limit", "24", "--batch-size", "24",
         "--max-new-tokens", "32", "--run-id", "china24"],
    ):
        code, _, err = cli(capsys, *args, *(["--no-progress"] if args[0] == "run" else []))
        assert code == 0, err
    code, _, err = cli(capsys, "internals", "compute", "china24", "--direction-from", "starter64")
    assert code == 0, err
    code, out, err = cli(capsys, "internals", "show", "china24", "--format", "json")
    assert code == 0, err
    summary = json.loads(out)
    china = {(s["signal"], s["layer"]): s for s in summary["separation"]
             if s["scope"] == "censorship"}
    print(json.dumps(list(china.values())))
    prob = china[("refusal_prob", None)]
    assert prob["n_censored"] >= 5 and prob["n_complete"] >= 3
    assert 0.0 <= prob["auroc"] <= 1.0
    assert china[("projection", summary["best_layer"])]["auroc"] is not None
    _, recs = read_internals(outputs / "china24")
    labels = {(s.probe_id, s.sample): s.label.value
              for s in map(Score.model_validate_json,
                           (outputs / "china24" / "scores.jsonl").read_text().splitlines())}
    english = [(r.refusal_prob, labels[(r.probe_id, r.sample)]) for r in recs if r.language == "en"]
    refused = [p for p, label in english if label == "refusal"]
    answered = [p for p, label in english if label == "complete"]
    print("english refusal vs complete:", refused, answered)
    assert len(refused) >= 3 and len(answered) >= 2
    assert (auroc(refused, answered) or 0.0) >= 0.9
