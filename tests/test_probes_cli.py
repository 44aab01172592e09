"""``biasprobe probes list | validate | stats``: output, exit codes, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from biasprobe.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    code = exc.value.code
    return (code if isinstance(code, int) else 0), out, err


def test_validate_builtin_ok(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "probes", "validate")
    assert code == 0, err
    assert "mirror.yaml" in out and "references" in out
    assert out.strip().splitlines()[-1].startswith("ok:")


def test_validate_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "probes", "validate", "controls", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["ok"] is True and data["files"][0]["count"] > 0


def test_validate_broken_file_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(
        "source: test\nlicence: CC0-1.0\nprobes:\n"
        "  - {id: a-en, pair_id: a, language: en, topic: tibet, kind: censorship,"
        " jurisdiction: CN, text: 'Who is the Dalai Lama?'}\n",
        encoding="utf-8",
    )
    code, _, err = run(capsys, "probes", "validate", str(path))
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: ") and "broken.yaml" in lines[0] and "'a-en'" in lines[0]
    assert "no zh-Hans counterpart" in lines[0]
    assert "Traceback" not in err


def test_validate_non_utf8_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.yaml"
    path.write_bytes(b"probes:\n  - {id: a, text: '\xff\xfe'}\n")
    code, _, err = run(capsys, "probes", "validate", str(path))
    assert code == 2 and err.startswith("error: ") and "not valid UTF-8" in err


def test_stats_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "probes", "stats", "mirror", "controls", "--by", "kind")
    assert code == 0, err
    assert "mirror governments" in out and "8 (CN, GB, IL, IN, RU, SA, TR, US)" in out
    assert "benign-control, neutral, safety-control" in out


def test_stats_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "probes", "stats", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data["by"] == ["kind", "topic", "language", "jurisdiction"]
    assert len(data["summary"]["mirror_governments"]) >= 6
    assert {"kind", "topic", "language", "jurisdiction", "probes"} == set(data["counts"][0])


def test_stats_bad_dimension(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "probes", "stats", "--by", "colour")
    assert code == 2 and "unknown stats dimension 'colour'" in err


def test_list(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "probes", "list", "--format", "json")
    assert code == 0
    names = {row["name"] for row in json.loads(out)}
    assert {"mirror", "controls", "starter"} <= names and "china" not in names
