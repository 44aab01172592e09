"""Peak RSS of one fake-backend run of N prompts through ``runner.execute``, as one JSON line.

``peak_kib`` is the process's peak; ``before_kib`` the peak before the run starts (the probes,
which the caller holds, are already built), so ``peak_kib - before_kib`` is what the run adds.
Run in a fresh process per N (so the peak is the run's own), with ``BIASPROBE_OUTPUTS`` pointing
at a scratch directory::

    python benchmarks/fake_run_memory.py 2000

Used by ``benchmarks/throughput.py`` (memory check) and ``tests/test_throughput_backends.py``.
"""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path

from biasprobe.backends.base import ChatRequest, Generation
from biasprobe.backends.fake import FakeBackend
from biasprobe.config import GenerationSettings, ModelEntry
from biasprobe.records import Probe, ProbeKind
from biasprobe.runner import RunPlan, execute
from biasprobe.sources import ResolvedModel


class UnloggedFake(FakeBackend):
    """The fake without its call log (kept for tests, it would hold every request)."""

    def generate(self, requests: list[ChatRequest], settings: GenerationSettings) -> list[Generation]:
        out = super().generate(requests, settings)
        self.calls.clear()
        return out


def main(n: int) -> dict[str, int]:
    entry = ModelEntry.model_validate({"name": "fake", "backend": "fake", "source": {"fake": []},
                                       "generation": {"max_new_tokens": 64}, "batch_size": 32})
    probes = tuple(Probe(id=f"p{i:05d}", text=f"Question {i}: " + "words " * (i % 40), language="en",
                         topic="t", kind=ProbeKind.neutral) for i in range(n))
    plan = RunPlan(f"mem-{n}", entry, "synthetic", probes, 32)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    res = execute(plan, ResolvedModel(path=Path("."), revision=None, files_sha256={"fake": "0"}),
                  UnloggedFake, progress=False, say=lambda _: None)
    if res.generated != n:
        raise SystemExit(f"generated {res.generated} of {n}")
    return {"n": n, "peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "before_kib": before}


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]))))
