"""The command line: exit codes, one-line errors, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cli_helpers import assert_one_line_error, cli


def test_help_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "--help")
    assert code == 0
    for command in ["run", "show", "pull", "models", "probes"]:
        assert command in out
    code, out, _ = cli(capsys, "--version")
    assert code == 0 and out.startswith("biasprobe ")


def test_help_does_not_import_torch() -> None:
    code = "import sys; from biasprobe.cli import app; assert 'torch' not in sys.modules; " \
           "assert 'transformers' not in sys.modules; assert 'sentence_transformers' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_models_list(capsys: pytest.CaptureFixture[str], fake_models: Path) -> None:
    code, out, _ = cli(capsys, "models", "list", "--models", str(fake_models), "--format", "json")
    rows = json.loads(out)
    assert code == 0
    assert {"qwen2.5-coder-0.5b-instruct", "fake-echo"} <= {r["name"] for r in rows}


def test_probes_list(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "probes", "list")
    assert code == 0 and "starter" in out


def test_run_and_show_with_fake_model(
    capsys: pytest.CaptureFixture[str], fake_models: Path, outputs: Path
) -> None:
    code, _, err = cli(capsys, "run", "-m", "fake-censor", "--models", str(fake_models),
                       "--no-score", "--no-progress", "--language", "en")
    assert code == 0, err
    run_dir = outputs / "fake-censor--starter"
    lines = (run_dir / "responses.jsonl").read_text().splitlines()
    assert len(lines) == 11
    code, out, _ = cli(capsys, "show", "fake-censor--starter")
    assert code == 0 and "I'm sorry, but I can't discuss that." in out
    code, out, _ = cli(capsys, "show", str(run_dir), "--format", "json")
    assert json.loads(out)["header"]["responses"] == 11
    # Same command again: nothing left to do, nothing duplicated.
    code, _, err = cli(capsys, "run", "-m", "fake-censor", "--models", str(fake_models),
                       "--no-score", "--no-progress", "--language", "en")
    assert code == 0 and "0 new" in err
    assert len((run_dir / "responses.jsonl").read_text().splitlines()) == 11


def test_show_escapes_terminal_sequences(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    models = tmp_path / "m.yaml"
    models.write_text("models:\n  - name: evil\n    backend: fake\n    source:\n      fake: "
                      "['\\x1b[2J\\x1b[31mred <script>alert(1)</script>']\n")
    code, _, err = cli(capsys, "run", "-m", "evil", "--models", str(models), "--no-score",
                       "--no-progress", "--limit", "1")
    assert code == 0, err
    code, out, _ = cli(capsys, "show", "evil--starter")
    assert code == 0 and "\x1b" not in out and "\\x1b[31mred" in out


BAD_MODELS = {
    "malformed": ("models: [\n", "malformed YAML"),
    "unknown-field": ("models:\n  - name: a\n    source: {path: /x}\n    colour: red\n",
                      "unknown field"),
}


@pytest.mark.parametrize("case", sorted(BAD_MODELS))
def test_bad_models_file(capsys: pytest.CaptureFixture[str], tmp_path: Path, case: str) -> None:
    text, expected = BAD_MODELS[case]
    path = tmp_path / "models.yaml"
    path.write_text(text)
    code, _, err = cli(capsys, "run", "--models", str(path), "--no-score")
    assert_one_line_error(code, err, expected)


def test_unknown_model(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "run", "-m", "gpt-17", "--no-score")
    assert_one_line_error(code, err, "unknown model 'gpt-17'")


def test_missing_probe_file(capsys: pytest.CaptureFixture[str], fake_models: Path) -> None:
    code, _, err = cli(capsys, "run", "-m", "fake-echo", "--models", str(fake_models),
                       "-p", "nope/missing.yaml", "--no-score")
    assert_one_line_error(code, err, "probe file not found")


def test_unknown_probe_set(capsys: pytest.CaptureFixture[str], fake_models: Path) -> None:
    code, _, err = cli(capsys, "run", "-m", "fake-echo", "--models", str(fake_models),
                       "-p", "no-such-set", "--no-score")
    assert_one_line_error(code, err, "unknown probe set")


def test_duplicate_probe_ids(
    capsys: pytest.CaptureFixture[str], fake_models: Path, tmp_path: Path
) -> None:
    probes = tmp_path / "dup.yaml"
    item = "  - {id: a, text: hi, language: en, topic: t, kind: neutral}\n"
    probes.write_text("probes:\n" + item + item)
    code, _, err = cli(capsys, "run", "-m", "fake-echo", "--models", str(fake_models),
                       "-p", str(probes), "--no-score")
    assert_one_line_error(code, err, "duplicate probe ids: a")


def test_bad_language_option(capsys: pytest.CaptureFixture[str], fake_models: Path) -> None:
    code, _, err = cli(capsys, "run", "-m", "fake-echo", "--models", str(fake_models),
                       "--language", "chinese", "--no-score")
    assert_one_line_error(code, err, "invalid language code")


def test_usage_error_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "run", "--batch-size", "zero")
    assert code == 2 and "Traceback" not in err


def test_missing_run(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "show", "no-such-run")
    assert_one_line_error(code, err, "not found")


def test_real_subprocess_has_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "m.yaml"
    bad.write_text("models:\n  - name: a\n    source: {path: /x}\n    colour: red\n")
    proc = subprocess.run(
        [sys.executable, "-m", "biasprobe", "models", "list", "--models", str(bad)],
        capture_output=True, text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error: ") and "Traceback" not in proc.stderr
