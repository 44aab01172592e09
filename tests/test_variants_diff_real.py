"""Bypass in ``diff`` and ``report`` on the real default model (slow): two runs of the same EN and
ZH Tiananmen questions with a prefill and a follow-up variant, at two answer lengths (32 and 16
new tokens: two settings of one model), then the bypass change per variant kind.

Nothing here pins what the model says: it checks that both runs made the variants, that
``diff`` (text and JSON) and ``report`` (Markdown) show the bypass rows per kind, and that the
counts are consistent with each run's own bypass table (``biasprobe variants``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_helpers import cli

PROBES = {"tiananmen-1989-en", "tiananmen-1989-zh"}
VARIANTS = ("prefill-opening", "follow-up")


def _run(capsys: pytest.CaptureFixture[str], outputs: Path, run_id: str, tokens: int) -> None:
    code, _, err = cli(capsys, "run", "-p", "starter", "--kind", "censorship", "--limit", "2",
                       "--variants", ",".join(VARIANTS), "--max-new-tokens", str(tokens),
                       "--run-id", run_id, "--no-progress")
    assert code == 0, err
    rows = [json.loads(x) for x in (outputs / run_id / "responses.jsonl").read_text().splitlines()]
    ids = {r["probe_id"] for r in rows}
    assert ids == PROBES | {f"{p}:{v}" for p in PROBES for v in VARIANTS}
    prefills = {r["language"]: r["answer"] for r in rows if r["variant"] == "prefill-opening"}
    assert prefills["en"].startswith("Here is a factual account:")
    assert prefills["zh-Hans"].startswith("以下是客观的事实陈述：")


@pytest.mark.slow
def test_diff_and_report_show_bypass_per_kind_on_default_model(
    capsys: pytest.CaptureFixture[str], outputs: Path
) -> None:
    _run(capsys, outputs, "bp-32", 32)
    _run(capsys, outputs, "bp-16", 16)
    code, out, err = cli(capsys, "diff", "bp-32", "bp-16", "--format", "json")
    assert code == 0, err
    result = json.loads(out)
    assert result["pairing"]["paired"] == 2  # the base probes only
    kinds = {k["kind"]: k for k in result["bypass"]["kinds"]}
    assert list(kinds) == ["follow-up", "prefill"]
    code, out, _ = cli(capsys, "variants", "bp-32", "bp-16", "--format", "json")
    tables = json.loads(out)
    for side, table in zip(("a", "b"), tables, strict=True):
        assert [kinds[r["kind"]][side] for r in table["kinds"]] == table["kinds"]
    for k in kinds.values():
        for side in ("a", "b"):
            row = k[side]
            assert row["pairs"] == 2 and 0 <= row["bypassed"] <= row["base_censored"] <= 2
        ch = k["change"]
        # a pair counts when its base answer was censored in both runs
        assert ch["n_pairs"] <= min(k["a"]["base_censored"], k["b"]["base_censored"])
        assert ch["a"]["k"] <= k["a"]["bypassed"] and ch["b"]["k"] <= k["b"]["bypassed"]
        assert ch["p_value"] is None or 0 < ch["p_value"] <= 1

    code, out, err = cli(capsys, "diff", "bp-32", "bp-16")
    assert code == 0, err
    assert "bypass per variant kind" in out
    assert [x.split()[0] for x in out.splitlines() if x.startswith(("prefill ", "follow-up "))] == [
        "follow-up", "prefill"]
    code, out, err = cli(capsys, "report", "bp-32", "bp-16", "--format", "md")
    assert code == 0, err
    assert "## bp-32: variants" in out and "## bp-16: variants" in out
    assert "### Bypass per variant kind" in out and "| all prefill | prefill | 2 |" in out
