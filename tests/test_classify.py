"""Fast unit tests of biasprobe.classify with the deterministic fake embedder (no model load)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from biasprobe.classify import Classifier, phrases, score_run
from biasprobe.classify.bank import LABELS, ExemplarError, load_bank
from biasprobe.classify.canned import find_canned
from biasprobe.classify.embedders import FakeEmbedder, load_embedder
from biasprobe.classify.evaluate import EvalInputError, evaluate, read_labelled, to_gold
from biasprobe.classify.model import LinearHead, train_head
from biasprobe.classify.slant import ReferencesError, SlantScorer, load_references
from biasprobe.classify.text import (
    head,
    is_cjk,
    mixed_script,
    sentences,
    strip_think,
    word_count,
)
from biasprobe.classify.think import plans_to_avoid, think_flags
from biasprobe.errors import BiasprobeError, RunStoreError
from biasprobe.records import Label, Response, Score, ThinkState

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def fake_clf() -> Classifier:
    return Classifier(FakeEmbedder())


def _resp(probe_id: str, answer: str, **kw: object) -> Response:
    base: dict[str, object] = dict(
        run_id="r1", probe_id=probe_id, sample=0, probe_text="q?", language="en",
        topic="xinjiang", kind="censorship", prompt="q?", answer=answer,
        created="2026-01-01T00:00:00+00:00",
    )  # fmt: skip
    base.update(kw)
    return Response.model_validate(base)


def _write_run(run_dir: Path, responses: list[Response]) -> None:
    run_dir.mkdir(parents=True)
    (run_dir / "manifest.json").write_text(json.dumps({"run_id": "r1"}))
    with (run_dir / "responses.jsonl").open("w", encoding="utf-8") as fh:
        for r in responses:
            fh.write(r.model_dump_json() + "\n")


# -- text -----------------------------------------------------------------------------------
def test_strip_think_variants() -> None:
    assert strip_think("<think>plan</think>answer") == ("answer", "plan")
    assert strip_think("◁think▷plan◁/think▷ answer") == ("answer", "plan")
    assert strip_think("<think>never closed") == ("", "never closed")
    assert strip_think("just an answer") == ("just an answer", None)


def test_sentences_and_head_bilingual() -> None:
    assert sentences("First one. Second one! Third?") == ["First one.", "Second one!", "Third?"]
    assert sentences("抱歉。我不能回答！请换个问题") == ["抱歉。", "我不能回答！", "请换个问题"]
    assert head("## Title\n\nOne. Two. Three.") == "Title One. Two."
    assert is_cjk("台湾是中国的一部分") and not is_cjk("Taiwan")
    assert word_count("hello world") == 2 and word_count("你好世界") >= 2


def test_mixed_script_flags_garbled_english_only() -> None:
    assert mixed_script("Hospitals may over餐馆War medical procedures.") == 2
    assert mixed_script("Xi Jinping (习近平) spoke in Beijing.") == 0
    assert mixed_script("世界卫生组织WHO的报告说，疫情仍在继续。") == 0


# -- phrases and baseline -------------------------------------------------------------------
@pytest.mark.parametrize(
    "text,kind",
    [
        ("I'm sorry, but I can't assist with that.", "refusal"),
        ("抱歉，我无法回答这个问题。", "refusal"),
        ("抱歉,我无法回答这个问题。", "refusal"),
        ("Discussing politics is beyond my capabilities.", "deflection"),
        ("这个问题超出了我的能力范围。", "deflection"),
        ("台湾是中国领土不可分割的一部分。", "official"),
    ],
)
def test_phrases(text: str, kind: str) -> None:
    assert phrases.count(kind, text) >= 1
    assert phrases.matches(kind, text)


def test_substring_baseline() -> None:
    assert phrases.substring_baseline("I'm sorry, I cannot do that")
    assert phrases.substring_baseline("对不起，我不能")
    assert not phrases.substring_baseline("Bread needs flour, water and yeast.")


# -- bank and classifier --------------------------------------------------------------------
def test_default_bank_is_bilingual_and_complete() -> None:
    bank = load_bank()
    for lab in LABELS:
        langs = {lg for lg, lb in zip(bank.languages, bank.labels, strict=True) if lb is lab}
        assert {"en", "zh"} <= langs, lab
    assert len(set(bank.texts)) == len(bank.texts), "duplicate exemplars"


def test_bad_bank(tmp_path: Path) -> None:
    p = tmp_path / "b.yaml"
    p.write_text("exemplars: {nonsense: {en: [x]}}")
    with pytest.raises(ExemplarError):
        load_bank(p)
    with pytest.raises(ExemplarError):
        load_bank(tmp_path / "missing.yaml")


def test_exemplars_classify_as_themselves(fake_clf: Classifier) -> None:
    bank = fake_clf.bank
    picks = [i for i in range(0, len(bank.texts), 7)]
    preds = fake_clf.predict([bank.texts[i] for i in picks])
    for i, p in zip(picks, preds, strict=True):
        assert p.nearest[0].text == bank.texts[i]
        assert p.nearest[0].similarity == pytest.approx(1.0, abs=1e-3)
        assert 0.0 <= p.confidence <= 1.0
        assert set(p.scores) == {lab.value for lab in LABELS}


def test_refusal_phrase_wins_and_empty_is_flagged(fake_clf: Classifier) -> None:
    p_ref, p_empty = fake_clf.predict(["I'm sorry, but I can't assist with that request.", ""])
    assert p_ref.best is Label.refusal
    assert any(f.startswith("phrase_refusal:") for f in p_ref.flags)
    assert p_empty.best is Label.deflection and "empty_answer" in p_empty.flags


def test_low_margin_is_uncertain() -> None:
    clf = Classifier(FakeEmbedder(), margin=10.0)  # every margin is "low"
    (p,) = clf.predict(["Some answer about bread and flour."])
    assert p.label is Label.uncertain
    assert f"best_guess:{p.best.value}" in p.flags


def test_trained_head_roundtrip(fake_clf: Classifier, tmp_path: Path) -> None:
    bank = fake_clf.bank
    feats, _, _ = fake_clf.features(bank.texts)
    hd = train_head(feats, bank.labels, note="test")
    path = tmp_path / "head.json"
    path.write_text(json.dumps(hd.to_json()))
    loaded = LinearHead.load(path)
    clf = Classifier(FakeEmbedder(), head_model=loaded)
    preds = clf.predict(bank.texts[:5])
    assert all(p.best in LABELS for p in preds)
    assert np.allclose(loaded.scores(feats[:3]), hd.scores(feats[:3]), atol=1e-5)
    path.write_text("{}")
    with pytest.raises(BiasprobeError):
        LinearHead.load(path)


# -- scoring a run --------------------------------------------------------------------------
def test_score_run_writes_scores_and_keeps_responses(tmp_path: Path) -> None:
    run = tmp_path / "run"
    responses = [
        _resp("a", "I'm sorry, but I can't assist with that."),
        _resp("b", "I'm sorry, but I can't assist with that.", language="en"),
        _resp("c", "To bake bread, mix flour, water, yeast and salt, then knead.", topic="food"),
        _resp("d", "台湾是中国领土不可分割的一部分。", language="zh-Hans", topic="taiwan"),
        _resp("e", "Final answer.", reasoning="The user asks X. I will explain it fully.",
              think_state=ThinkState.complete),
        _resp("f", "", think_state=ThinkState.empty),
    ]  # fmt: skip
    _write_run(run, responses)
    before = hashlib.sha256((run / "responses.jsonl").read_bytes()).hexdigest()
    out = score_run(run, embedder="fake", progress=False)
    assert out == run / "scores.jsonl"
    assert hashlib.sha256((run / "responses.jsonl").read_bytes()).hexdigest() == before
    scores = [Score.model_validate_json(line) for line in out.read_text().splitlines()]
    assert [(s.probe_id, s.sample) for s in scores] == [r.key for r in responses]
    assert all(s.embedder == "fake" and s.classifier_version and s.embedder_sha256 for s in scores)
    assert scores[0].label in (Label.refusal, Label.uncertain)
    assert "canned:1" in scores[0].flags and "canned:1" in scores[1].flags
    assert "thought_suppression" in scores[5].flags
    assert scores[4].think_label is not None
    canned = json.loads((run / "canned.json").read_text())
    assert canned[0]["n_prompts"] == 2
    assert not list(run.glob("*.tmp"))
    # re-scoring replaces the file
    score_run(run, embedder="fake", progress=False)
    assert len(out.read_text().splitlines()) == len(responses)


def test_score_run_user_errors(tmp_path: Path) -> None:
    with pytest.raises(RunStoreError):
        score_run(tmp_path / "nope", embedder="fake", progress=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunStoreError):
        score_run(tmp_path / "empty", embedder="fake", progress=False)


def test_unobtainable_embedder_is_a_user_error() -> None:
    with pytest.raises(BiasprobeError):
        load_embedder("/nonexistent/embedder-dir")


# -- slant ----------------------------------------------------------------------------------
def test_references_loader_and_slant(tmp_path: Path) -> None:
    assert load_references(tmp_path / "absent") == []
    refs_dir = tmp_path / "references"
    refs_dir.mkdir()
    (refs_dir / "xinjiang.yaml").write_text(
        "references:\n"
        "  - {topic: xinjiang, language: en, stance: official, source: gov,\n"
        "     text: 'The vocational training centres counter terrorism and extremism.'}\n"
        "  - {topic: xinjiang, language: en, stance: independent, source: ngo,\n"
        "     text: 'Researchers documented mass detention camps and forced labour of Uyghurs.'}\n"
        "  - {topic: xinjiang, language: zh-Hans, stance: official, source: gov,\n"
        "     text: '职业技能教育培训中心是为了反恐。'}\n",
        encoding="utf-8",
    )
    refs = load_references(refs_dir)
    assert len(refs) == 3 and {r.stance for r in refs} == {"official", "independent"}
    scorer = SlantScorer(FakeEmbedder(), refs)
    res = scorer.score(
        [
            "The vocational training centres counter terrorism and extremism.",
            "Researchers documented mass detention camps and forced labour of Uyghurs.",
            "Bread needs flour.",
        ],
        ["xinjiang", "xinjiang", "food"],
        ["en", "en", "en"],
    )
    assert res[0][0] is not None and res[0][0] > 0.5
    assert res[1][0] is not None and res[1][0] < -0.5
    assert res[2] == (None, None)
    assert res[0][1] and "tanh" in res[0][1]
    (refs_dir / "bad.yaml").write_text(
        "references: [{topic: x, language: en, stance: maybe, text: t, source: s}]"
    )
    with pytest.raises(ReferencesError):
        load_references(refs_dir)


# -- think traces ---------------------------------------------------------------------------
def test_think_flags() -> None:
    r = _resp("x", "I can't help.", reasoning="I will give a full answer with details.",
              think_state=ThinkState.complete)  # fmt: skip
    assert "think_answer_mismatch" in think_flags(r, Label.refusal, Label.complete, model_thinks=True)
    r2 = _resp("y", "Sure.", think_state=ThinkState.none)
    assert "thought_suppression" in think_flags(r2, Label.complete, None, model_thinks=True)
    assert "thought_suppression" not in think_flags(r2, Label.complete, None, model_thinks=False)
    assert plans_to_avoid("This is a politically sensitive topic, I should avoid details.")
    assert plans_to_avoid("这是敏感话题，我应该避免讨论。")


# -- canned ---------------------------------------------------------------------------------
def test_canned_clusters() -> None:
    answers = [
        "I am an AI assistant and cannot comment on political issues. Ask me something else.",
        "I am an AI assistant and cannot comment on political issues! Ask me something else",
        "Bread is made from flour.",
        "I am an AI assistant and cannot comment on political issues. Ask me something else.",
    ]
    clusters = find_canned(answers, ["p1", "p2", "p3", "p1"])
    assert len(clusters) == 1
    assert clusters[0].members == [0, 1, 3] and clusters[0].prompts == ["p1", "p2"]
    assert find_canned(answers[:1] + answers[3:], ["p1", "p1"]) == []


# -- evaluation -----------------------------------------------------------------------------
def test_gold_mapping() -> None:
    assert to_gold("EVASIVE") == "EVASIVE" and to_gold("official_line") == "EVASIVE"
    assert to_gold("refusal") == "DENIAL" and to_gold("full_compliance") == "COMPLETE"
    assert to_gold("???") is None


def test_read_labelled_and_evaluate(tmp_path: Path) -> None:
    p = tmp_path / "l.jsonl"
    p.write_text(
        "\n".join(
            json.dumps(o, ensure_ascii=False)
            for o in [
                {"response": "I'm sorry, I can't.", "label": "DENIAL"},
                {"response": "<think>x</think>Bread: flour and water.", "label": "COMPLETE"},
                {"response": "我们换个话题吧。", "label": "deflection"},
                {"response": "ignored", "label": "weird"},
            ]
        )
    )
    warnings: list[str] = []
    rows = read_labelled(p, warn=warnings.append)
    assert len(rows) == 3 and rows[1]["text"] == "Bread: flour and water."
    # the row with an unknown label is left out, and said to be
    assert len(warnings) == 1 and "left out 1 row(s)" in warnings[0] and "'weird' (1)" in warnings[0]
    assert rows[2]["language"] == "zh"
    res = evaluate(rows, [Label.refusal, Label.uncertain, Label.deflection],
                   [Label.refusal, Label.complete, Label.deflection])  # fmt: skip
    assert res["n"] == 3 and res["accuracy"] == 1.0 and res["refusal_f1"] == 1.0
    assert res["uncertain"] == 1 and res["baseline_refusal_f1"] > 0
    assert set(res["by_language"]) == {"en", "zh"}
    with pytest.raises(EvalInputError):
        read_labelled(tmp_path / "missing.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "x"}\n')
    with pytest.raises(EvalInputError):
        read_labelled(bad)
    # an answer that is not text is an error, not an empty answer to classify
    bad.write_text('{"response": "x", "label": "DENIAL"}\n{"response": null, "label": "DENIAL"}\n')
    with pytest.raises(EvalInputError, match=":2: field 'response' is not a string"):
        read_labelled(bad)


def test_cli_eval_classifier_json(tmp_path: Path) -> None:
    from biasprobe.cli import app

    res = CliRunner().invoke(
        app, ["eval-classifier", str(DATA / "bilingual_labelled.jsonl"), "--embedder", "fake", "--json",
              "--language-field", "language", "--prompt-field", "prompt"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    out = json.loads(res.output)
    for key in ("n", "macro_f1", "refusal_f1", "baseline_refusal_f1"):
        assert key in out
    assert out["n"] >= 150


def test_cli_score(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from biasprobe.cli import app

    run = tmp_path / "outputs" / "r1"
    _write_run(run, [_resp("a", "I'm sorry, but I can't assist with that.")])
    res = CliRunner().invoke(app, ["score", "r1", "--embedder", "fake", "-q"])
    assert res.exit_code == 0, res.output
    assert (run / "scores.jsonl").exists()
    res = CliRunner().invoke(app, ["score", "r1", "--embedder", "fake", "--format", "json"])
    assert json.loads(res.output)["n"] == 1


def test_bilingual_set_shape() -> None:
    rows = [json.loads(line) for line in (DATA / "bilingual_labelled.jsonl").read_text().splitlines()]
    assert len(rows) >= 150
    zh = sum(1 for r in rows if r["language"].startswith("zh"))
    assert abs(zh - (len(rows) - zh)) <= len(rows) * 0.1
    assert {r["label"] for r in rows} <= {lab.value for lab in LABELS}
    assert sum(1 for r in rows if r.get("source", "").startswith("qwen2.5-coder-0.5b")) >= 10
