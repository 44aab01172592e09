"""Issue 15, the property test: every CLI command on generated hostile inputs.

Hypothesis picks a command, then either plants a bad file (link to a file outside, link to
/dev/zero, FIFO, folder, dangling link, deep or huge JSON, bad UTF-8…) in place of a run file
or of the command's input file, or writes generated text full of control, bidi, zero-width,
tag and surrogate characters (or a wrong type) into one field of a run file or of an import
line. Whatever happens, the command must: exit 0, 1, 2 or 130; print at most one ``error:``
line and no traceback; print no raw control character; touch nothing outside the outputs
folder; and, after an error, leave the outputs folder byte-identical.

Runs in-process (``main(argv)``), 60 examples (about 30 s).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hostile_helpers import (
    BAD_FILES,
    check_output,
    import_lines,
    run_cli,
    snapshot,
)
from hostile_helpers import (
    scored_template as build_scored_template,
)

MODELS = """\
models:
  - name: fake-echo
    backend: fake
    source: {fake: []}
    batch_size: 3
"""
VICTIM = b"outside the outputs folder\n"

# Each command: argv given (input file, models file). The input file is a good one unless
# hypothesis replaced it.
Argv = Callable[[str, str], list[str]]
COMMANDS: dict[str, tuple[Argv, str]] = {
    "models list": (lambda f, m: ["models", "list", "--models", m], "models"),
    "pull": (lambda f, m: ["pull", "fake-echo", "--models", m], "models"),
    "probes list": (lambda f, m: ["probes", "list"], "none"),
    "probes validate": (lambda f, m: ["probes", "validate", f], "probes"),
    "probes stats": (lambda f, m: ["probes", "stats", "-p", f], "probes"),
    "run": (lambda f, m: ["run", "-m", "fake-echo", "--models", m, "-p", f, "--run-id", "a",
                          "--no-score", "--no-progress"], "probes"),
    "run-new": (lambda f, m: ["run", "-m", "fake-echo", "--models", m, "-p", f, "--run-id",
                              "n", "--embedder", "fake", "--no-progress"], "probes"),
    "show": (lambda f, m: ["show", "a"], "none"),
    "show json": (lambda f, m: ["show", "a", "--format", "json"], "none"),
    "score": (lambda f, m: ["score", "a", "--embedder", "fake", "-q"], "none"),
    "score head": (lambda f, m: ["score", "a", "--embedder", "fake", "-q", "--head", f],
                   "head"),
    "eval-classifier": (lambda f, m: ["eval-classifier", f, "--embedder", "fake"], "labelled"),
    "pull-embedder": (lambda f, m: ["pull-embedder", "fake"], "none"),
    "import": (lambda f, m: ["import", f, "--name", "new"], "import"),
    "diff": (lambda f, m: ["diff", "a", "b", "--format", "json"], "none"),
    "diff table": (lambda f, m: ["diff", "a", "b"], "none"),
    "diff correct-with": (lambda f, m: ["diff", "a", "b", "--correct-with", f], "head"),
    "compare": (lambda f, m: ["compare", "a", "b"], "none"),
    "report html": (lambda f, m: ["report", "a", "b"], "none"),
    "report md": (lambda f, m: ["report", "a", "b", "--format", "md"], "none"),
    "report csv": (lambda f, m: ["report", "a", "b", "--format", "csv"], "none"),
    "report file": (lambda f, m: ["report", "a", "-o", f], "report-out"),
    "variants": (lambda f, m: ["variants", "a"], "none"),
    "internals show": (lambda f, m: ["internals", "show", "a"], "none"),
    "review export": (lambda f, m: ["review", "a", "--export", f], "report-out"),
    "review import": (lambda f, m: ["review", "a", "--import", f], "review-csv"),
    "probes import": (lambda f, m: ["probes", "import", f, "--licence", "x", "-o",
                                    f + ".yaml"], "probe-rows"),
}
RUN_FILES = ["manifest.json", "responses.jsonl", "scores.jsonl", "canned.json",
             "scores.meta.json", ".lock.pid"]
GOOD_INPUTS = {
    "models": MODELS,
    "probes": "probes:\n  - {id: p0-en, text: hi, language: en, topic: t, kind: neutral}\n",
    "head": "{}",
    "labelled": '{"response": "I cannot.", "label": "DENIAL"}\n',
    "import": import_lines(2),
    "report-out": "",
    "review-csv": "probe_id,sample,new_label,note\np0-en,0,refusal,x\n",
    "probe-rows": '{"text": "hi", "topic": "t"}\n',
    "none": "",
}
UNSAFE = "\x00\x07\x08\x1b\x7f\x85\x9b\u200b\u200e\u202e\u2028\u2066\ufeff\U000e0041\ud800\r\n"
hostile_text = st.text(st.sampled_from(list(UNSAFE + 'a答"\\{}[]=;@-')) | st.characters(),
                       max_size=16)
wrong_type = st.sampled_from([None, 2**70, -1, 1.5, [], {}, [[[]]], True, float("nan"), float("inf")])


class Hang(BaseException):
    pass


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise Hang()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("property")
    return build_scored_template(base)


def _inject(path: Path, line: int, field: str, value: Any) -> None:
    """Set ``field`` of one JSON line (or of the JSON document) of ``path`` to ``value``."""
    raw = path.read_bytes()
    if path.suffix == ".jsonl":
        lines = raw.splitlines()
        i = line % len(lines)
        obj = json.loads(lines[i])
        obj[field] = value
        lines[i] = json.dumps(obj).encode()
        path.write_bytes(b"\n".join(lines) + b"\n")
    else:
        obj = json.loads(raw)
        if isinstance(obj, dict):
            obj[field] = value
            path.write_text(json.dumps(obj))


FIELDS = {
    "responses.jsonl": ["answer", "topic", "language", "probe_id", "kind", "jurisdiction",
                        "run_id", "sample", "reasoning", "finish_reason"],
    "scores.jsonl": ["label", "flags", "probe_id", "sample", "embedder", "confidence"],
    "manifest.json": ["run_id", "model", "backend", "probes", "fingerprint", "created"],
    "import": ["prompt_id", "prompt", "response", "topic", "model", "language", "sample",
               "jurisdiction", "kind"],
}


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    command=st.sampled_from(sorted(COMMANDS)),
    attack=st.sampled_from(["run-file", "input-file", "field", "import-field"]),
    run_file=st.sampled_from(RUN_FILES),
    kind=st.sampled_from(sorted(BAD_FILES)),
    field_file=st.sampled_from(sorted(f for f in FIELDS if f != "import")),
    field_index=st.integers(0, 20),
    line=st.integers(0, 5),
    value=hostile_text | wrong_type,
)
def test_every_command_on_hostile_inputs(
    template: Path, command: str, attack: str, run_file: str, kind: str, field_file: str,
    field_index: int, line: int, value: Any,
) -> None:
    root = Path(tempfile.mkdtemp(prefix="hostile-"))
    old_env = {k: os.environ.get(k) for k in ("BIASPROBE_OUTPUTS", "BIASPROBE_HOME")}
    old_alarm = signal.signal(signal.SIGALRM, _alarm)
    try:
        outputs = root / "outputs"
        shutil.copytree(template, outputs, symlinks=True)
        victim = root / "victim.txt"
        victim.write_bytes(VICTIM)
        models = root / "models.yaml"
        models.write_text(MODELS)
        argv_of, input_kind = COMMANDS[command]
        inp = root / ("input.jsonl" if input_kind != "report-out" else "report.html")
        if input_kind not in ("none", "report-out"):
            inp.write_text(GOOD_INPUTS[input_kind])
        if attack == "run-file":
            BAD_FILES[kind](outputs / "a" / run_file, victim)
        elif attack == "input-file":
            if input_kind == "models":
                BAD_FILES[kind](models, victim)
            elif input_kind != "none":
                BAD_FILES[kind](inp, victim)
        elif attack == "field":
            fields = FIELDS[field_file]
            _inject(outputs / "a" / field_file, line, fields[field_index % len(fields)], value)
        elif input_kind == "import":
            fields = FIELDS["import"]
            _inject(inp, line, fields[field_index % len(fields)], value)
        os.environ["BIASPROBE_OUTPUTS"] = str(outputs)
        os.environ["BIASPROBE_HOME"] = str(root / "home")
        before = snapshot(outputs)
        outside = sorted(os.listdir(root))
        signal.alarm(120)
        try:
            code, out, err = run_cli(*argv_of(str(inp), str(models)))
        finally:
            signal.alarm(0)
        check_output(code, out, err)
        assert victim.read_bytes() == VICTIM
        created = set(os.listdir(root)) - set(outside)
        assert created <= {"home", "report.html", "input.jsonl.yaml"}, created
        if code != 0:
            assert snapshot(outputs) == before, err
    finally:
        signal.signal(signal.SIGALRM, old_alarm)
        for key, val in old_env.items():
            if val is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = val
        shutil.rmtree(root, ignore_errors=True)
