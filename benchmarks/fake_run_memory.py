"""Total peak RSS of ``biasprobe run`` on a probe-set file of N prompts (fake backend), as JSON.

Why: a run of 20,000 prompts should cost about what a run of 200 costs. This writes a JSONL
probe set of N synthetic prompts to a scratch folder (one of the formats ``run -p FILE`` reads),
then runs ``biasprobe run -p FILE -m fake --no-score --no-progress`` in this process, through the
CLI's own ``main`` (the same code path as the console command), and prints one JSON line:
``peak_kib`` is the process's total peak RSS (imports, file reading, validation, the run);
``before_kib`` the peak after the imports, before the run. Run it in a fresh process per N, with
``BIASPROBE_OUTPUTS`` pointing at a scratch directory::

    python benchmarks/fake_run_memory.py 20000 [jsonl|yaml]

(``yaml``: the same probes as a YAML set, which is parsed whole: see ``probes/stream.py``.)

The fake backend is the CLI's (``backend: fake`` in a models file written next to the probes),
with its test-only call log switched off (it keeps every request for assertions).
Used by ``benchmarks/throughput.py`` (memory check) and ``tests/test_throughput_backends.py``.
"""

from __future__ import annotations

import json
import resource
import shutil
import sys
import tempfile
from pathlib import Path

from biasprobe.backends import fake
from biasprobe.backends.base import ChatRequest, Generation
from biasprobe.cli import main as cli_main
from biasprobe.config import GenerationSettings
from biasprobe.paths import outputs_dir

MODELS = """models:
  - name: fake
    backend: fake
    source: {fake: []}
    generation: {max_new_tokens: 64}
    batch_size: 32
"""


class UnloggedFake(fake.FakeBackend):
    """The fake without its call log (kept for tests, it would hold every request)."""

    def generate(self, requests: list[ChatRequest], settings: GenerationSettings) -> list[Generation]:
        out = super().generate(requests, settings)
        self.calls.clear()
        return out


def write_probe_file(path: Path, n: int) -> None:
    """N prompts of varied length (13 to 258 characters): one JSON object a line (``.jsonl``),
    or a YAML probe set (``.yaml``, its ``probes`` list written in JSON flow style)."""
    yaml = path.suffix == ".yaml"
    with path.open("w", encoding="utf-8") as fh:
        if yaml:
            fh.write("name: synthetic\nprobes:\n")
        for i in range(n):
            row = {"id": f"p{i:05d}", "text": f"Question {i}: " + "words " * (i % 40),
                   "language": "en", "topic": "t", "kind": "neutral"}
            fh.write(("  - " if yaml else "") + json.dumps(row) + "\n")


def main(n: int, fmt: str = "jsonl") -> dict[str, int | str]:
    scratch = Path(tempfile.mkdtemp(prefix="biasprobe-mem-"))
    try:
        probes, models = scratch / f"synthetic.{fmt}", scratch / "models.yaml"
        write_probe_file(probes, n)
        models.write_text(MODELS, encoding="utf-8")
        fake.FakeBackend = UnloggedFake  # type: ignore[misc]  # what _load_fake constructs
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        try:
            cli_main(["run", "-p", str(probes), "-m", "fake", "--models", str(models),
                      "--run-id", f"mem-{n}", "--no-score", "--no-progress"])
        except SystemExit as exc:
            if exc.code:
                raise
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    with (outputs_dir() / f"mem-{n}" / "responses.jsonl").open("rb") as fh:
        written = sum(1 for _ in fh)
    if written != n:
        raise SystemExit(f"wrote {written} of {n} responses")
    return {"n": n, "format": fmt, "peak_kib": peak, "before_kib": before}


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]), *sys.argv[2:3])))
