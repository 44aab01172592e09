"""``diff`` and ``report`` of two runs made with ``--variants``: bypass rates per variant kind in
each run and their paired change (fake backend; labels set by hand so every count is known)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from biasprobe.records import Label
from cli_helpers import cli
from test_variants import _fake_run, _score

SYSTEM = ("tiananmen-1989-en:system-research", "tank-man-en:system-research")


def _two_runs(tmp_path: Path, outputs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Run v: tank-man's base answer complete, every research answer complete. Run w (the same
    answers): both base answers censored, the research variants refused."""
    run_dir = _fake_run(tmp_path, outputs, capsys)
    shutil.copytree(run_dir, outputs / "w")
    _score(run_dir, {"tank-man-en": Label.complete})
    manifest = json.loads((outputs / "w" / "manifest.json").read_text())
    (outputs / "w" / "manifest.json").write_text(json.dumps({**manifest, "run_id": "w"}))
    _score(outputs / "w", dict.fromkeys(SYSTEM, Label.refusal))


def test_diff_shows_bypass_change_per_kind(
    tmp_path: Path, outputs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _two_runs(tmp_path, outputs, capsys)
    code, out, err = cli(capsys, "diff", "v", "w", "--format", "json")
    assert code == 0, err
    kinds = {k["kind"]: k for k in json.loads(out)["bypass"]["kinds"]}
    assert list(kinds) == ["system", "follow-up", "euphemism"]  # VariantKind order
    system = kinds["system"]
    # each run's own row: v 1 of 1 censored base answers bypassed, w 0 of 2
    assert (system["a"]["base_censored"], system["a"]["bypassed"]) == (1, 1)
    assert (system["b"]["base_censored"], system["b"]["bypassed"]) == (2, 0)
    ch = system["change"]
    # paired: tank-man's base answer is complete in v, so only tiananmen is a pair in both
    assert (ch["n_pairs"], ch["a_yes_b_no"], ch["a_no_b_yes"], ch["n_prompts"]) == (1, 1, 0, 1)
    assert ch["prompt_change"] == -1.0 and ch["p_value"] == 1.0 and ch["p_adjusted"] == 1.0
    follow = kinds["follow-up"]
    assert (follow["a"]["bypassed"], follow["b"]["bypassed"], follow["b"]["base_censored"]) == (1, 2, 2)
    assert follow["change"]["prompt_change"] == 0.0
    assert kinds["euphemism"]["b"]["bypassed"] == 0 and kinds["euphemism"]["a"]["closed"] == 1
    # the variant table of `biasprobe variants` is the same computation
    code, out, _ = cli(capsys, "variants", "v", "w", "--format", "json")
    tables = json.loads(out)
    assert [t["kinds"][0] for t in tables] == [system["a"], system["b"]]

    code, out, err = cli(capsys, "diff", "v", "w")
    assert code == 0, err
    assert "bypass per variant kind" in out
    line = next(x for x in out.splitlines() if x.startswith("system "))
    assert "1/1 100.0%" in line and "0/2 0.0%" in line and "-100.0pp" in line


def test_report_shows_bypass_change_and_each_runs_table(
    tmp_path: Path, outputs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _two_runs(tmp_path, outputs, capsys)
    code, out, err = cli(capsys, "report", "v", "w", "--format", "json")
    assert code == 0, err
    report = json.loads(out)
    assert [r["bypass"]["run_id"] for r in report["runs"]] == ["v", "w"]
    assert report["diffs"][0]["bypass"]["kinds"][0]["kind"] == "system"
    code, out, _ = cli(capsys, "report", "v", "w", "--format", "md")
    assert "### Bypass per variant kind" in out
    assert "| system | 1/1 100.0% [21–100] | 0/2 0.0% [0–66] | 1 |" in out
    code, out, _ = cli(capsys, "report", "v", "w", "--format", "html")
    assert "<h3>Bypass per variant kind</h3>" in out and "<td>follow-up</td>" in out


def _drop_variants(run_dir: Path) -> None:
    path = run_dir / "responses.jsonl"
    lines = [x for x in path.read_text().splitlines() if json.loads(x)["variant_of"] is None]
    path.write_text("\n".join(lines) + "\n")


def test_diff_against_a_run_without_variants(
    tmp_path: Path, outputs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _two_runs(tmp_path, outputs, capsys)
    _drop_variants(outputs / "w")
    code, out, err = cli(capsys, "diff", "v", "w", "--format", "json")
    assert code == 0, err
    kinds = json.loads(out)["bypass"]["kinds"]
    assert [k["kind"] for k in kinds] == ["system", "follow-up", "euphemism"]
    for k in kinds:  # nothing to pair with: each run's rows, no test
        assert k["a"]["pairs"] > 0 and k["b"] is None
        assert k["change"]["n_pairs"] == 0 and k["change"]["p_value"] is None
    code, out, err = cli(capsys, "diff", "v", "w")
    assert code == 0 and "bypass per variant kind" in out


def test_diff_without_variants_has_no_bypass(
    tmp_path: Path, outputs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _two_runs(tmp_path, outputs, capsys)
    for run in ("v", "w"):  # drop the variant answers: only the base probes are left
        _drop_variants(outputs / run)
    code, out, err = cli(capsys, "diff", "v", "w", "--format", "json")
    assert code == 0, err
    assert json.loads(out)["bypass"] is None
    code, out, _ = cli(capsys, "diff", "v", "w")
    assert "bypass per variant kind" not in out


def test_a_reworded_variant_is_left_out_of_the_bypass_change(
    tmp_path: Path, outputs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The bypass change pairs variant answers by id; a variant whose text differs between the
    runs (its template was edited) is another question, left out and named in a warning."""
    _two_runs(tmp_path, outputs, capsys)
    path = outputs / "w" / "responses.jsonl"
    rows = [json.loads(x) for x in path.read_text().splitlines()]
    for r in rows:
        if r["probe_id"] == "tiananmen-1989-en:system-research":
            r["probe_text"] = "Reworded: " + r["probe_text"]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    code, out, err = cli(capsys, "diff", "v", "w", "--format", "json")
    assert code == 0, err
    result = json.loads(out)
    system = next(k for k in result["bypass"]["kinds"] if k["kind"] == "system")
    assert system["change"]["n_pairs"] == 0  # it was the one pair (see the test above)
    (warning,) = [w for w in result["warnings"] if "another text" in w]
    assert "tiananmen-1989-en:system-research" in warning
    # the base prompts are the same question: the label pairing keeps them
    assert result["pairing"]["other_question"] == 0
