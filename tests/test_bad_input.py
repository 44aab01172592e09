"""The bad-input matrix (issue 8): each case gives exactly one ``error: ...`` line, exit code 2,
no traceback, and leaves an existing run byte-identical. Plus property tests of the parsers."""

from __future__ import annotations

import contextlib
import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from biasprobe.errors import ProbeError, RunStoreError
from biasprobe.probes import load_set_file
from biasprobe.records import Response
from biasprobe.store import read_responses
from cli_helpers import assert_one_line_error, cli

KEEP = "keep"
PROBE = "  - {id: a, text: hi, language: en, topic: t, kind: neutral}\n"


def assert_one_error(code: int, err: str, expected: str) -> None:
    assert_one_line_error(code, err, expected)
    line = next(x for x in err.splitlines() if x.startswith("error: "))
    assert len(line) < 600, "the error line should not echo huge input"


@pytest.fixture
def existing(
    capsys: pytest.CaptureFixture[str], fake_models: Path, outputs: Path
) -> dict[str, bytes]:
    """A finished run that every bad command below must leave byte-identical."""
    code, _, err = cli(capsys, "run", "-m", "fake-echo", "--models", str(fake_models),
                       "--no-score", "--no-progress", "--limit", "3", "--run-id", KEEP)
    assert code == 0, err
    run_dir = outputs / KEEP
    return {name: (run_dir / name).read_bytes() for name in ("manifest.json", "responses.jsonl")}


def assert_untouched(outputs: Path, before: dict[str, bytes]) -> None:
    for name, data in before.items():
        assert (outputs / KEEP / name).read_bytes() == data, name


def _write(path: Path, text: str | bytes) -> str:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return str(path)


BAD_MODELS: dict[str, tuple[str | bytes, str]] = {
    "malformed-yaml": ("models: [\n  - name: a\n", "malformed YAML"),
    "unknown-key": ("models:\n  - name: a\n    source: {path: /x}\n    colour: red\n",
                    "unknown field"),
    "wrong-type": ("models:\n  - name: fake-echo\n    backend: fake\n    source: {fake: []}\n"
                   "    generation: {temperature: hot}\n", "temperature"),
    "wrong-type-batch": ("models:\n  - name: fake-echo\n    backend: fake\n    source: {fake: []}\n"
                         "    batch_size: lots\n", "batch_size"),
    "not-a-mapping": ("- just\n- a list\n", ""),
    "non-utf8": (b"models:\n  - name: caf\xe9\n", "not valid UTF-8"),
}


@pytest.mark.parametrize("case", sorted(BAD_MODELS))
def test_bad_models_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, outputs: Path,
    existing: dict[str, bytes], case: str,
) -> None:
    text, expected = BAD_MODELS[case]
    path = _write(tmp_path / "bad-models.yaml", text)
    code, _, err = cli(capsys, "run", "-m", "fake-echo", "--models", path, "--no-score",
                       "--run-id", KEEP)
    assert_one_error(code, err, expected)
    assert_untouched(outputs, existing)


BAD_PROBES: dict[str, tuple[str | bytes, str]] = {
    "malformed-yaml": ("probes:\n  - {id: a, text: 'unclosed\n", "malformed YAML"),
    "unknown-key": ("probes:\n  - {id: a, text: hi, language: en, topic: t, kind: neutral, "
                    "colour: red}\n", "unknown field"),
    "wrong-type": ("probes:\n  - {id: a, text: [1, 2], language: en, topic: t, kind: neutral}\n",
                   "text"),
    "wrong-kind": ("probes:\n  - {id: a, text: hi, language: en, topic: t, kind: spicy}\n",
                   "kind"),
    "empty-file": ("", "empty"),
    "only-comments": ("# nothing here\n", "expected a mapping"),
    "no-probes": ("name: x\nprobes: []\n", "no probes"),
    "duplicate-ids": ("probes:\n" + PROBE + PROBE, "duplicate probe ids: a"),
    "invalid-language": ("probes:\n  - {id: a, text: hi, language: english, topic: t, "
                         "kind: neutral}\n", "invalid language code"),
    "unfilled-placeholder": (
        "governments:\n  US:\n    en: {country: the United States}\n"
        "templates:\n  - id: t1\n    topic: press-freedom\n"
        "    text: {en: \"Assess {leader}'s record in {country}.\"}\n",
        "unfilled placeholder {leader}"),
    "non-utf8": (b"probes:\n  - {id: a, text: \xff\xfe, language: en, topic: t, kind: neutral}\n",
                 "not valid UTF-8"),
    "one-megabyte-probe": ("probes:\n  - {id: a, text: '" + "x" * (1 << 20) + "', language: en, "
                           "topic: t, kind: neutral}\n", "the limit is"),
    "traversal-set-name": ("name: ../../evil\nprobes:\n" + PROBE, "invalid run id"),
    "not-a-mapping": ("- a\n- b\n", "expected a mapping"),
}


@pytest.mark.parametrize("case", sorted(BAD_PROBES))
def test_bad_probe_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, fake_models: Path, outputs: Path,
    existing: dict[str, bytes], case: str,
) -> None:
    text, expected = BAD_PROBES[case]
    path = _write(tmp_path / "bad-probes.yaml", text)
    extra = [] if case == "traversal-set-name" else ["--run-id", KEEP]
    code, _, err = cli(capsys, "run", "-m", "fake-echo", "--models", str(fake_models),
                       "-p", path, "--no-score", "--no-progress", *extra)
    assert_one_error(code, err, expected)
    assert_untouched(outputs, existing)
    assert sorted(p.name for p in outputs.iterdir()) == [KEEP]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["-m", "gpt-17"], "unknown model 'gpt-17'"),
        (["-p", "no-such-set"], "unknown probe set"),
        (["-p", "missing/dir/set.yaml"], "probe file not found"),
        (["--language", "klingon-xx-yy"], "invalid language code"),
        (["--kind", "spicy"], "unknown probe kind"),
        (["--topic", "no-such-topic"], "unknown topic"),
        (["--max-new-tokens", "7"], "different settings"),  # resume with other settings
        (["--temperature", "9"], "temperature"),
    ],
)
def test_bad_run_options(
    capsys: pytest.CaptureFixture[str], fake_models: Path, outputs: Path,
    existing: dict[str, bytes], args: list[str], expected: str,
) -> None:
    base = ["run", "--models", str(fake_models), "--no-score", "--no-progress",
            "--limit", "3", "--run-id", KEEP]
    if "-m" not in args:
        base += ["-m", "fake-echo"]
    code, _, err = cli(capsys, *base, *args)
    assert_one_error(code, err, expected)
    assert_untouched(outputs, existing)


@pytest.mark.parametrize("run", ["no-such-run", "/no/such/dir", "../x", "missing/run"])
def test_missing_run_directory(capsys: pytest.CaptureFixture[str], run: str) -> None:
    code, _, err = cli(capsys, "show", run)
    assert_one_error(code, err, "")


def test_corrupt_manifest(
    capsys: pytest.CaptureFixture[str], fake_models: Path, outputs: Path,
    existing: dict[str, bytes],
) -> None:
    (outputs / KEEP / "manifest.json").write_text("{not json")
    existing["manifest.json"] = b"{not json"
    code, _, err = cli(capsys, "show", KEEP)
    assert_one_error(code, err, "corrupt manifest")
    code, _, err = cli(capsys, "run", "-m", "fake-echo", "--models", str(fake_models),
                       "--no-score", "--no-progress", "--limit", "3", "--run-id", KEEP)
    assert_one_error(code, err, "corrupt manifest")
    assert_untouched(outputs, existing)


@pytest.mark.parametrize("garbage", [b"garbage\n", b"[1, 2]\n", b'{"probe_id": 1}\n',
                                     b"\xff\xfe\n", b"1" * 5000 + b"\n", b"[" * 100000 + b"\n"])
def test_corrupt_line_in_the_middle(
    capsys: pytest.CaptureFixture[str], fake_models: Path, outputs: Path,
    existing: dict[str, bytes], garbage: bytes,
) -> None:
    lines = existing["responses.jsonl"].splitlines(keepends=True)
    corrupt = lines[0] + garbage + b"".join(lines[1:])
    (outputs / KEEP / "responses.jsonl").write_bytes(corrupt)
    existing["responses.jsonl"] = corrupt
    code, _, err = cli(capsys, "show", KEEP)
    assert_one_error(code, err, "responses.jsonl:2: ")
    # resuming refuses too, before touching the manifest or the records
    code, _, err = cli(capsys, "run", "-m", "fake-echo", "--models", str(fake_models),
                       "--no-score", "--no-progress", "--limit", "3", "--run-id", KEEP)
    assert_one_error(code, err, "responses.jsonl:2: ")
    assert_untouched(outputs, existing)
    assert not (outputs / KEEP / ".lock.pid").exists()


def test_responses_without_manifest_is_refused(
    capsys: pytest.CaptureFixture[str], fake_models: Path, outputs: Path,
    existing: dict[str, bytes],
) -> None:
    (outputs / KEEP / "manifest.json").unlink()
    del existing["manifest.json"]
    code, _, err = cli(capsys, "run", "-m", "fake-echo", "--models", str(fake_models),
                       "--no-score", "--no-progress", "--limit", "3", "--run-id", KEEP)
    assert_one_error(code, err, "without manifest.json")
    assert_untouched(outputs, existing)


def test_import_with_bad_lines(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                               outputs: Path) -> None:
    good = json.dumps({"prompt_id": "a", "prompt": "q", "response": "r"})
    path = _write(tmp_path / "in.jsonl", good + "\n{broken\n" + good.replace('"a"', '"b"') + "\n")
    code, _, err = cli(capsys, "import", path, "--name", "imported")
    assert_one_error(code, err, "2")
    assert not (outputs / "imported").exists()


def test_error_lines_escape_control_characters(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, fake_models: Path
) -> None:
    """Error messages quote user files; they are printed as one inert line."""
    path = _write(tmp_path / "evil\x1b[2J\nname.yaml", "probes:\n" + PROBE + PROBE)
    code, _, err = cli(capsys, "run", "-m", "fake-echo", "--models", str(fake_models),
                       "-p", path, "--no-score")
    assert_one_error(code, err, "duplicate probe ids")
    assert "\x1b" not in err


# --- property tests of the parsers ------------------------------------------------------------

yaml_like = st.one_of(
    st.text(max_size=300),
    st.lists(
        st.sampled_from(["probes:", "  - ", "id: a", "text: hi", "language: en", "topic: t",
                         "kind: neutral", "{", "}", "[", "]", ": ", "- ", "\n", "  ", "&a", "*a",
                         "!!python/object:os.system", "!!binary", "'", '"', "{x}", "templates:",
                         "governments:", "2020-02-30", "~", "1e400", "\t", "\x00", "\ufeff"]),
        max_size=40,
    ).map("".join),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(yaml_like)
def test_probe_parser_only_raises_probe_error(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.yaml"
        path.write_bytes(text.encode("utf-8", errors="surrogatepass"))
        with contextlib.suppress(ProbeError):
            load_set_file(path)


def _valid_lines(n: int) -> bytes:
    return b"".join(
        Response(run_id="r", probe_id=f"p{i}", probe_text="q", language="en", topic="t",
                 kind="neutral", prompt="p", answer="a ✓ 答", created="now")
        .model_dump_json().encode() + b"\n"
        for i in range(n)
    )


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_jsonl_reader_only_raises_run_store_error(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp)
        (run_dir / "responses.jsonl").write_bytes(data)
        with contextlib.suppress(RunStoreError):
            read_responses(run_dir)


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 5), st.data())
def test_valid_file_with_torn_tail_is_read_not_rejected(n: int, data: st.DataObject) -> None:
    good = _valid_lines(n)
    last = good[:-1].rfind(b"\n") + 1
    cut = data.draw(st.integers(2, len(good) - last))  # keep at least the '{' … cut mid-record
    torn = good[: len(good) - cut]
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp)
        (run_dir / "responses.jsonl").write_bytes(torn)
        records = read_responses(run_dir)
        assert len(records) == n - 1
        assert (run_dir / "responses.jsonl").read_bytes() == torn  # readers never write


def _rewrite_line(path: Path, index: int = 0, **fields: object) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[index] = json.dumps({**json.loads(lines[index]), **fields}) + "\n"
    path.write_text("".join(lines), encoding="utf-8")


@pytest.mark.parametrize(
    ("corrupt", "expected"),
    [
        # scores.jsonl copied from another run folder: its labels are not this run's answers'
        ("copy-scores", "scores.jsonl:1: run_id 'a' is not this run's ('b')"),
        ("mixed-responses", "run_id 'a' is not this run's ('b'): a line of another run"),
        ("slant", "scores.jsonl:1: invalid score record: slant"),
        ("confidence", "scores.jsonl:1: invalid score record: confidence"),
        ("newer-line", "responses.jsonl:1: invalid response record: schema_version"),
    ],
)
def test_lines_a_run_cannot_have_are_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    corrupt: str, expected: str,
) -> None:
    from hostile_helpers import make_scored_runs, snapshot

    outputs = tmp_path / "outputs"
    monkeypatch.setenv("BIASPROBE_OUTPUTS", str(outputs))
    make_scored_runs(outputs, tmp_path)
    b = outputs / "b"
    if corrupt == "copy-scores":
        (b / "scores.jsonl").write_bytes((outputs / "a" / "scores.jsonl").read_bytes())
    elif corrupt == "mixed-responses":
        _rewrite_line(b / "responses.jsonl", -1, run_id="a")
    elif corrupt == "slant":
        _rewrite_line(b / "scores.jsonl", slant=1e300)
    elif corrupt == "confidence":
        _rewrite_line(b / "scores.jsonl", confidence=5.0)
    else:
        _rewrite_line(b / "responses.jsonl", schema_version=99)
    before = snapshot(outputs)
    for args in (("show", "b"), ("diff", "a", "b"), ("report", "a", "b", "--format", "md")):
        code, _, err = cli(capsys, *args)
        assert_one_error(code, err, expected)
    assert snapshot(outputs) == before


def test_show_width_must_be_positive(capsys: pytest.CaptureFixture[str], outputs: Path) -> None:
    code, _, err = cli(capsys, "show", KEEP, "--width", "-5")
    assert code == 2 and "--width" in err
