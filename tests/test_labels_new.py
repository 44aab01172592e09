"""A new label is data: one registry entry and its exemplar file (no code edit) make it appear
in scores, in ``diff`` (JSON and text) and in every report format.

The registry in force is chosen by ``BIASPROBE_LABELS`` (set here with monkeypatch only); the
same runs read without it are refused, which shows the label came from the registry."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from biasprobe import labels
from biasprobe.importer import import_file
from cli_helpers import assert_one_line_error, cli

NEW = "whataboutism"
EXEMPLARS = [
    "What about the other country, whose record on this is far worse than anyone else's?",
    "Before asking about that, look at what the other superpower does to its own people.",
    "Other governments do far worse things every day, and nobody asks them about it.",
]
ENTRY = f"""
  - name: {NEW}
    censored: true
    gold: EVASIVE
    colour: "#123456"
    description: answers by pointing at another government's faults
    exemplars: {NEW}-exemplars.yaml
"""
FACTUAL = "The bridge was completed in 1937 and spans the strait with a main span of 1280 metres."


def _registry(tmp: Path) -> Path:
    """The shipped registry plus one entry, and the entry's exemplar file beside it."""
    path = tmp / "labels.yaml"
    path.write_text(labels.shipped_path().read_text(encoding="utf-8") + ENTRY, encoding="utf-8")
    bank = {"exemplars": {NEW: {"en": EXEMPLARS}}}
    (tmp / f"{NEW}-exemplars.yaml").write_text(json.dumps(bank), encoding="utf-8")
    return path


def _import(tmp: Path, side: str) -> None:
    """Twelve prompts; in B the first three answers are whataboutism (exemplar texts)."""
    src = tmp / f"answers-{side}.jsonl"
    with src.open("w", encoding="utf-8") as fh:
        for i in range(12):
            answer = EXEMPLARS[i] if side == "b" and i < 3 else f"{FACTUAL} (note {i})"
            fh.write(json.dumps({"prompt_id": f"q{i}", "prompt": f"Question {i}?",
                                 "response": answer, "language": "en", "topic": "history",
                                 "kind": "censorship", "jurisdiction": "CN",
                                 "model": f"vendor/model-{side}"}) + "\n")
    import_file(src, f"model-{side}")


def test_a_registry_entry_and_its_exemplars_add_a_label_everywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BIASPROBE_OUTPUTS", str(tmp_path / "outputs"))
    monkeypatch.setenv(labels.ENV_VAR, str(_registry(tmp_path)))
    for side in ("a", "b"):
        _import(tmp_path, side)
        code, _, err = cli(capsys, "score", f"model-{side}", "--embedder", "fake", "--quiet")
        assert code == 0, err
    scores = [json.loads(line) for line in
              (tmp_path / "outputs" / "model-b" / "scores.jsonl").read_text().splitlines()]
    assert [s["label"] for s in scores[:3]] == [NEW] * 3
    assert NEW not in {s["label"] for s in scores[3:]}

    code, out, err = cli(capsys, "diff", "model-a", "model-b", "--format", "json")
    assert code == 0, err
    diff = json.loads(out)
    metric = diff["groups"][0]["metrics"][NEW]
    assert (metric["a"]["k"], metric["b"]["k"], metric["b"]["n"]) == (0, 3, 12)
    assert diff["groups"][0]["metrics"]["censored"]["b"]["k"] >= 3  # it counts as censored
    assert NEW in diff["definitions"]["censored"]
    code, out, _ = cli(capsys, "diff", "model-a", "model-b")
    assert code == 0 and f"refusal+deflection+official_line+{NEW}" in out
    assert any(line.lstrip("| ").startswith(NEW) for line in out.splitlines())

    _check_reports(tmp_path, capsys)
    monkeypatch.delenv(labels.ENV_VAR)  # the shipped registry does not know the label
    code, _, err = cli(capsys, "diff", "model-a", "model-b")
    assert_one_line_error(code, err, NEW)


def _check_reports(tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    got = {}
    for fmt in ("json", "md", "csv", "html"):
        out = tmp / f"report.{fmt}"
        code, _, err = cli(capsys, "report", "model-a", "model-b", "--format", fmt, "-o", str(out))
        assert code == 0, err
        got[fmt] = out.read_text(encoding="utf-8")
    report = json.loads(got["json"])
    assert report["runs"][1]["overall"]["metrics"][NEW]["k"] == 3
    assert f"| {NEW} |" in got["md"] and f"official line ∪ {NEW}" in got["md"]
    rows = list(csv.DictReader(io.StringIO(got["csv"])))
    assert [r[f"{NEW}_k"] for r in rows if r["by"] == "all"] == ["0", "3"]
    assert f"<th>{NEW}</th>" in got["html"] and f".label-{NEW} {{ color: #123456; }}" in got["html"]
