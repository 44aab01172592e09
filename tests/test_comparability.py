"""``diff`` and ``compare`` say what besides the model differs between two runs, and leave out
pairs that ask another question under the same prompt id (:mod:`biasprobe.comparability`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from biasprobe.comparability import setting_differences, settings_warning
from biasprobe.manifest import Manifest
from cli_helpers import cli
from diff_helpers import make_runs, planted

GENERATION = {"max_new_tokens": 96, "temperature": 0.0, "top_p": 1.0, "samples": 1, "seed": 0}
ENTRY = {"system_prompt": None, "chat_template": None,
         "reasoning": {"mode": "auto", "start": "<think>", "end": "</think>"}}


def _manifest(generation: dict[str, object] | None = None, entry: dict[str, object] | None = None,
              dtype: str | None = "float32", backend: str = "transformers") -> Manifest:
    return Manifest.model_validate({
        "run_id": "r",
        "generation": {**GENERATION, **(generation or {})},
        "model": {"name": "m", "entry": {**ENTRY, **(entry or {})}},
        "backend": {"backend": backend, "dtype": dtype},
    })


def test_the_same_settings_give_no_warning() -> None:
    assert setting_differences(_manifest(), _manifest()) == []
    assert settings_warning("a", _manifest(), "b", _manifest()) == []


def test_each_differing_setting_is_named_with_both_values() -> None:
    a = _manifest()
    b = _manifest({"max_new_tokens": 256}, {"system_prompt": "Be \x1b[31mhonest"}, "bfloat16")
    assert setting_differences(a, b) == [
        ("max_new_tokens", "96", "256"),
        ("system_prompt", "null", "Be \\x1b[31mhonest"),  # untrusted: escaped
        ("dtype", "float32", "bfloat16"),
    ]
    (line,) = settings_warning("old", a, "new", b)
    assert line.startswith("old → new: not made with the same settings")
    assert "max_new_tokens 96 → 256" in line and "dtype float32 → bfloat16" in line
    assert "\x1b" not in line


def test_a_seed_counts_only_when_both_runs_sample() -> None:
    greedy = _manifest({"seed": 1}), _manifest({"seed": 2})
    assert setting_differences(*greedy) == []
    sampled = _manifest({"temperature": 0.7, "seed": 1}), _manifest({"temperature": 0.7, "seed": 2})
    assert setting_differences(*sampled) == [("seed", "1", "2")]


def test_what_a_run_does_not_record_is_not_compared() -> None:
    imported = Manifest.model_validate({"run_id": "i", "model": {"name": "x", "source": "import"}})
    assert setting_differences(_manifest(), imported) == []
    assert setting_differences(imported, imported) == []


@pytest.fixture
def runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    monkeypatch.setenv("BIASPROBE_OUTPUTS", str(tmp_path / "outputs"))
    return make_runs(tmp_path)


def _edit_manifest(run_dir: Path, **fields: object) -> None:
    path = run_dir / "manifest.json"
    data = json.loads(path.read_text())
    data.update(fields)
    path.write_text(json.dumps(data))


def _reword(run_dir: Path, probe_ids: set[str]) -> None:
    """Run B asked these prompts in other words (the probe set was edited)."""
    path = run_dir / "responses.jsonl"
    lines = []
    for line in path.read_text().splitlines():
        rec = json.loads(line)
        if rec["probe_id"] in probe_ids:
            rec["probe_text"] = "Reworded: " + rec["probe_text"]
        lines.append(json.dumps(rec, ensure_ascii=False))
    path.write_text("\n".join(lines) + "\n")


def test_pairs_with_another_question_are_left_out(
    runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    flipped = sorted(p.prompt_id for p in planted() if p.label_a != p.label_b)
    _reword(runs[1], set(flipped[:3]))
    code, out, err = cli(capsys, "diff", "model-a", "model-b", "--format", "json")
    assert code == 0, err
    result = json.loads(out)
    assert result["pairing"]["paired"] == 47 and result["pairing"]["other_question"] == 3
    assert {f["probe_id"] for f in result["flips"]}.isdisjoint(flipped[:3])
    assert len(result["flips"]) == 12
    (warning,) = [w for w in result["warnings"] if "another text" in w]
    assert "3 prompt(s)" in warning and flipped[0] in warning
    code, out, _ = cli(capsys, "diff", "model-a", "model-b")
    assert "another question under the same id: 3" in out and "another text" in out


def test_settings_warning_in_every_diff_and_compare_output(
    runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for run_dir, tokens in zip(runs, (96, 512), strict=True):
        _edit_manifest(run_dir, generation={**GENERATION, "max_new_tokens": tokens})
    code, out, _ = cli(capsys, "diff", "model-a", "model-b", "--format", "json")
    assert code == 0
    assert any("max_new_tokens 96 → 512" in w for w in json.loads(out)["warnings"])
    assert "max_new_tokens 96 → 512" in cli(capsys, "diff", "model-a", "model-b")[1]
    code, out, _ = cli(capsys, "compare", "model-a", "model-b", "--format", "json")
    assert code == 0 and any("max_new_tokens 96 → 512" in w for w in json.loads(out)["warnings"])
    for fmt in ("md", "html"):
        dest = tmp_path / f"r.{fmt}"
        code, _, err = cli(capsys, "report", "model-a", "model-b", "-o", str(dest))
        assert code == 0, err
        assert "96 → 512" in dest.read_text(encoding="utf-8"), fmt  # md escapes the _


def test_no_warning_when_only_the_model_differs(
    runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    for run_dir in runs:
        _edit_manifest(run_dir, generation=GENERATION)
    result = json.loads(cli(capsys, "diff", "model-a", "model-b", "--format", "json")[1])
    assert result["warnings"] == [] and result["pairing"]["other_question"] == 0


def test_an_interrupted_run_is_named_in_every_output(
    runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = json.loads((runs[1] / "manifest.json").read_text())
    for key in ("status", "completed", "finished"):
        data.pop(key, None)
    (runs[1] / "manifest.json").write_text(json.dumps(data))
    expected = "model-b: not complete (50 answers"
    for command in ("diff", "compare"):
        code, out, _ = cli(capsys, command, "model-a", "model-b", "--format", "json")
        assert code == 0
        assert [w for w in json.loads(out)["warnings"] if "not complete" in w] == [
            next(w for w in json.loads(out)["warnings"] if w.startswith(expected))
        ], command
    dest = tmp_path / "r.html"
    assert cli(capsys, "report", "model-a", "model-b", "-o", str(dest))[0] == 0
    assert expected in dest.read_text(encoding="utf-8")
    # a completed run carries no such warning
    result = json.loads(cli(capsys, "diff", "model-a", "model-a", "--format", "json")[1])
    assert not any("not complete" in w for w in result["warnings"])


def test_a_reworded_question_is_left_out_of_the_language_change() -> None:
    """The change of the Chinese-minus-English gap pairs question pairs across the runs by
    pair id; a pair whose English or Chinese text changed is another question in B."""
    from biasprobe.diff import Item, ScoredRun, _asymmetry_change, _Units, asymmetry

    def run(name: str, reworded: set[str]) -> ScoredRun:
        items = [Item(probe_id=f"q{i}-{lang}", sample=0, language=lang, topic="t",
                      jurisdiction=None, kind="censorship", pair_id=f"q{i}",
                      prompt=("Reworded " if f"q{i}-{lang}" in reworded else "") + f"q{i}-{lang}",
                      answer="", label="refusal" if lang != "en" else "complete", slant=None)
                 for i in range(6) for lang in ("en", "zh-Hans")]
        return ScoredRun(name, Path("."), Manifest(run_id=name), {i.key: i for i in items}, ("t",))

    a, b = run("a", set()), run("b", {"q0-zh-Hans", "q1-en"})
    change = _asymmetry_change(_Units.of(a), _Units.of(b), asymmetry(a), asymmetry(b)).language
    assert change.paired_units == 4
    same = _asymmetry_change(_Units.of(a), _Units.of(a), asymmetry(a), asymmetry(a)).language
    assert same.paired_units == 6
