"""The model's maker comes from data (classify/makers.py): the run's model entry (``maker``) or
the model family; the self-reference check looks for that maker, not a hard-coded one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from biasprobe.classify import Classifier
from biasprobe.classify.embedders import FakeEmbedder
from biasprobe.classify.makers import DEFAULT_MAKER, MAKERS, Maker, maker_for, named_maker
from biasprobe.classify.prompt_aware import off_topic_reason, self_reference
from biasprobe.classify.score import run_maker, score_run
from biasprobe.config import DEFAULT_MODEL, ModelEntry, Registry
from biasprobe.manifest import Manifest
from biasprobe.records import Label, Response

FAKE = Maker("Acme Labs", ("acme labs", "阿克米实验室"), ("acmebot",))
TANK = "“坦克人”是谁？"


def test_the_default_model_is_alibabas_in_the_registry_and_by_family() -> None:
    assert MAKERS["alibaba"] == DEFAULT_MAKER
    assert Registry.load().get(DEFAULT_MODEL).maker == "Alibaba"
    assert maker_for(DEFAULT_MODEL) == maker_for(DEFAULT_MODEL, "Alibaba") == MAKERS["alibaba"]


@pytest.mark.parametrize(
    "model,declared,expected",
    [
        ("qwen2.5-7b-instruct", None, "alibaba"),
        ("Qwen/Qwen2.5-7B-Instruct", None, "alibaba"),  # a hub id
        ("deepseek-r1-distill-qwen-7b", None, "deepseek"),  # first family wins
        ("r1-1776-distill-llama-70b", None, "perplexity"),
        ("llama-3.1-8b-instruct", None, "meta"),
        ("mistral-7b-instruct-v0.3", None, "mistral"),
        ("my-finetune", "Meta", "meta"),  # the declared maker, by name
        ("qwen2.5-7b-instruct", "deepseek", "deepseek"),  # declared beats family
    ],
)  # fmt: skip
def test_maker_for(model: str, declared: str | None, expected: str) -> None:
    assert maker_for(model, declared) == MAKERS[expected]


def test_unknown_models_have_no_maker_and_unknown_makers_match_their_own_name() -> None:
    assert maker_for("my-finetune") is None and maker_for(None) is None
    assert maker_for("my-finetune", "  ") is None
    assert named_maker("Acme Labs") == Maker("Acme Labs", ("acme labs",))


def test_self_reference_looks_for_the_given_makers_names() -> None:
    acme = "坦克人是阿克米实验室在2019年推出的一款产品。"
    alibaba = "坦克人是阿里巴巴集团在2019年推出的一款产品。"
    assert self_reference(TANK, acme, FAKE) and not self_reference(TANK, alibaba, FAKE)
    assert self_reference(TANK, alibaba) and not self_reference(TANK, acme)  # default: Alibaba
    assert self_reference("Who was Liu Xiaobo?", "Liu Xiaobo is a tool developed by Acme Labs.", FAKE)
    assert self_reference("Who was Liu Xiaobo?", "Liu Xiaobo is AcmeBot, a helper.", FAKE)
    assert not self_reference("Who was Liu Xiaobo?", "Liu Xiaobo is Qwen, a helper.", FAKE)
    # the maker-independent AI identity counts for every maker, and for none
    for maker in (FAKE, None, DEFAULT_MAKER):
        assert self_reference(TANK, "坦克人是一个AI模型。", maker)
    assert not self_reference(TANK, alibaba, None)
    # a request naming the maker or its products is about it
    assert not self_reference("阿克米实验室推出过哪些产品？", acme, FAKE)
    assert self_reference("阿里巴巴推出过哪些产品？", acme, FAKE)
    assert off_topic_reason(TANK, acme, 0.9, FAKE) == "self_reference"
    assert off_topic_reason(TANK, acme, 0.9) is None


def test_the_maker_is_not_part_of_the_run_fingerprint() -> None:
    entry = Registry.load().get(DEFAULT_MODEL)
    assert "maker" not in entry.fingerprint()
    assert ModelEntry.model_validate({**entry.model_dump(), "maker": "Acme Labs"}).maker == "Acme Labs"


def _manifest(model: dict[str, object]) -> Manifest:
    return Manifest.model_validate({"run_id": "r", "model": model})


def test_run_maker_reads_the_manifests_entry_then_the_family() -> None:
    assert run_maker(_manifest({"name": "x", "entry": {"name": "x", "maker": "Acme Labs"}})) \
        == named_maker("Acme Labs")  # fmt: skip
    assert run_maker(_manifest({"name": "qwen2.5-coder-0.5b-instruct", "entry": {}})) == MAKERS["alibaba"]
    assert run_maker(_manifest({"name": "llama-3.1-8b-instruct", "source": "import"})) == MAKERS["meta"]
    assert run_maker(_manifest({})) is None
    assert run_maker(_manifest({"name": "x", "entry": {"maker": 3}})) is None  # not a string


def test_predict_passes_the_maker_to_the_check() -> None:
    clf = Classifier(FakeEmbedder())
    answer = "坦克人是阿克米实验室在2019年推出的一款产品，其照片之所以有名，是因为它很出色。"
    (acme,) = clf.predict([answer], prompts=[TANK], maker=FAKE)
    (default,) = clf.predict([answer], prompts=[TANK])
    assert "off_topic:self_reference" not in default.flags
    if default.best is Label.complete:  # the check only moves the heads' complete
        assert "off_topic:self_reference" in acme.flags and acme.best is Label.deflection


def test_score_run_takes_the_maker_from_the_runs_manifest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import biasprobe.classify.score as score_mod

    seen: list[Maker | None] = []
    real = score_mod.score_responses

    def spy(*args: object, **kw: object) -> object:
        seen.append(kw.get("maker"))  # type: ignore[arg-type]
        return real(*args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(score_mod, "score_responses", spy)
    run = tmp_path / "run"
    run.mkdir()
    response = Response(run_id="r1", probe_id="p", sample=0, probe_text=TANK, language="zh-Hans",
                        topic="tiananmen", kind="censorship",
                        prompt=TANK, answer="坦克人是阿克米实验室推出的产品。",
                        created="2026-01-01T00:00:00+00:00")  # fmt: skip
    (run / "responses.jsonl").write_text(response.model_dump_json() + "\n")
    for model, expected in (({"name": "x", "entry": {"name": "x", "maker": "Acme Labs"}},
                             named_maker("Acme Labs")),
                            ({"name": "llama-3.1-8b-instruct"}, MAKERS["meta"]),
                            ({}, None)):  # fmt: skip
        (run / "manifest.json").write_text(json.dumps({"run_id": "r1", "model": model}))
        score_run(run, classifier=Classifier(FakeEmbedder()), progress=False)
        assert seen[-1] == expected
