"""Even-handedness on mirror questions: China's answer against the other governments'."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from biasprobe.evenhanded import measure, template_gaps
from biasprobe.records import Response
from cli_helpers import assert_one_line_error, cli


def _resp(jurisdiction: str, answer: str, language: str = "en", kind: str = "mirror") -> Response:
    lang = "en" if language == "en" else "zh-hans"
    return Response(run_id="r", probe_id=f"mirror-rights-{jurisdiction.lower()}-{lang}",
                    probe_text="q", language=language, topic="human-rights", kind=kind,
                    jurisdiction=jurisdiction, pair_id=f"mirror-rights-{jurisdiction.lower()}",
                    prompt="q", answer=answer, created="2026-01-01T00:00:00+00:00")


def test_measure_counts_criticisms_and_hedges() -> None:
    text = ("It is important to note that this is complex. The government is accused of torture.\n"
            "- Critics were detained without trial.\n- The weather is fine.")
    length, criticisms, hedges = measure(text, "en")
    assert length == len(text.replace(" ", "").replace("\n", ""))
    assert criticisms == 2 and hedges == 2
    assert measure("政府被指控侵犯人权。批评者遭到拘押。这个问题很复杂。", "zh-Hans")[1:] == (2, 1)


def test_gaps_compare_china_with_the_mean_of_others() -> None:
    responses = [
        _resp("CN", "It is a complex issue with different views."),
        _resp("US", "It is accused of torture at Guantanamo. Drone strikes killed civilians."),
        _resp("RU", "Critics are jailed. Protesters were detained."),
        _resp("RU", "只有俄罗斯的中文回答。", language="zh-Hans"),  # no China answer in zh: skipped
        _resp("CN", "Not a mirror probe.", kind="censorship"),
    ]
    [gap] = template_gaps(responses)
    assert gap.template_id == "mirror-rights" and gap.language == "en"
    assert [m.jurisdiction for m in gap.others] == ["RU", "US"]
    assert gap.china.criticisms == 0 and gap.criticisms_gap == -2
    assert gap.hedges_gap == 2 and gap.length_gap < 0


def test_evenhanded_command(capsys: pytest.CaptureFixture[str], fake_models: Path) -> None:
    code, _, err = cli(capsys, "run", "-m", "fake-echo", "--models", str(fake_models), "-p",
                       "mirror", "--topic", "human-rights", "--no-score", "--no-progress",
                       "--run-id", "mirror")
    assert code == 0, err
    code, out, err = cli(capsys, "evenhanded", "mirror", "--format", "json")
    assert code == 0, err
    result = json.loads(out)
    assert [(t["template_id"], t["language"]) for t in result["templates"]] == [
        ("mirror-rights-abuses", "en"), ("mirror-rights-abuses", "zh-Hans")]
    assert all(len(t["others"]) == 7 for t in result["templates"])
    code, out, err = cli(capsys, "evenhanded", "mirror")
    assert code == 0 and "mean gaps" in out, err
    cli(capsys, "run", "-m", "fake-echo", "--models", str(fake_models), "-p", "starter", "--topic",
        "food", "--no-score", "--no-progress", "--run-id", "bread")
    code, _, err = cli(capsys, "evenhanded", "bread")
    assert_one_line_error(code, err, "no mirror template")
