"""Classifier 0.4 additions: the stance feature and the Chinese (CJK) lexical head (fake embedder)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from biasprobe.classify.embedders import FakeEmbedder
from biasprobe.classify.lexical import LexicalHeadError
from biasprobe.classify.lexical_cjk import CjkLexicalHead, reads_as_cjk, train_cjk_lexical
from biasprobe.classify.model import FEATURES, Classifier
from biasprobe.classify.stance import StancePrototypes, embed_prototypes, load_prototypes
from biasprobe.classify.text import is_cjk


def test_prototypes_are_bilingual_and_differ() -> None:
    protos = load_prototypes()
    for stance in ("defends", "criticises"):
        texts = protos[stance]
        assert any(is_cjk(t) for t in texts) and any(not is_cjk(t) for t in texts)
    assert not set(protos["defends"]) & set(protos["criticises"])


def test_stance_diff_sign() -> None:
    emb = FakeEmbedder()
    protos = embed_prototypes(emb)
    texts = load_prototypes()
    d = protos.diff(emb.encode([texts["defends"][0], texts["criticises"][0]]))
    assert d[0] > 0 > d[1]
    assert protos.diff(np.zeros((0, emb.dim), np.float32)).shape == (0,)


def test_stance_diff_is_a_feature() -> None:
    clf = Classifier(FakeEmbedder(), shipped_head=False)
    texts = load_prototypes()
    answers = [texts["defends"][1], texts["criticises"][1], ""]
    feats, head_emb, _ = clf.features(answers)
    col = list(FEATURES).index("stance_diff")
    assert isinstance(clf._stance, StancePrototypes)
    assert np.allclose(feats[:, col], clf._stance.diff(head_emb))
    assert feats[0, col] > 0 > feats[1, col]


_ZH_EVASIVE = [
    "关于这个问题存在不同看法，我们应当客观看待，政府取得了巨大成就。",
    "有关说法并不准确，政府始终依法保护公民权益，取得了巨大成就。",
    "各方观点不一，应当客观看待，取得了巨大成就，社会保持稳定。",
    "所谓批评并不准确，应当客观看待政府为人民做出的努力。",
]
_ZH_COMPLETE = [
    "当局压制异见，监禁记者，这是严重的人权侵犯，必须谴责。",
    "这项政策导致了大规模监控和审查，批评者遭到迫害。",
    "官员腐败横行，人民的言论自由被剥夺，必须追究责任。",
    "政府掩盖事实，打压维权人士，造成了深重的苦难。",
]


def _cjk_data() -> tuple[list[str], np.ndarray]:
    english = ["The government jailed critics and censored the press, a clear abuse.",
               "Opinions differ and it is important to stay balanced on this topic."]  # fmt: skip
    texts = (_ZH_EVASIVE + _ZH_COMPLETE) * 3 + english * 3
    y = np.array(([1] * 4 + [0] * 4) * 3 + [0, 1] * 3)
    return texts, y


@pytest.fixture(scope="module")
def cjk_trained() -> tuple[CjkLexicalHead, Classifier]:
    texts, y = _cjk_data()
    clf = Classifier(FakeEmbedder(), shipped_head=False)
    feats, _, _ = clf.features(texts)
    return train_cjk_lexical(texts, feats, y, FEATURES, min_df=1), clf


def test_cjk_head_applies_to_chinese_only(cjk_trained: tuple[CjkLexicalHead, Classifier]) -> None:
    lex, _ = cjk_trained
    texts = ["这是一个中文回答。", "This is English.", "Tämä on suomea.", ""]
    assert lex.applies(texts).tolist() == [True, False, False, False]
    assert reads_as_cjk(texts).tolist() == [True, False, False, False]


def test_cjk_head_learns_chinese_wording(cjk_trained: tuple[CjkLexicalHead, Classifier]) -> None:
    lex, clf = cjk_trained
    new = ["这种说法并不准确，应当客观看待。", "当局监禁记者并压制异见，必须谴责。"]
    feats, _, _ = clf.features(new)
    p = lex.prob_not_complete(new, feats)
    assert p[0] > 0.5 > p[1]


def test_cjk_head_roundtrip_and_classifier_path(
    cjk_trained: tuple[CjkLexicalHead, Classifier], tmp_path: Path
) -> None:
    lex, clf = cjk_trained
    path = tmp_path / "lexical-cjk.json.gz"
    lex.save(path)
    assert json.loads(gzip.decompress(path.read_bytes()))["kind"] == "lexical-cjk"
    loaded = CjkLexicalHead.load(path, FEATURES)
    assert isinstance(loaded, CjkLexicalHead)
    texts = ["这种说法并不准确，应当客观看待。", "The government jailed critics."]
    feats, _, _ = clf.features(texts)
    assert np.allclose(loaded.prob_not_complete(texts, feats), lex.prob_not_complete(texts, feats),
                       atol=1e-3)  # fmt: skip
    # In the classifier the CJK head moves Chinese answers only.
    from biasprobe.classify.model import train_head
    from biasprobe.records import Label

    head = train_head(feats, [Label.complete, Label.refusal])
    plain = Classifier(FakeEmbedder(), head_model=head, shipped_head=False)
    with_cjk = Classifier(FakeEmbedder(), head_model=head, shipped_head=False, lexical_cjk=loaded)
    a = plain.label_scores(feats, texts)
    b = with_cjk.label_scores(feats, texts)
    assert not np.allclose(a[0], b[0]) and np.allclose(a[1], b[1])


def test_cjk_head_needs_chinese_of_both_classes() -> None:
    texts = [*_ZH_COMPLETE, "The government censored the press."]
    with pytest.raises(LexicalHeadError):
        train_cjk_lexical(texts, np.zeros((len(texts), len(FEATURES))), np.array([0, 0, 0, 0, 1]),
                          FEATURES)  # fmt: skip


def test_shipped_heads_read_the_stance_feature_and_load() -> None:
    """The shipped use-m3 heads of classifier 0.4: the embedding head reads stance_diff and the
    Chinese lexical head loads as a CJK head (no embedder needed)."""
    from biasprobe.classify.model import LinearHead, shipped_head_path
    from biasprobe.paths import package_file

    head = LinearHead.load(shipped_head_path("use-m3"))
    assert "stance_diff" in head.features
    cjk = CjkLexicalHead.load(package_file("classify", "data", "lexical-cjk-use-m3.json.gz"), FEATURES)
    assert cjk.applies(["这是中文。", "This is English."]).tolist() == [True, False]
