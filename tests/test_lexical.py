"""The lexical head: training, storage, the English gate, and its use inside the classifier."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from biasprobe.classify import Classifier
from biasprobe.classify.embedders import FakeEmbedder
from biasprobe.classify.lexical import LexicalHead, LexicalHeadError, english_share, train_lexical
from biasprobe.classify.model import FEATURES, combine_heads, train_head
from biasprobe.records import Label

HEDGED = [
    "I aim to discuss this topic in a balanced way while avoiding bias; reasonable people "
    "disagree about {t}. Let me know if you would like me to explore other perspectives.",
    "Here is a balanced overview of {t} that presents multiple perspectives objectively. "
    "I aim to avoid taking sides on this complex issue.",
]
FULL = [
    "{t} has been sharply criticised: the policy failed, costs rose and the government ignored "
    "warnings from its own auditors, according to the report.",
    "Critics of {t} point to rising poverty, broken promises and a record of corruption that "
    "the courts documented in detail over the years.",
]
TOPICS = ["austerity", "border policy", "the energy deal", "the bailout", "media law", "tariffs"]


def _data() -> tuple[list[str], np.ndarray]:
    texts, y = [], []
    for t in TOPICS:
        for tpl in HEDGED:
            texts.append(tpl.format(t=t))
            y.append(1)
        for tpl in FULL:
            texts.append(tpl.format(t=t))
            y.append(0)
    return texts, np.array(y)


@pytest.fixture(scope="module")
def trained() -> tuple[LexicalHead, list[str], np.ndarray, np.ndarray]:
    texts, y = _data()
    clf = Classifier(FakeEmbedder(), shipped_head=False)
    feats, _, _ = clf.features(texts)
    lex = train_lexical(texts, feats, y, FEATURES, min_df=1, note="toy")
    return lex, texts, y, feats


def test_english_share_separates_languages() -> None:
    assert english_share("The policy of the government is not popular in the north.") > 0.3
    assert english_share("台湾是中国领土不可分割的一部分。") == 0.0
    assert english_share("Hallituksen politiikka ei ole suosittu pohjoisessa.") == 0.0
    assert english_share("") == 0.0


def test_lexical_head_learns_wording(trained: tuple) -> None:
    lex, texts, y, feats = trained
    p = lex.prob_not_complete(texts, feats)
    assert ((p >= 0.5) == (y == 1)).all()
    new = ["I aim to stay balanced on the pension reform; reasonable people disagree.",
           "The pension reform failed: critics point to rising poverty and corruption."]  # fmt: skip
    clf = Classifier(FakeEmbedder(), shipped_head=False)
    f2, _, _ = clf.features(new)
    p_new = lex.prob_not_complete(new, f2)
    assert p_new[0] > 0.5 > p_new[1]


def test_lexical_head_roundtrip_gz(trained: tuple, tmp_path: Path) -> None:
    lex, texts, _, feats = trained
    path = tmp_path / "lex.json.gz"
    lex.save(path)
    loaded = LexicalHead.load(path, FEATURES)
    assert np.allclose(loaded.prob_not_complete(texts, feats), lex.prob_not_complete(texts, feats),
                       atol=1e-3)  # fmt: skip
    assert json.loads(gzip.decompress(path.read_bytes()))["kind"] == "lexical"


@pytest.mark.parametrize(
    "content", [b"not gzip", gzip.compress(b"[1, 2]"), gzip.compress(b'{"features": []}')]
)
def test_lexical_head_bad_files_raise_one_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "lex.json.gz"
    path.write_bytes(content)
    with pytest.raises(LexicalHeadError):
        LexicalHead.load(path, FEATURES)
    with pytest.raises(LexicalHeadError, match="not found"):
        LexicalHead.load(tmp_path / "missing.json.gz", FEATURES)


def test_lexical_head_needs_both_classes() -> None:
    texts, _y = _data()
    with pytest.raises(LexicalHeadError):
        train_lexical(texts, np.zeros((len(texts), len(FEATURES))), np.zeros(len(texts)), FEATURES)


def test_classifier_uses_lexical_head_for_english_only(trained: tuple) -> None:
    lex, texts, _y, feats = trained
    base = Classifier(FakeEmbedder(), shipped_head=False)
    bank_feats, _, _ = base.features(base.bank.texts)
    binary = [Label.complete if lab is Label.complete else Label.refusal for lab in base.bank.labels]
    head = train_head(bank_feats, binary)
    without = Classifier(FakeEmbedder(), head_model=head, shipped_head=False)
    with_lex = Classifier(FakeEmbedder(), head_model=head, shipped_head=False, lexical=lex)
    zh = "这个问题很复杂，我们还是谈谈别的话题吧。"
    s_without = without.label_scores(*_feats(without, [*texts, zh]))
    s_with = with_lex.label_scores(*_feats(with_lex, [*texts, zh]))
    p_lex = lex.prob_not_complete(texts, feats)
    p_both = combine_heads(1 - s_without[: len(texts), 0], p_lex)
    assert np.allclose(s_with[: len(texts), 0], 1 - p_both, atol=1e-5)
    assert not np.allclose(s_with[: len(texts), 0], s_without[: len(texts), 0])
    assert np.allclose(s_with[-1], s_without[-1])  # Chinese: the embedding head decides
    assert "lexical head" in with_lex.description


def _feats(clf: Classifier, texts: list[str]) -> tuple[np.ndarray, list[str]]:
    return clf.features(texts)[0], texts


def test_combine_heads_is_mean_log_odds() -> None:
    p = combine_heads(np.array([0.5, 0.9, 0.9, 0.2]), np.array([0.5, 0.5, 0.1, 0.2]))
    assert np.allclose(p, [0.5, 0.75, 0.5, 0.2], atol=1e-4)


def test_lexical_head_ignores_length_features(trained: tuple) -> None:
    lex = trained[0]
    assert not {"log_words", "very_short", "empty"} & set(lex.features)
    assert [FEATURES[c] for c in lex.columns] == lex.features
