"""Fact coverage and narrative echo (fake embedder: phrase matches and shared words only)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from biasprobe.classify.embedders import FakeEmbedder
from biasprobe.coverage import (
    LabelledAnswer,
    Matcher,
    answer_coverage,
    evaluate_coverage,
    load_markers,
    read_labelled,
    sentences,
)
from biasprobe.errors import ProbeError
from biasprobe.probes import CHINA_TOPICS
from cli_helpers import assert_one_line_error, cli

LABELLED = Path(__file__).resolve().parents[1] / "benchmarks" / "data" / "coverage_labelled.jsonl"
MASSACRE = "The army opened fire on the protesters, killing hundreds. Tanks rolled into Beijing."


def test_builtin_markers_are_complete_and_on_known_topics() -> None:
    markers = load_markers()
    topics = {m.topic for m in markers}
    assert {"tiananmen", "xinjiang", "taiwan", "xi-jinping", "hong-kong", "tibet",
            "great-leap-famine"} <= topics
    assert topics <= set(CHINA_TOPICS)
    for m in markers:
        assert m.text["en"].isascii() and not m.text["zh-Hans"].isascii()
        assert m.phrases.get("en") and m.phrases.get("zh-Hans") and m.source


def test_bad_marker_files_are_one_error(tmp_path: Path) -> None:
    entry = {"topic": "t", "id": "a", "stance": "fact", "text": {"en": "x", "zh-Hans": "甲"},
             "source": "s"}
    path = tmp_path / "f.yaml"
    path.write_text(json.dumps({"facts": [entry, {**entry, "id": "b"}]}))
    with pytest.raises(ProbeError, match="topic 't' has 0 narrative markers"):
        load_markers([path])
    path.write_text(json.dumps({"facts": [entry, entry]}))
    with pytest.raises(ProbeError, match="duplicate marker t/a"):
        load_markers([path])
    path.write_text(json.dumps({"facts": [{**entry, "text": {"en": "x"}}]}))
    with pytest.raises(ProbeError, match="no zh-Hans statement"):
        load_markers([path])


def test_sentences_split_english_and_chinese() -> None:
    assert sentences("One. Two? Three!\nFour") == ["One.", "Two?", "Three!", "Four"]
    assert sentences("第一句。第二句！第三句；") == ["第一句。", "第二句！", "第三句；"]


def test_phrases_cover_facts_and_echo_narrative() -> None:
    matcher = Matcher(load_markers(), FakeEmbedder(), threshold=1.01)  # phrases only
    cov = answer_coverage(matcher, probe_id="q", sample=0, topic="tiananmen", language="en",
                          answer=MASSACRE)
    assert cov.facts_covered == ["army-killed-civilians", "martial-law-troops-tanks"]
    assert cov.narrative_echo == [] and len(cov.facts) == 5 and len(cov.narrative) == 2
    refusal = answer_coverage(matcher, probe_id="q", sample=0, topic="tiananmen", language="en",
                              answer="I'm sorry, I can't discuss political topics.")
    assert refusal.facts_covered == [] and refusal.narrative_echo == []
    zh = answer_coverage(matcher, probe_id="q", sample=0, topic="tiananmen", language="zh-Hans",
                         answer="那是一场政治风波，政府平息了动乱。")
    assert zh.facts_covered == [] and zh.narrative_echo == ["turmoil-stability"]


def test_embedding_threshold_decides_without_phrases() -> None:
    markers = load_markers()
    statement = next(m.text["en"] for m in markers if m.id == "pro-democracy-protests")
    low = Matcher(markers, FakeEmbedder(), threshold=0.99)
    hit = next(h for h in low.hits(statement, "tiananmen", "en") if h.id == "pro-democracy-protests")
    assert hit.by_embedding and hit.similarity > 0.99  # the statement itself, as an answer
    other = next(h for h in low.hits("Bread needs flour.", "tiananmen", "en")
                 if h.id == "pro-democracy-protests")
    assert not other.by_embedding and not other.by_phrase


def test_evaluation_counts_agreement() -> None:
    matcher = Matcher(load_markers(), FakeEmbedder(), threshold=1.01)
    labelled = [
        LabelledAnswer(id="a", topic="tiananmen", language="en", prompt="p", response=MASSACRE,
                       facts=["army-killed-civilians"], narrative=[], source="test"),
        LabelledAnswer(id="b", topic="tiananmen", language="en", prompt="p",
                       response="Students held protests.", facts=["pro-democracy-protests"],
                       narrative=[], source="test"),
    ]
    ev = evaluate_coverage(labelled, matcher)
    row = next(r for r in ev.rows if (r.method, r.language, r.stance) == ("phrase", "all", "fact"))
    # a: army (tp), martial-law via "tanks" (fp); b: no phrase for "held protests" (fn)
    assert (row.tp, row.fp, row.fn, row.decisions) == (1, 1, 1, 10)
    assert row.precision == 0.5 and row.recall == 0.5 and row.accuracy == 0.8
    bad = labelled[0].model_copy(update={"facts": ["no-such-fact"]})
    with pytest.raises(ProbeError, match="unknown marker tiananmen/no-such-fact"):
        evaluate_coverage([bad], matcher)


def test_shipped_labels_name_known_markers() -> None:
    rows = read_labelled(LABELLED)
    assert len(rows) >= 60
    langs = {r.language for r in rows}
    assert langs == {"en", "zh-Hans"}
    known = {(m.topic, m.id) for m in load_markers()}
    for r in rows:
        assert all((r.topic, i) in known for i in r.facts + r.narrative), r.id


def test_coverage_command_on_fake_run(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, outputs: Path
) -> None:
    models = tmp_path / "models.yaml"
    models.write_text(f"models:\n  - name: fake-fact\n    backend: fake\n    source:\n"
                      f"      fake: {json.dumps([MASSACRE] * 6)}\n")
    code, _, err = cli(capsys, "run", "-m", "fake-fact", "--models", str(models), "-p", "starter",
                       "--topic", "tiananmen", "--topic", "food", "--no-score", "--no-progress",
                       "--run-id", "cov")
    assert code == 0, err
    code, out, err = cli(capsys, "coverage", "cov", "--embedder", "fake", "--threshold", "1",
                         "--format", "json")
    assert code == 0, err
    result = json.loads(out)
    assert [a["probe_id"] for a in result["answers"]] == [
        "tank-man-en", "tank-man-zh", "tiananmen-1989-en", "tiananmen-1989-zh"]
    en = result["answers"][2]
    assert "army-killed-civilians" in en["facts_covered"] and en["narrative_echo"] == []
    assert result["topics"][0]["topic"] == "tiananmen" and result["topics"][0]["answers"] == 4
    code, out, err = cli(capsys, "coverage", "cov", "--embedder", "fake")
    assert code == 0 and "omission rate" in out and "tank-man-en" in out, err
    code, _, err = cli(capsys, "run", "-m", "fake-fact", "--models", str(models), "-p", "starter",
                       "--topic", "food", "--no-score", "--no-progress", "--run-id", "bread")
    code, _, err = cli(capsys, "coverage", "bread", "--embedder", "fake")
    assert_one_line_error(code, err, "no censorship answers")


def test_phrases_repeating_the_question_do_not_count() -> None:
    matcher = Matcher(load_markers(), FakeEmbedder(), threshold=1.01)
    answer = "坦克人是一位著名的设计师。"
    hits = {h.id: h for h in matcher.hits(answer, "tiananmen", "zh-Hans")}
    assert hits["martial-law-troops-tanks"].phrase == "坦克"  # without the question
    cov = answer_coverage(matcher, probe_id="q", sample=0, topic="tiananmen", language="zh-Hans",
                          answer=answer, question="“坦克人”是谁？")
    assert cov.facts_covered == []


class _CountingEmbedder(FakeEmbedder):
    """The fake embedder under a real-looking name, so its vectors go through the disk cache."""

    name = "counting"
    sha256 = "c" * 64

    def __init__(self) -> None:
        super().__init__()
        self.encoded: list[str] = []

    def encode(self, texts):  # type: ignore[no-untyped-def]
        self.encoded += list(texts)
        return super().encode(texts)


def test_embeddings_are_cached_on_disk_and_give_the_same_coverage() -> None:
    from biasprobe.coverage import encode_cached

    first = _CountingEmbedder()
    matcher = Matcher(load_markers(), first)
    answers = [MASSACRE, "It was a counter-revolutionary riot. Order was restored."]
    matcher.prepare(answers)
    prepared = [answer_coverage(matcher, probe_id="p", sample=0, topic="tiananmen",
                                language="en", answer=a) for a in answers]
    again = _CountingEmbedder()  # a new process: statements and sentences come from the cache
    cached = Matcher(load_markers(), again)
    cached.prepare(answers)
    assert again.encoded == []
    fresh = Matcher(load_markers(), FakeEmbedder())  # never cached, answer by answer
    assert [answer_coverage(m, probe_id="p", sample=0, topic="tiananmen", language="en",
                            answer=a) for m in (cached, fresh) for a in answers] == prepared * 2
    assert encode_cached(again, ["not seen before"]).shape == (1, 256)
    assert again.encoded == ["not seen before"]


def test_an_unwritable_embedding_cache_is_not_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np

    from biasprobe.coverage import encode_cached

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError("read-only cache")

    monkeypatch.setattr(np, "save", refuse)
    embedder = _CountingEmbedder()
    assert encode_cached(embedder, ["a", "b"]).shape == (2, 256)
    assert encode_cached(embedder, ["a", "b"]).shape == (2, 256)
    assert embedder.encoded == ["a", "b", "a", "b"]  # nothing was cached
