"""The lexical head: word-piece evidence for English answers, learnt from labelled answers.

Embeddings of an answer's opening mostly encode its topic; what tells a hedged or watered-down
essay from a full one is often wording spread through the text ("I aim to…", "while avoiding
bias", "reasonable people disagree", "let me know if you would like me to…"). The lexical head is
a logistic regression on character n-gram TF-IDF of the answer's opening (``max_chars``) and
ending (``ending_chars``, when longer), together with the classifier's own low-dimensional
features (:data:`biasprobe.classify.model.FEATURES`, standardised and scaled by
``feature_weight``) except the length features: SpeechMap's short answers are mostly refusals,
a prior that does not hold for short factual answers elsewhere. It gives P(not complete); the
classifier averages its log-odds with the embedding head's (``model.combine_heads``).

It is trained on English data (SpeechMap), so it only applies to answers that read as English
(:func:`reads_english`: enough English function words, and enough of those no other
Latin-script language shares); every other answer (Chinese, Finnish, garbled or
empty) keeps the embedding head, which is bilingual. Kept as JSON (n-gram vocabulary, idf,
weights): no pickles. scikit-learn is imported only when the head is used.
"""

from __future__ import annotations

import gzip
import json
import re
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache, partial
from itertools import chain
from operator import is_not, itemgetter
from pathlib import Path
from typing import Any, TypedDict, cast

import numpy as np
from numpy.typing import NDArray

from biasprobe.classify.embedders import Array
from biasprobe.errors import BiasprobeError

# The commonest English function words: their share among an answer's words says "English".
_ENGLISH_WORDS = (
    "the of and to a in is that for it as with be on not this are by or was but have from an at "
    "which you they can their its has will would been were these there than also our other "
    "such i we"
)
_ENGLISH = frozenset(_ENGLISH_WORDS.split())
# Of those, the ones that are also everyday words of other Latin-script languages (Finnish "on"
# = "is", "a"/"i"/"in"/"an" in Romance, Germanic and Slavic languages, ...): a Finnish essay
# has 3-8% of them, enough to pass for English on the full list (on the SpeechMap China file 73
# of 469 Finnish answers did, and got the English head).
_SHARED_WORDS = frozenset(["on", "a", "i", "in", "an", "as", "be", "we", "it", "at", "or", "is"])
_ENGLISH_ONLY = _ENGLISH - _SHARED_WORDS
MIN_ENGLISH = 0.05  # English answers: at least this share of function words
# Below this many words an answer is judged on the full list alone ("Yes, Taiwan is a country.").
SHORT_WORDS = 20
LENGTH_FEATURES = ("log_words", "very_short", "empty")
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
# scikit-learn's whitespace normalisation before ``char_wb`` splits a document into words.
_WHITE_SPACES = re.compile(r"\s\s+")
# Distinct words whose n-gram indices each part keeps (~10 MB); the memo is emptied when full.
MAX_CACHED_WORDS = 65536


class LexicalHeadError(BiasprobeError):
    """A lexical head file is missing or malformed."""


def english_share(text: str, max_chars: int = 3000) -> float:
    """Share of the words of ``text`` (its first ``max_chars`` characters) that are common
    English function words: ~0.3 for English prose, 0 for Chinese, Russian or Finnish."""
    words = _WORD.findall(text[:max_chars].lower())
    return sum(map(_ENGLISH.__contains__, words)) / len(words) if words else 0.0


def reads_english(text: str, min_english: float = MIN_ENGLISH, max_chars: int = 3000) -> bool:
    """Whether ``text`` reads as English: at least ``min_english`` of its words are English
    function words, and, for answers of :data:`SHORT_WORDS` words or more, also of the
    function words no other Latin-script language uses as everyday words (so a Finnish essay
    full of "on" is not English). English prose: ~0.2 on the short list."""
    words = _WORD.findall(text[:max_chars].lower())
    if not words or sum(map(_ENGLISH.__contains__, words)) < min_english * len(words):
        return False
    return len(words) < SHORT_WORDS or sum(map(_ENGLISH_ONLY.__contains__, words)) >= min_english * len(words)


def _vectorizer(ngram_range: tuple[int, int], **kw: Any) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(
        analyzer="char_wb", ngram_range=ngram_range, sublinear_tf=True, dtype=np.float32, **kw
    )


@lru_cache(maxsize=256)
def _gram_slices(size: int, ngram_range: tuple[int, int]) -> Callable[[str], tuple[str, ...]]:
    """An itemgetter of the slices :func:`word_ngrams` cuts from a padded word of ``size``
    characters, in its order: n from low to high, stopping at the first n the padded word is no
    longer than (one slice: the whole word); always a tuple (a trailing dummy slice is dropped)."""
    low, high = ngram_range
    cuts = [slice(i, i + n) for n in range(low, min(high, max(low, size)) + 1)
            for i in range(max(1, size - n + 1))]  # fmt: skip
    if len(cuts) == 1:  # itemgetter of one item returns it bare, not in a tuple
        only = cuts[0]
        return lambda w: (w[only],)
    return itemgetter(*cuts)


# Keeps the n-grams found in the vocabulary (is_not(None, j), in C).
_IS_ID = partial(is_not, None)


@dataclass(frozen=True)
class GramKeys:
    """A vocabulary of character n-grams as integers, for :func:`gram_ids`: each character of
    the vocabulary numbered from 1 (:attr:`alphabet`, code points sorted), an n-gram's key its
    characters' numbers as digits in base ``len(alphabet) + 1`` (no leading zero, so n-grams of
    different lengths never share a key); :attr:`keys` sorted, with their vocabulary indices."""

    alphabet: NDArray[np.uint32]  # code points, sorted
    keys: NDArray[np.int64]  # sorted
    index: NDArray[np.intc]  # the vocabulary index of each key
    ngram_range: tuple[int, int]

    @classmethod
    def of(cls, vocabulary: Sequence[str], ngram_range: tuple[int, int]) -> GramKeys | None:
        """None when the keys would not fit in 63 bits, the vocabulary is empty, or the range
        starts above 3 (a padded word may then be shorter than the lowest n)."""
        chars = sorted({ord(c) for g in vocabulary for c in g})
        base = len(chars) + 1
        if not vocabulary or ngram_range[0] > 3 or base ** ngram_range[1] >= 2**63:
            return None
        digit = {c: i + 1 for i, c in enumerate(chars)}
        keys = []
        for g in vocabulary:
            k = 0
            for c in g:
                k = k * base + digit[ord(c)]
            keys.append(k)
        arr = np.array(keys, dtype=np.int64)
        order = np.argsort(arr, kind="stable")
        return cls(np.array(chars, np.uint32), arr[order], order.astype(np.intc), ngram_range)


def gram_ids(words: Sequence[str], keys: GramKeys) -> list[bytes]:
    """Per word (non-empty, no whitespace), :meth:`NgramPart._word_ids`: the vocabulary indices
    of the ``char_wb`` n-grams of the word padded with spaces, n from low to high, then by
    position; for all words at once (numpy over the joined padded words' code points, an n-gram
    kept where it lies inside one word and every character is in the alphabet)."""
    low, high = keys.ngram_range
    sizes = np.fromiter(map(len, words), np.int64, len(words)) + 2
    codes = np.frombuffer(
        "".join(f" {w} " for w in words).encode("utf-32-le", "surrogatepass"), dtype=np.uint32
    )
    at = np.minimum(np.searchsorted(keys.alphabet, codes), len(keys.alphabet) - 1)
    digits = np.where(keys.alphabet[at] == codes, at + 1, 0).astype(np.int64)
    owner = np.repeat(np.arange(len(words)), sizes)
    left = np.repeat(np.cumsum(sizes), sizes) - np.arange(len(codes))  # characters to the word's end
    base = len(keys.alphabet) + 1
    key, unknown = np.zeros(len(codes), np.int64), np.zeros(len(codes), bool)
    found_words, found_ids = [], []
    for n in range(1, high + 1):  # key: the n characters from each position, as digits
        key = key[: len(codes) - n + 1] * base + digits[n - 1 :]
        unknown = unknown[: len(codes) - n + 1] | (digits[n - 1 :] == 0)
        if n < low:
            continue
        at_n = np.flatnonzero((left[: len(key)] >= n) & ~unknown)
        j = np.minimum(np.searchsorted(keys.keys, key[at_n]), len(keys.keys) - 1)
        hit = keys.keys[j] == key[at_n]
        found_words.append(owner[at_n[hit]])
        found_ids.append(keys.index[j[hit]])
    where = np.concatenate(found_words)
    order = np.argsort(where, kind="stable")  # by word; within one, n then position as found
    data = np.concatenate(found_ids)[order].astype(np.intc).tobytes()
    ends = (np.cumsum(np.bincount(where, minlength=len(words))) * np.dtype(np.intc).itemsize).tolist()
    return [data[a:b] for a, b in zip([0, *ends[:-1]], ends, strict=True)]


@dataclass
class NgramPart:
    """One TF-IDF block (opening or ending of the answer) and its weights.

    :meth:`logits` computes what scikit-learn's ``TfidfVectorizer(analyzer="char_wb",
    sublinear_tf=True)`` with this vocabulary and idf computes (the tests check it against
    ``transform``), faster: ``char_wb`` n-grams never cross a word, so a document's counts are
    the sum of its words' counts, and each distinct word's in-vocabulary n-grams are looked up
    once per part (``_words``, bounded) instead of once per occurrence in every batch."""

    vocabulary: list[str]
    idf: Array
    coef: Array
    ngram_range: tuple[int, int] = (2, 5)
    _words: dict[str, bytes] = field(default_factory=dict, init=False, repr=False, compare=False)

    @cached_property
    def _index(self) -> dict[str, int]:
        return {g: i for i, g in enumerate(self.vocabulary)}

    def _word_ids(self, word: str) -> bytes:
        """The vocabulary indices (C int bytes, one per occurrence) of the n-grams of ``word``
        (lowercased, no whitespace), padded with spaces as ``char_wb`` pads it."""
        ids = self._words.get(word)
        if ids is None:
            # word_ngrams(word, self.ngram_range) looked up: the padded word's n-grams cut by
            # one itemgetter of slices per padded length (in C), each looked up in C (map).
            grams = _gram_slices(len(word) + 2, self.ngram_range)(f" {word} ")
            found = cast("Iterator[int]", filter(_IS_ID, map(self._index.get, grams)))
            ids = array("i", found).tobytes()
            if len(self._words) >= MAX_CACHED_WORDS:
                self._words.clear()
            self._words[word] = ids
        return ids

    @cached_property
    def _keys(self) -> GramKeys | None:
        return GramKeys.of(self.vocabulary, self.ngram_range)

    def _fill(self, words: Sequence[str]) -> None:
        """Memo entries for ``words`` (distinct, not in the memo), all at once (:func:`gram_ids`
        where the vocabulary fits it, else word by word): the same bytes as :meth:`_word_ids`."""
        keys = self._keys
        if keys is None or len(words) < 8:
            for w in words:
                self._word_ids(w)
            return
        memo = self._words
        for w, ids in zip(words, gram_ids(words, keys), strict=True):
            if len(memo) >= MAX_CACHED_WORDS:
                memo.clear()
            memo[w] = ids

    def counts(self, docs: Sequence[str]) -> Any:
        """The raw n-gram counts of ``docs`` (float32 CSR, sorted indices), as scikit-learn's
        ``CountVectorizer.transform`` builds them for this vocabulary."""
        import scipy.sparse as sp

        split = [_WHITE_SPACES.sub(" ", d.lower()).split() for d in docs]
        word_ids, memo = self._word_ids, self._words.get  # memo first: most words are in it
        self._fill([w for w in set(chain.from_iterable(split)) if memo(w) is None])
        rows = [b"".join([memo(w) or word_ids(w) for w in words]) for words in split]
        size = np.dtype(np.intc).itemsize  # the memo holds array("i") bytes, i.e. C ints
        lens = np.array([len(r) // size for r in rows], dtype=np.int64)
        cols = np.frombuffer(b"".join(rows), dtype=np.intc).astype(np.int64)
        keys = np.repeat(np.arange(len(docs), dtype=np.int64), lens) * len(self.vocabulary) + cols
        uniq, n = np.unique(keys, return_counts=True)  # sorted: by row, then column
        indptr = np.searchsorted(uniq, np.arange(len(docs) + 1, dtype=np.int64) * len(self.vocabulary))
        return sp.csr_array(
            (n.astype(np.float32), (uniq % len(self.vocabulary)).astype(np.int32),
             indptr.astype(np.int32)),
            shape=(len(docs), len(self.vocabulary)),
        )  # fmt: skip

    def tfidf(self, docs: Sequence[str]) -> Any:
        """The TF-IDF rows of ``docs``: sublinear tf, idf, l2 norm (scikit-learn's steps)."""
        from sklearn.preprocessing import normalize

        x = self.counts(docs)
        np.log(x.data, x.data)
        x.data += 1.0
        x.data *= self.idf[x.indices]
        return normalize(x, norm="l2", copy=False)

    def logits(self, docs: Sequence[str]) -> Array:
        if not self.vocabulary or not docs:
            return np.zeros(len(docs), dtype=np.float32)
        return np.asarray(self.tfidf(docs) @ self.coef, dtype=np.float32)

    def to_json(self) -> NgramPartJSON:
        return {
            "vocabulary": self.vocabulary,
            "idf": [round(float(v), 5) for v in self.idf],
            "coef": [round(float(v), 5) for v in self.coef],
        }

    @classmethod
    def from_json(cls, data: NgramPartJSON, ngram_range: tuple[int, int]) -> NgramPart:
        vocab = [str(g) for g in data["vocabulary"]]
        idf = np.asarray(data["idf"], dtype=np.float32)
        coef = np.asarray(data["coef"], dtype=np.float32)
        if not (len(vocab) == len(idf) == len(coef)):
            raise ValueError("vocabulary, idf and coef differ in length")
        return cls(vocab, idf, coef, ngram_range)


class NgramPartJSON(TypedDict):
    vocabulary: list[str]
    idf: list[float]
    coef: list[float]


class LexicalHeadJSON(TypedDict):
    """A lexical head file. Read from disk it is untrusted: ``from_json`` checks every field."""

    kind: str
    features: list[str]
    feature_weight: float
    ending_weight: float
    ngram_range: list[int]
    max_chars: int
    ending_chars: int
    min_english: float
    opening: NgramPartJSON
    ending: NgramPartJSON
    coef_features: list[float]
    intercept: float
    mean: list[float]
    scale: list[float]
    note: str
    embedder: str


@dataclass(frozen=True)
class TextLogits:
    """A lexical head's text-only work for one batch (:meth:`LexicalHead.text_logits`)."""

    use: Array  # bool per text: the head applies to it
    z: Array  # n-gram log-odds of the texts it applies to, in order


@dataclass
class LexicalHead:
    """Logistic regression on char n-gram TF-IDF + scaled features (see the module docstring)."""

    opening: NgramPart
    ending: NgramPart
    coef_features: Array
    intercept: float
    mean: Array
    scale: Array
    features: list[str]  # the classifier features it uses, by name
    columns: list[int]  # their columns in the classifier's feature matrix
    feature_weight: float = 0.1
    ending_weight: float = 0.7
    ngram_range: tuple[int, int] = (2, 5)
    max_chars: int = 2500
    ending_chars: int = 600
    min_english: float = MIN_ENGLISH
    note: str = ""
    embedder: str = ""

    def applies(self, texts: Sequence[str]) -> Array:
        """Which texts the head scores; the rest keep the embedding head."""
        return reads_as_english(texts, self.min_english)

    def text_logits(self, texts: Sequence[str]) -> TextLogits:
        """Which of ``texts`` the head :meth:`applies` to, and their n-gram log-odds: the part
        of :meth:`prob_not_complete` that depends on the text alone, so the classifier makes
        it while the embedder's matrix products (which release the GIL) run in another
        thread, and asks :meth:`applies` once per batch."""
        use = self.applies(texts)
        return TextLogits(use, self.ngram_logits([t for t, u in zip(texts, use, strict=True) if u]))

    def ngram_logits(self, texts: Sequence[str]) -> Array:
        """The opening's and the weighted ending's n-gram log-odds of each text."""
        openings, endings = split_ends(texts, self.max_chars, self.ending_chars)
        z: Array = self.opening.logits(openings) + self.ending_weight * self.ending.logits(endings)
        return z

    def prob_not_complete(self, texts: Sequence[str], feats: Array,
                          ngram_z: Array | None = None) -> Array:
        """P(not complete) per text (whether or not the head :meth:`applies` to it); ``feats``
        is the classifier's feature matrix for the same texts; ``ngram_z``: their
        :meth:`ngram_logits` if already made (the same sum, in the same order)."""
        if not len(texts):
            return np.zeros(0, dtype=np.float32)
        x_feats = scale_features(feats[:, self.columns], self.mean, self.scale, self.feature_weight)
        if ngram_z is None:
            ngram_z = self.ngram_logits(texts)
        z = ngram_z + x_feats @ self.coef_features + self.intercept
        return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=np.float32)

    # -- storage ----------------------------------------------------------------------------
    def to_json(self) -> LexicalHeadJSON:
        return {
            "kind": "lexical",
            "features": self.features,
            "feature_weight": self.feature_weight,
            "ending_weight": self.ending_weight,
            "ngram_range": list(self.ngram_range),
            "max_chars": self.max_chars,
            "ending_chars": self.ending_chars,
            "min_english": self.min_english,
            "opening": self.opening.to_json(),
            "ending": self.ending.to_json(),
            "coef_features": self.coef_features.tolist(),
            "intercept": self.intercept,
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "note": self.note,
            "embedder": self.embedder,
        }

    @classmethod
    def from_json(
        cls, data: LexicalHeadJSON, all_features: Sequence[str], source: str = "lexical head"
    ) -> LexicalHead:
        """``all_features``: the classifier's feature names (columns of its feature matrix)."""
        try:
            unknown = [f for f in data["features"] if f not in all_features]
            if unknown:
                raise LexicalHeadError(f"{source}: trained on other features ({unknown}); retrain it")
            lo, hi = (int(v) for v in data["ngram_range"])
            return cls(
                opening=NgramPart.from_json(data["opening"], (lo, hi)),
                ending=NgramPart.from_json(data["ending"], (lo, hi)),
                coef_features=np.asarray(data["coef_features"], dtype=np.float32),
                intercept=float(data["intercept"]),
                mean=np.asarray(data["mean"], dtype=np.float32),
                scale=np.asarray(data["scale"], dtype=np.float32),
                features=list(data["features"]),
                columns=[list(all_features).index(f) for f in data["features"]],
                feature_weight=float(data["feature_weight"]),
                ending_weight=float(data["ending_weight"]),
                ngram_range=(lo, hi),
                max_chars=int(data["max_chars"]),
                ending_chars=int(data["ending_chars"]),
                min_english=float(data["min_english"]),
                note=str(data.get("note", "")),
                embedder=str(data.get("embedder", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise LexicalHeadError(f"{source}: malformed lexical head ({exc})") from None

    def save(self, path: Path) -> None:
        raw = (json.dumps(self.to_json(), ensure_ascii=False) + "\n").encode("utf-8")
        path.write_bytes(gzip.compress(raw, mtime=0) if path.suffix == ".gz" else raw)

    @classmethod
    def load(cls, path: Path, all_features: Sequence[str]) -> LexicalHead:
        try:
            raw = path.read_bytes()
            text = gzip.decompress(raw) if path.suffix == ".gz" else raw
            data = json.loads(text)
        except FileNotFoundError:
            raise LexicalHeadError(f"{path}: lexical head not found") from None
        except (OSError, EOFError, ValueError) as exc:
            raise LexicalHeadError(f"{path}: not (gzipped) JSON ({exc})") from None
        if not isinstance(data, dict):
            raise LexicalHeadError(f"{path}: not a JSON object")
        # untrusted: from_json checks every field it reads
        return cls.from_json(cast(LexicalHeadJSON, data), all_features, str(path))


def word_ngrams(word: str, ngram_range: tuple[int, int]) -> list[str]:
    """The ``char_wb`` n-grams of one word, as scikit-learn makes them: the word padded with a
    space on each side; a padded word no longer than ``n`` gives one n-gram and ends the list."""
    w = f" {word} "
    out: list[str] = []
    for n in range(ngram_range[0], ngram_range[1] + 1):
        out += [w[i : i + n] for i in range(max(1, len(w) - n + 1))]
        if len(w) <= n:
            break
    return out


def reads_as_english(texts: Sequence[str], min_english: float = MIN_ENGLISH) -> Array:
    """Answers that read as English (:func:`reads_english`; the head is trained on English
    answers)."""
    return np.array([reads_english(t, min_english) for t in texts], dtype=bool)


def split_ends(texts: Sequence[str], max_chars: int, ending_chars: int) -> tuple[list[str], list[str]]:
    """(openings, endings): the first ``max_chars`` characters of each text, and its last
    ``ending_chars`` when the text is longer than ``max_chars`` (else "")."""
    openings = [t[:max_chars] for t in texts]
    endings = [t[-ending_chars:] if len(t) > max_chars and ending_chars else "" for t in texts]
    return openings, endings


def scale_features(feats: Array, mean: Array, scale: Array, weight: float) -> Array:
    return np.asarray((feats - mean) / scale * weight, dtype=np.float32)


def _standardised(fx: Array) -> tuple[Array, Array, Array]:
    """``fx`` with its column means and standard deviations (near-constant columns: scale 1)."""
    mean = fx.mean(axis=0)
    scale = fx.std(axis=0)
    scale[scale < 1e-6] = 1.0
    return fx, mean, scale


def _fit_ngram_blocks(
    doc_sets: tuple[list[str], list[str]],
    weights: tuple[float, float],
    ngram_range: tuple[int, int],
    min_df: int,
    max_ngrams: int,
) -> tuple[list[Any], list[NgramPart]]:
    """Fit one TF-IDF vectorizer per block (openings, endings): weighted matrices and parts.

    A block with no text at all (e.g. no answer is long enough) gets an empty matrix and part."""
    import scipy.sparse as sp

    blocks: list[Any] = []
    parts: list[NgramPart] = []
    for docs, w in zip(doc_sets, weights, strict=True):
        vec = _vectorizer(ngram_range, min_df=min_df, max_features=max_ngrams)
        try:
            blocks.append(vec.fit_transform(docs) * w)
        except ValueError:  # no text at all in this block (e.g. no answer is long enough)
            blocks.append(sp.csr_matrix((len(docs), 0), dtype=np.float32))
            empty = np.zeros(0, np.float32)
            parts.append(NgramPart([], empty, empty, ngram_range))
            continue
        vocab = [""] * len(vec.vocabulary_)
        for g, i in vec.vocabulary_.items():
            vocab[i] = g
        idf = np.asarray(vec.idf_, dtype=np.float32)
        parts.append(NgramPart(vocab, idf, np.zeros(0, dtype=np.float32), ngram_range))
    return blocks, parts


def train_lexical(
    texts: Sequence[str],
    feats: Array,
    y: Array,
    all_features: Sequence[str],
    *,
    exclude: Sequence[str] = LENGTH_FEATURES,
    c: float = 30.0,
    feature_weight: float = 0.1,
    ending_weight: float = 0.7,
    max_ngrams: int = 30000,
    min_df: int = 3,
    ngram_range: tuple[int, int] = (2, 5),
    max_chars: int = 2500,
    ending_chars: int = 600,
    note: str = "",
    embedder: str = "",
    keep: Array | None = None,
    weights: Array | None = None,
) -> LexicalHead:
    """Fit a lexical head; ``y`` is 1 for not complete (EVASIVE / DENIAL), balanced classes.

    Only texts the head applies to (English; or those ``keep`` marks) are used; scikit-learn
    is imported here. ``weights``: optional sample weight per text (e.g. extra rows counted
    less than SpeechMap's), applied on top of the class balancing."""
    import scipy.sparse as sp
    from sklearn.linear_model import LogisticRegression

    keep = reads_as_english(texts) if keep is None else np.asarray(keep, dtype=bool)
    yy = np.asarray(y)[keep]
    if len(set(yy.tolist())) < 2:
        raise LexicalHeadError("need answers of both classes to train a lexical head")
    openings, endings = split_ends([t for t, k in zip(texts, keep, strict=True) if k],
                                   max_chars, ending_chars)  # fmt: skip
    blocks, parts = _fit_ngram_blocks(
        (openings, endings), (1.0, ending_weight), ngram_range, min_df, max_ngrams
    )
    used = [f for f in all_features if f not in exclude]
    columns = [list(all_features).index(f) for f in used]
    fx, mean, scale = _standardised(feats[keep][:, columns])
    x = sp.hstack([*blocks, sp.csr_matrix(scale_features(fx, mean, scale, feature_weight))])
    lr = LogisticRegression(C=c, max_iter=5000, class_weight="balanced")
    lr.fit(x.tocsr(), yy, sample_weight=None if weights is None else np.asarray(weights)[keep])
    coef = np.asarray(lr.coef_[0], dtype=np.float32)
    n0, n1 = len(parts[0].vocabulary), len(parts[1].vocabulary)
    parts[0].coef, parts[1].coef = coef[:n0], coef[n0 : n0 + n1]
    return LexicalHead(
        opening=parts[0],
        ending=parts[1],
        coef_features=coef[n0 + n1 :],
        intercept=float(lr.intercept_[0]),
        mean=mean.astype(np.float32),
        scale=scale.astype(np.float32),
        features=used,
        columns=columns,
        feature_weight=feature_weight,
        ending_weight=ending_weight,
        ngram_range=ngram_range,
        max_chars=max_chars,
        ending_chars=ending_chars,
        note=note,
        embedder=embedder,
    )
