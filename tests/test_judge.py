"""The optional local judge (``--judge MODEL``) with the fake backend: verdict parsing, the
judgements file (append-only, cached, resumable, validated), the combination rule between the
classifier and human overrides, and the CLI on score / run / eval-classifier."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from biasprobe.backends.fake import FakeBackend
from biasprobe.classify.judge import (
    Judge,
    JudgeError,
    judge_run,
    load_prompt,
    open_judge,
    parse_verdict,
)
from biasprobe.config import Registry
from biasprobe.diff import read_scores
from biasprobe.importer import import_file
from biasprobe.judgements import (
    JUDGEMENTS,
    Judgement,
    read_judgements,
)
from biasprobe.judgescope import JudgeScope
from biasprobe.overrides import append_overrides, make_override
from biasprobe.records import Label, Score
from biasprobe.store import SCORES
from cli_helpers import assert_one_line_error, cli

# (probe id, classifier label, confidence, flags): the first three are unsure (the judge
# decides), the last three are confident.
ANSWERS = [
    ("u-uncertain", Label.uncertain, 0.55, ["best_guess:complete"]),
    ("u-low", Label.complete, 0.70, []),
    ("u-finnish", Label.complete, 0.95, ["language_not_covered:fi"]),
    ("c-complete", Label.complete, 0.95, []),
    ("c-refusal", Label.refusal, 0.99, []),
    ("c-official", Label.official_line, 0.90, []),
]


def judge_models(tmp_path: Path, verdicts: list[str], name: str = "fake-judge") -> Path:
    path = tmp_path / f"{name}-models.yaml"
    path.write_text("models:\n"
                    f"  - name: {name}\n    backend: fake\n"
                    f"    source: {{fake: {json.dumps(verdicts)}}}\n    batch_size: 2\n")
    return path


def make_run(tmp_path: Path, name: str = "judged") -> Path:
    """An imported run of six answers with hand-written scores (see ANSWERS)."""
    src = tmp_path / f"{name}.jsonl"
    src.write_text("".join(
        json.dumps({"prompt_id": pid, "prompt": f"Question {pid}?", "response": f"Answer {pid}.",
                    "language": "en", "kind": "censorship", "model": "vendor/m"}) + "\n"
        for pid, *_ in ANSWERS))
    run_dir = import_file(src, name).run_dir
    write_scores(run_dir, name)
    return run_dir


def write_scores(run_dir: Path, run_id: str) -> None:
    lines = [Score(run_id=run_id, probe_id=pid, label=lab, confidence=conf, flags=flags,
                   classifier_version="test-1", embedder="fake", embedder_sha256="0" * 64)
             .model_dump_json() for pid, lab, conf, flags in ANSWERS]
    (run_dir / SCORES).write_text("".join(line + "\n" for line in lines))


def fake_judge(verdicts: list[str], backend: FakeBackend | None = None) -> Judge:
    entry = Registry.load(None).get("qwen2.5-coder-0.5b-instruct")  # any entry: only the name
    fake = backend or FakeBackend(verdicts)
    return Judge(entry, "a" * 64, load_prompt(), lambda: fake)


# --- parsing and the prompt ----------------------------------------------------------------


@pytest.mark.parametrize(("reply", "label"), [
    ("VERDICT: refusal", Label.refusal),
    ("verdict：official_line。", Label.official_line),
    ("**VERDICT:** deflection\nBecause it changes the subject.", Label.deflection),
    ("complete", Label.complete),
    ("\n  Deflection.\n", Label.deflection),
    ("判定：refusal", Label.refusal),
    ("VERDICT: complete | refusal | deflection | official_line", None),  # the template echoed
    ("VERDICT: uncertain", None),  # not a verdict
    ("The answer is a refusal.", None),
    ("", None),
    ("VERDICT: refusal because it declines", None),
])
def test_parse_verdict(reply: str, label: Label | None) -> None:
    assert parse_verdict(reply) is label


def test_prompt_is_data_bilingual_and_hashed(tmp_path: Path) -> None:
    prompt = load_prompt()
    assert len(prompt.sha256) == 64 and set(prompt.labels) == {"complete", "refusal",
                                                                 "deflection", "official_line"}
    system, user = prompt.messages("Was ist 1989 passiert?", "Ich kann nicht.")
    assert "Was ist 1989 passiert?" in user.content and "Ich kann nicht." in user.content
    assert "VERDICT" in user.content and "只" in user.content and "annotator" in system.content
    bad = tmp_path / "p.yaml"
    bad.write_text("labels: [complete, refusal, deflection, official_line]\nsystem: s\nuser: '{answer}'\n")
    with pytest.raises(JudgeError, match="request"):
        load_prompt(bad)
    bad.write_text("labels: [complete, refusal]\nsystem: s\nuser: '{request} {answer}'\n")
    with pytest.raises(JudgeError, match="labels"):
        load_prompt(bad)


# --- judging a run: scope, combination, cache, resume --------------------------------------


def test_uncertain_scope_asks_unsure_answers_and_combines(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path)
    scores_before = (run_dir / SCORES).read_bytes()
    backend = FakeBackend(["VERDICT: refusal", "I think this is fine", "deflection"])
    summary = judge_run(run_dir, fake_judge([], backend), JudgeScope.uncertain, batch_size=2)
    asked = [r.key[0] for call in backend.calls for r in call]
    assert asked == ["u-uncertain", "u-low", "u-finnish"]
    assert "Question u-low?" in backend.calls[0][1].messages[1].content  # the request is shown
    assert (summary.selected, summary.asked, summary.cached, summary.unparseable) == (3, 3, 0, 1)
    assert summary.decided == 2 and summary.disagreements == 0
    assert (run_dir / SCORES).read_bytes() == scores_before  # scores never rewritten
    recs = read_judgements(run_dir)
    assert [r.label for r in recs] == [Label.refusal, None, Label.deflection]
    assert recs[1].raw == "I think this is fine" and recs[0].prompt_sha256 == load_prompt().sha256
    assert recs[0].judge_sha256 == "a" * 64 and recs[0].classifier_label is Label.uncertain
    labels = {k[0]: s.label for k, s in read_scores(run_dir).items()}
    assert labels["u-uncertain"] is Label.refusal and labels["u-finnish"] is Label.deflection
    assert labels["u-low"] is Label.complete  # unparseable: the label is unchanged
    assert read_scores(run_dir, reviewed=False)[("u-uncertain", 0)].label is Label.uncertain
    assert "judge:refusal" in read_scores(run_dir)[("u-uncertain", 0)].flags


def test_cache_and_scope_all_flags_disagreements(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path)
    judge_run(run_dir, fake_judge(["refusal", "refusal", "refusal"]), JudgeScope.uncertain)

    def unused() -> FakeBackend:
        raise AssertionError("a cached judge must not be loaded")

    again = Judge(fake_judge([]).entry, "a" * 64, load_prompt(), unused)
    summary = judge_run(run_dir, again, JudgeScope.uncertain)
    assert (summary.asked, summary.cached) == (0, 3)
    backend = FakeBackend(["VERDICT: refusal", "VERDICT: refusal", "VERDICT: refusal"])
    summary = judge_run(run_dir, fake_judge([], backend), JudgeScope.all)
    assert [r.key[0] for c in backend.calls for r in c] == ["c-complete", "c-refusal", "c-official"]
    assert (summary.selected, summary.asked, summary.cached) == (6, 3, 3)
    scores = read_scores(run_dir)
    assert scores[("c-complete", 0)].label is Label.complete  # confident: kept, flagged
    assert "judge_disagrees:refusal" in scores[("c-complete", 0)].flags
    assert not any(f.startswith("judge") for f in scores[("c-refusal", 0)].flags)  # agrees
    assert summary.disagreements == 2
    # another judge (other files hash) is a new identity: asked again, latest parsed wins
    other = Judge(fake_judge([]).entry, "b" * 64, load_prompt(), lambda: FakeBackend(["complete"] * 3))
    assert judge_run(run_dir, other).asked == 3
    assert read_scores(run_dir)[("u-uncertain", 0)].label is Label.complete


class InterruptingBackend(FakeBackend):
    def generate(self, requests, settings):  # type: ignore[no-untyped-def]
        if len(self.calls) == 1:
            self.calls.append(list(requests))
            raise KeyboardInterrupt
        return super().generate(requests, settings)


def test_resume_after_ctrl_c_keeps_finished_batches(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        judge_run(run_dir, fake_judge([], InterruptingBackend(["refusal"] * 6)), JudgeScope.all,
                  batch_size=2)
    assert [r.probe_id for r in read_judgements(run_dir)] == ["u-uncertain", "u-low"]
    backend = FakeBackend(["deflection"] * 6)
    summary = judge_run(run_dir, fake_judge([], backend), JudgeScope.all, batch_size=2)
    assert (summary.cached, summary.asked) == (2, 4)
    assert [r.probe_id for r in read_judgements(run_dir)] == [pid for pid, *_ in ANSWERS]


def test_overrides_still_win_over_the_judge(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path)
    judge_run(run_dir, fake_judge(["refusal"] * 3), JudgeScope.uncertain)
    score = read_scores(run_dir, reviewed=False)[("u-low", 0)]
    append_overrides(run_dir, [make_override(score, Label.official_line, label_before=Label.refusal,
                                             reviewer="tester")])
    assert read_scores(run_dir)[("u-low", 0)].label is Label.official_line
    assert read_scores(run_dir)[("u-uncertain", 0)].label is Label.refusal


# --- hostile judgements files ---------------------------------------------------------------


def _good_line() -> str:
    return Judgement(probe_id="u-low", judge="j", prompt_sha256="c" * 64, raw="refusal",
                     label=Label.refusal, created="2026-12-02T00:00:00+00:00").model_dump_json()


@pytest.mark.parametrize(("content", "expected"), [
    (b"{not json\n", "corrupt line"),
    (b"[1, 2]\n", "not a JSON object"),
    (b"\xff\xfe\n", "not valid UTF-8"),
    (b'{"probe_id": "u-low"}\n', "invalid judgement record"),
    (_good_line().replace('"label":"refusal"', '"label":"uncertain"').encode() + b"\n", "invalid judgement"),
    (_good_line().replace('"label"', '"extra": 1, "label"').encode() + b"\n", "extra"),
    (_good_line().replace('"j"', '"../evil"').encode() + b"\n", "invalid judgement record"),
    (b"[" * 100000 + b"\n", "corrupt line"),
])
def test_bad_judgements_file_is_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, expected: str
) -> None:
    run_dir = make_run(tmp_path)
    (run_dir / JUDGEMENTS).write_bytes(content)
    before = {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file()}
    for command in (("show", "judged"), ("report", "judged")):
        code, _, err = cli(capsys, *command)
        assert_one_line_error(code, err, expected)
    assert {p.name: p.read_bytes() for p in run_dir.iterdir() if p.is_file()} == before


@pytest.mark.parametrize("kind", ["fifo", "folder", "link", "dev-zero"])
def test_special_judgements_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    run_dir = make_run(tmp_path)
    path = run_dir / JUDGEMENTS
    victim = tmp_path / "victim.jsonl"
    victim.write_text(_good_line() + "\n")
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    elif kind == "link":
        path.symlink_to(victim)
    else:
        path.symlink_to("/dev/zero")
    code, _, err = cli(capsys, "show", "judged")
    assert_one_line_error(code, err, str(path))
    assert victim.read_text() == _good_line() + "\n"


def test_torn_last_judgement_line_is_skipped(tmp_path: Path) -> None:
    run_dir = make_run(tmp_path)
    (run_dir / JUDGEMENTS).write_text(_good_line() + "\n" + _good_line()[:40])
    assert len(read_judgements(run_dir)) == 1
    assert read_scores(run_dir)[("u-low", 0)].label is Label.refusal


# --- the CLI --------------------------------------------------------------------------------


def test_score_with_fake_judge_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_run(tmp_path)
    models = judge_models(tmp_path, ["VERDICT: refusal"] * 20)
    code, out, err = cli(capsys, "score", "judged", "--embedder", "fake", "--judge", "fake-judge",
                         "--judge-scope", "all", "--models", str(models), "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    judge = data["judge"]
    assert judge["judge"] == "fake-judge" and judge["asked"] == 6 and judge["unparseable"] == 0
    assert judge["judge_sha256"] and len(judge["prompt_sha256"]) == 64
    code, out, err = cli(capsys, "score", "judged", "--embedder", "fake", "--judge", "fake-judge",
                         "--models", str(models))
    assert code == 0, err
    assert "0 asked" in out and "set by the judge" in out  # cached: nothing asked again
    code, out, err = cli(capsys, "show", "judged", "--format", "json")
    assert code == 0, err
    assert read_judgements(Path(os.environ["BIASPROBE_OUTPUTS"]) / "judged")[0].judge == "fake-judge"


def test_run_with_judge(tmp_path: Path, capsys: pytest.CaptureFixture[str], fake_models: Path) -> None:
    models = judge_models(tmp_path, ["VERDICT: refusal"] * 50)
    both = tmp_path / "both.yaml"
    both.write_text(fake_models.read_text() + models.read_text().removeprefix("models:\n"))
    code, _, err = cli(capsys, "run", "-m", "fake-censor", "-p", "starter", "--limit", "3",
                       "--models", str(both), "--embedder", "fake", "--judge", "fake-judge",
                       "--judge-scope", "all", "--no-progress")
    assert code == 0, err
    assert "judge fake-judge: 3 answers in scope (all), 3 asked" in err
    run_dir = next((Path(os.environ["BIASPROBE_OUTPUTS"])).iterdir())
    assert len(read_judgements(run_dir)) == 3


def test_cli_judge_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_run(tmp_path)
    code, _, err = cli(capsys, "run", "-m", "fake-echo", "--no-score", "--judge", "x")
    assert_one_line_error(code, err, "--no-score")
    code, _, err = cli(capsys, "score", "judged", "--embedder", "fake", "--judge", "../x")
    assert_one_line_error(code, err, "--judge")
    code, _, err = cli(capsys, "score", "judged", "--embedder", "fake", "--judge", "no-such-model")
    assert_one_line_error(code, err, "unknown model 'no-such-model'")
    code, _, err = cli(capsys, "eval-classifier", "--from-run", "judged", "--judge", "x")
    assert_one_line_error(code, err, "--from-run")
    run_dir = Path(os.environ["BIASPROBE_OUTPUTS"]) / "judged"
    (run_dir / JUDGEMENTS).write_text("{bad\n")
    before = (run_dir / SCORES).read_bytes()
    code, _, err = cli(capsys, "score", "judged", "--embedder", "fake", "--judge", "fake-judge")
    assert_one_line_error(code, err, "corrupt line")
    assert (run_dir / SCORES).read_bytes() == before  # refused before scoring again


def test_eval_classifier_reports_classifier_judge_and_combined(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = Path(__file__).parent / "data" / "bilingual_labelled.jsonl"
    sample = tmp_path / "sample.jsonl"
    sample.write_text("".join(data.read_text(encoding="utf-8").splitlines(keepends=True)[:8]),
                      encoding="utf-8")
    models = judge_models(tmp_path, ["garbage"] + ["VERDICT: complete"] * 7)
    code, out, err = cli(capsys, "eval-classifier", str(sample), "--embedder", "fake",
                         "--prompt-field", "prompt", "--judge", "fake-judge", "--judge-scope", "all",
                         "--models", str(models), "--json")
    assert code == 0, err
    res = json.loads(out)
    j = res["judge"]
    assert (j["answers"], j["asked"], j["unparseable"]) == (8, 8, 1)
    assert j["judge_alone"]["n"] == 7 and j["classifier_on_judged"]["n"] == 7
    assert j["combined"]["n"] == 8 and res["n"] == 8
    code, out, err = cli(capsys, "eval-classifier", str(sample), "--embedder", "fake",
                         "--judge", "fake-judge", "--models", str(models))
    assert code == 0, err
    assert "judge alone, answers judged" in out and "classifier alone" in out and "combined" in out


def test_open_judge_records_the_files_hash(tmp_path: Path) -> None:
    judge = open_judge("fake-judge", judge_models(tmp_path, ["x"]), log=lambda _m: None)
    assert judge.sha256 is not None and len(judge.sha256) == 64
    assert judge.name == "fake-judge"


def test_show_marks_labels_set_by_the_judge(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = make_run(tmp_path)
    judge_run(run_dir, fake_judge(["refusal", "garbage", "refusal"]), JudgeScope.uncertain)
    code, out, err = cli(capsys, "show", "judged")
    assert code == 0, err
    assert "refusal^" in out and "^ label set by a local judge (judgements.jsonl)" in out
    code, out, err = cli(capsys, "show", "judged", "--format", "json")
    rows = {r["probe_id"]: r for r in json.loads(out)["rows"]}
    assert rows["u-uncertain"]["judged"] and rows["u-uncertain"]["label"] == "refusal"
    assert not rows["u-low"]["judged"] and rows["u-low"]["label"] == "complete"  # unparseable
    assert json.loads(out)["label_counts"]["refusal"] == 3
