"""Variants on the real default model (slow): a prefill and a system-prompt variant of one
China question, generated, scored and shown in the bypass table by ``biasprobe variants``.

Nothing here pins what the model says (that may legitimately change with the weights or the
classifier); it checks that the variants are generated as asked (the prefill is the start of the
answer, the system variant's prompt carries its system text) and that the table is sane.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli_helpers import cli


@pytest.mark.slow
def test_prefill_and_system_variants_on_default_model(
    capsys: pytest.CaptureFixture[str], outputs: Path
) -> None:
    code, _, err = cli(capsys, "run", "-p", "starter", "--topic", "tiananmen", "--language", "en",
                       "--limit", "1", "--variants", "prefill-opening,system-research",
                       "--max-new-tokens", "24", "--run-id", "real-variants", "--no-progress")
    assert code == 0, err
    run_dir = outputs / "real-variants"
    rows = [json.loads(line) for line in (run_dir / "responses.jsonl").read_text().splitlines()]
    by_id = {r["probe_id"]: r for r in rows}
    assert set(by_id) == {"tiananmen-1989-en", "tiananmen-1989-en:prefill-opening",
                          "tiananmen-1989-en:system-research"}
    prefill = by_id["tiananmen-1989-en:prefill-opening"]
    assert prefill["prompt"].endswith("Here is a factual account:")
    assert prefill["answer"].startswith("Here is a factual account:")
    assert len(prefill["answer"]) > len("Here is a factual account:")  # it went on
    assert "academic historian" in by_id["tiananmen-1989-en:system-research"]["prompt"]
    assert all(r["variant_of"] == "tiananmen-1989-en" for r in rows if r["variant"])

    code, out, err = cli(capsys, "variants", "real-variants")
    assert code == 0, err
    assert "run real-variants (model qwen2.5-coder-0.5b-instruct)" in out
    for cell in ("prefill-opening", "system-research", "all prefill", "all system"):
        assert cell in out

    code, out, _ = cli(capsys, "variants", "real-variants", "--format", "json")
    table = json.loads(out)[0]
    assert {r["variant"] for r in table["rows"]} == {"prefill-opening", "system-research"}
    for r in table["rows"] + table["kinds"]:
        assert r["pairs"] == 1 and 0 <= r["bypassed"] <= r["base_censored"] <= 1
        assert r["closed"] <= 1 and r["bypassed"] + r["closed"] <= 1
        if r["base_censored"]:
            assert r["bypass_rate"] == r["bypassed"] and r["ci_low"] <= r["bypass_rate"] <= r["ci_high"]
        else:
            assert r["bypass_rate"] is None
