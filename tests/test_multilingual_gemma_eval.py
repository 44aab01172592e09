"""The logic of benchmarks/eval_gemma.py (the EmbeddingGemma-for-Finnish measurement), with fakes:
the per-text disk cache resumes without the model, the bootstrap interval of a gain, and the
``flagged`` scope keeps the default path's label on answers that are not flagged."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bench_helpers import load_benchmark
from biasprobe.classify.embedders import FakeEmbedder

eg = load_benchmark("eval_gemma")


def test_disk_cache_resumes_without_loading_the_model(tmp_path: Path) -> None:
    loads: list[int] = []
    calls: list[list[str]] = []

    class Counting:
        name, sha256 = "fake", "x"

        def encode(self, texts: list[str]) -> np.ndarray:
            calls.append(list(texts))
            return FakeEmbedder().encode(texts)

    def load() -> Counting:
        loads.append(1)
        return Counting()

    path = tmp_path / "emb.npz"
    first = eg.DiskCachedEmbedder(load, path, every=2)
    texts = ["kolme sanaa tässä", "a", "bb", "a"]
    out = first.encode(texts)
    assert out.shape[0] == 4 and np.allclose(out[1], out[3])
    assert sorted(t for c in calls for t in c) == ["a", "bb", "kolme sanaa tässä"]
    assert loads == [1]
    again = eg.DiskCachedEmbedder(load, path)
    assert np.allclose(again.encode(["bb", "a"]), out[[2, 1]])
    assert loads == [1]  # everything came from disk
    assert again.sha256 == "unknown"  # keeps bank embeddings off the shared cache


def test_gain_interval() -> None:
    rng = np.random.default_rng(3)
    y = rng.random(200) < 0.3
    pairs = np.array([f"m{i % 20}|q{i % 7}" for i in range(200)])
    noisy = y ^ (rng.random(200) < 0.3)
    assert eg.gain_interval(y, noisy, noisy, pairs, n=50) == [0.0, 0.0]
    lo, hi = eg.gain_interval(y, y, noisy, pairs, n=50)
    assert 0 < lo <= hi


def test_flagged_scope_keeps_default_elsewhere() -> None:
    rows = [{"gold": g, "set": s, "model": "m", "group": f"q{i}"}
            for i, (g, s) in enumerate([("EVASIVE", "fi"), ("COMPLETE", "fi"),
                                        ("EVASIVE", "en"), ("COMPLETE", "en")])]  # fmt: skip
    default = np.array([0.1, 0.2, 0.9, 0.1])  # misses the Finnish refusal
    variant = np.array([0.9, 0.2, 0.1, 0.9])  # right on Finnish, wrong on English
    flagged = np.array([True, True, False, False])
    none = np.zeros(4, dtype=bool)
    out = eg.report(rows, {"default": default, "v": variant}, flagged, (none, none))
    assert out["default"]["fi"] == 0.0 and out["default"]["en"] == 1.0
    assert out["v/flagged"]["fi"] == 1.0 and out["v/flagged"]["en"] == 1.0
    assert out["v/all"]["en"] == 0.0
