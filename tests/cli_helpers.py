"""Running the CLI in-process and checking its one-line errors (shared by the CLI tests)."""

from __future__ import annotations

import pytest

from biasprobe.cli import main


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run ``biasprobe ARGS`` in this process; returns (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    code = exc.value.code
    return (code if isinstance(code, int) else 1), out, err


def assert_one_line_error(code: int, err: str, expected: str) -> None:
    """Exit code 2, exactly one ``error: …`` line containing ``expected``, no traceback."""
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.strip() and "%|" not in line]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and expected in lines[0], err
    assert "Traceback" not in err
