"""``biasprobe report``: JSON (golden), HTML (escaped, offline, renders in Chromium), MD, CSV."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from pathlib import Path

import pytest

from biasprobe.importer import import_file
from cli_helpers import cli
from diff_helpers import HOSTILE, check_golden, make_runs

CHROMIUM = Path("/usr/bin/chromium")
NO_CHROMIUM = "needs /usr/bin/chromium (apt-get install -y chromium)"


@pytest.fixture
def runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    monkeypatch.setenv("BIASPROBE_OUTPUTS", str(tmp_path / "outputs"))
    return make_runs(tmp_path)


def test_report_json_golden(runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, *["report", "model-a", "model-b", "--format", "json"])
    assert code == 0
    report = json.loads(out)
    assert [r["run_id"] for r in report["runs"]] == ["model-a", "model-b"]
    assert report["timeline"][0]["flips"] == 15
    assert len(report["diffs"]) == 1 and len(report["diffs"][0]["flips"]) == 15
    assert report["runs"][1]["manifest"]["backend"]["backend"] == "import"
    hm = report["runs"][1]["heatmap"]
    assert hm["topics"] == ["food", "leader-criticism", "tiananmen", "weapons"]
    assert hm["languages"] == ["en", "zh-Hans"]
    assert hm["cells"][2][1]["rate"] == 1.0 and hm["cells"][0][1] is None
    check_golden("report.json", report)


def _html(runs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    out = tmp_path / "report.html"
    code, stdout, _ = cli(capsys, *["report", "model-a", "model-b", "-o", str(out)])
    assert code == 0 and "wrote" in stdout
    return out


def test_html_is_escaped_and_self_contained(
    runs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    html = _html(runs, tmp_path, capsys).read_text(encoding="utf-8")
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "\x1b" not in html and "\\x1b[31mred" in html
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    for needle in ("src=", "<link", "@import", "url(http", "<iframe"):
        assert needle not in html, needle
    # Headline, heatmaps (2), label mix, government bars, timeline: inline SVG.
    assert html.count("<svg") == 5
    for section in ('id="headline"', 'id="heatmap"', 'id="governments"', 'id="timeline"',
                    'id="provenance"', "Flipped prompts (15)", "vendor/model-b"):
        assert section in html, section
    # Both answers of a flipped prompt are shown.
    assert "[complete] answer of model A to tia-05-zh" in html
    assert "[refusal] answer of model B to tia-05-zh" in html


def test_single_run_report_and_formats(
    runs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(capsys, *["report", "model-a", "--format", "json"])
    assert code == 0
    report = json.loads(out)
    assert report["timeline"] is None and report["diffs"] == []
    md = tmp_path / "r.md"
    code, _, _ = cli(capsys, *["report", "model-a", "model-b", "-o", str(md)])
    assert code == 0
    text = md.read_text(encoding="utf-8")
    assert text.startswith("# biasprobe report")
    assert "<script>" not in text and "&lt;script&gt;" in text and "\x1b" not in text
    code, out, _ = cli(capsys, *["report", "model-a", "--format", "csv"])
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows[0]["by"] == "all" and rows[0]["n_total"] == "50"
    assert float(rows[0]["censored_rate"]) == pytest.approx(5 / 50)
    code, _, err = cli(capsys, *["report", "model-a", "--format", "xml"])
    assert code == 2 and "unknown format" in err
    code, _, err = cli(capsys, *["report", "model-a", "-o", str(tmp_path / "no" / "r.html")])
    assert code == 2 and "no such directory" in err


def test_untrusted_metadata_in_csv_and_md(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BIASPROBE_OUTPUTS", str(tmp_path / "outputs"))
    src = tmp_path / "evil.jsonl"
    src.write_text(
        json.dumps({"prompt_id": "p1", "prompt": "q | x", "response": HOSTILE,
                    "topic": "=HYPERLINK(\"http://x\")", "model": "<b>m</b>"}) + "\n",
        encoding="utf-8",
    )
    res = import_file(src, "evil")
    from biasprobe.records import Label, Score

    (res.run_dir / "scores.jsonl").write_text(
        Score(run_id="evil", probe_id="p1", label=Label.refusal, confidence=1.0,
              classifier_version="t", embedder="f", embedder_sha256="0").model_dump_json()
        + "\n",
        encoding="utf-8",
    )
    code, out, _ = cli(capsys, *["report", "evil", "--format", "csv"])
    assert code == 0
    assert "'=HYPERLINK" in out and ",=HYPERLINK" not in out
    code, out, _ = cli(capsys, *["report", "evil", "--format", "md"])
    assert "<b>" not in out and "&lt;b&gt;m&lt;/b&gt;" in out
    code, out, _ = cli(capsys, *["report", "evil", "--format", "html"])
    assert code == 0 and "<b>m</b>" not in out and "&lt;b&gt;m&lt;/b&gt;" in out


@pytest.mark.skipif(not CHROMIUM.exists(), reason=NO_CHROMIUM)
def test_report_renders_in_headless_chromium(
    runs: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    html = _html(runs, tmp_path, capsys)
    shot = tmp_path / "shot.png"
    profile = tmp_path / "chromium-profile"
    subprocess.run(
        [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", f"--user-data-dir={profile}", f"--screenshot={shot}",
         "--window-size=1200,3000", html.resolve().as_uri()],
        check=False, capture_output=True, timeout=120,
    )
    assert shot.exists() and shot.stat().st_size > 20_000
    import matplotlib.image

    img = matplotlib.image.imread(str(shot))[..., :3]
    assert img.shape[0] == 3000 and img.shape[1] == 1200  # tall enough for the warnings above the plots

    def pixels(rgb: str) -> int:
        want = [int(rgb[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        return int((abs(img - want).max(axis=-1) < 0.04).sum())

    # The plots are there: government bars of run B (orange), refusal share (red), and the
    # darkest heatmap cells (100% censored).
    assert pixels("#ff7f0e") > 500
    assert pixels("#c0392b") > 500
    assert pixels("#67000d") > 500


def test_headlines_never_pool_prompt_kinds(
    runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(capsys, *["report", "model-a", "model-b", "--format", "json"])
    assert code == 0
    report = json.loads(out)
    head_a, head_b = (r["headline"] for r in report["runs"])
    # Censorship + mirror prompts only: A refuses 1 of 42, B censors 12 of 42.
    assert (head_a["censorship"]["k"], head_a["censorship"]["n"]) == (1, 42)
    assert (head_b["censorship"]["k"], head_b["censorship"]["n"]) == (12, 42)
    assert head_a["censorship"]["kinds"] == ["censorship", "mirror"]
    assert (head_a["appropriate_refusal"]["k"], head_a["appropriate_refusal"]["n"]) == (4, 4)
    assert head_a["over_refusal"]["n"] == 0 and head_a["over_refusal"]["rate"] is None
    assert (head_b["false_positive"]["k"], head_b["false_positive"]["n"]) == (0, 3)
    # The pooled rate (5 of 50 in A: the safety refusals included) is not the headline.
    assert report["runs"][0]["overall"]["metrics"]["censored"]["k"] == 5
    diff_head = report["diffs"][0]["headline"]["censorship"]
    assert diff_head["n_prompts"] == 42 and diff_head["prompt_change"] == pytest.approx(11 / 42)
    code, html, _ = cli(capsys, *["report", "model-a", "model-b", "--format", "html"])
    assert '<div class="big">2.4%</div>' in html and '<div class="big">28.6%</div>' in html
    assert '<div class="big">10.0%</div>' not in html
    code, md, _ = cli(capsys, *["report", "model-a", "model-b", "--format", "md"])
    assert "2.4% [0–12] n=42" in md
    code, text, _ = cli(capsys, *["compare", "model-a", "model-b"])
    assert "2.4% [0–12] n=42" in text and "28.6% [17–44] n=42" in text
    code, text, _ = cli(capsys, *["diff", "model-a", "model-b"])
    assert "censorship rate" in text.split("by group")[0]


def _control_run(tmp_path: Path, run_id: str, refused: int) -> None:
    """Six neutral English questions, ``refused`` of them labelled refusal, and one answer in a
    hostile language tag (escaped wherever the control table shows it)."""
    from biasprobe.records import Label, Score

    src = tmp_path / f"{run_id}.jsonl"
    rows = [{"prompt_id": f"n{i}", "prompt": f"Neutral {i}?", "response": "Sure.",
             "language": "en", "topic": "food", "kind": "neutral"} for i in range(6)]
    rows.append({"prompt_id": "x", "prompt": "q", "response": "a", "language": "fi",
                 "topic": "food", "kind": "censorship"})
    src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    res = import_file(src, run_id)
    resp = res.run_dir / "responses.jsonl"  # every file in a run folder is untrusted
    resp.write_text(resp.read_text(encoding="utf-8").replace('"fi"', '"<b>zz"'), encoding="utf-8")
    labels = {f"n{i}": Label.refusal if i < refused else Label.complete for i in range(6)}
    labels["x"] = Label.uncertain
    (res.run_dir / "scores.jsonl").write_text(
        "".join(Score(run_id=run_id, probe_id=pid, label=lab, confidence=1.0,
                      classifier_version="t", embedder="f", embedder_sha256="0")
                .model_dump_json() + "\n" for pid, lab in labels.items()),
        encoding="utf-8",
    )


def test_control_check_in_diff_and_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BIASPROBE_OUTPUTS", str(tmp_path / "outputs"))
    _control_run(tmp_path, "ok", refused=0)
    _control_run(tmp_path, "bad", refused=4)
    code, out, _ = cli(capsys, *["diff", "ok", "bad", "--format", "json"])
    assert code == 0
    data = json.loads(out)
    en_a, en_b = (next(lc for lc in data[s]["control_check"]["languages"]
                       if lc["language"] == "en") for s in ("run_a", "run_b"))
    assert en_a["controls"] == {"neutral": 6} and en_a["controls_censored"] == {"neutral": 0}
    assert en_b["controls_censored"] == {"neutral": 4}
    assert data["run_a"]["control_check"]["warnings"] == []
    assert any("67% of neutral" in w for w in data["run_b"]["control_check"]["warnings"])
    code, out, _ = cli(capsys, *["diff", "ok", "bad"])
    assert code == 0
    assert "WARNING: control check of B: en: 67% of neutral" in out
    assert "control check of A" not in out
    assert "4/6 (66.7%)" in out and "0/6 (0.0%)" in out
    code, out, _ = cli(capsys, *["compare", "ok", "bad"])
    assert code == 0 and "WARNING: control check of bad: en: 67% of neutral" in out
    assert "control check of ok" not in out
    code, out, _ = cli(capsys, *["report", "ok", "bad", "--format", "md"])
    assert "> **WARNING:** control check of bad: en: 67% of neutral" in out
    assert "## Control check" in out and "<b>zz" not in out and "&lt;b&gt;zz" in out
    code, out, _ = cli(capsys, *["report", "ok", "bad", "--format", "html"])
    assert code == 0 and 'id="controls"' in out and "<b>zz" not in out
    assert "control check of <code>bad</code>: en: 67% of neutral" in out
    assert "control check of <code>ok</code>" not in out


def test_report_shows_bypass_table_of_a_run_with_variants(
    tmp_path: Path, outputs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from biasprobe.records import Label
    from test_variants import _fake_run, _score

    run_dir = _fake_run(tmp_path, outputs, capsys)
    _score(run_dir, {"tank-man-en": Label.complete})
    code, out, err = cli(capsys, "report", "v", "--format", "json")
    assert code == 0, err
    run = json.loads(out)["runs"][0]
    assert run["responses"] == 2  # the base probes only: variant answers are in no other table
    rows = {r["variant"]: r for r in run["bypass"]["rows"]}
    assert (rows["system-research"]["base_censored"], rows["system-research"]["bypassed"]) == (1, 1)
    assert rows["euphemism-may-35th"]["closed"] == 1
    code, out, _ = cli(capsys, "report", "v", "--format", "md")
    assert "## v: variants" in out and "| system-research | system | 2 | 1 | 1 | 100% |" in out
    code, out, _ = cli(capsys, "report", "v", "--format", "html")
    assert 'id="variants"' in out and "<td>all euphemism</td>" in out
    _control_run(tmp_path, "plain", refused=0)
    code, out, _ = cli(capsys, "report", "plain", "--format", "json")
    assert json.loads(out)["runs"][0]["bypass"] is None
    code, out, _ = cli(capsys, "report", "plain", "--format", "html")
    assert 'id="variants"' not in out
