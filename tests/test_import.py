"""``biasprobe import``: validation by line number, all-or-nothing, a normal run directory."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from biasprobe.cli import main
from biasprobe.importer import ImportFileError, import_file
from biasprobe.store import read_manifest, read_responses


@pytest.fixture
def outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    out = tmp_path / "outputs"
    monkeypatch.setenv("BIASPROBE_OUTPUTS", str(out))
    return out


def write(path: Path, lines: list[object]) -> Path:
    path.write_text(
        "".join((x if isinstance(x, str) else json.dumps(x, ensure_ascii=False)) + "\n"
                for x in lines),
        encoding="utf-8",
    )
    return path


GOOD = [
    {"prompt_id": "tia-en", "prompt": "What happened at Tiananmen?", "response": "I can't.",
     "language": "en", "topic": "tiananmen", "jurisdiction": "CN", "kind": "censorship",
     "model": "m/v1", "pair_id": "tia"},
    {"prompt_id": "tia-zh", "prompt": "天安门发生了什么？", "response": "对不起。",
     "reasoning": "think", "language": "zh-Hans", "topic": "tiananmen", "jurisdiction": "CN",
     "kind": "censorship", "model": "m/v1", "pair_id": "tia"},
    {"prompt_id": "tia-zh", "prompt": "天安门发生了什么？", "response": "换个话题吧。",
     "language": "zh-Hans", "topic": "tiananmen", "jurisdiction": "CN", "kind": "censorship",
     "model": "m/v1", "pair_id": "tia", "sample": 1},
    {"prompt_id": "bread", "prompt": "How do I bake bread?", "response": ""},
]


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


def test_import_makes_a_normal_run(tmp_path: Path, outputs: Path) -> None:
    src = write(tmp_path / "in.jsonl", [*GOOD, ""])  # a trailing blank line is fine
    res = import_file(src, "imported-v1")
    assert res.run_dir == outputs / "imported-v1"
    assert (res.responses, res.prompts, res.model) == (4, 3, "m/v1")
    man = read_manifest(res.run_dir)
    sha = hashlib.sha256(src.read_bytes()).hexdigest()
    assert man["run_id"] == "imported-v1"
    assert man["backend"]["backend"] == "import"
    assert man["source"]["sha256"] == sha
    assert man["fingerprint"]["source_sha256"] == sha
    responses = read_responses(res.run_dir)
    assert [(r.probe_id, r.sample) for r in responses] == [
        ("tia-en", 0), ("tia-zh", 0), ("tia-zh", 1), ("bread", 0)
    ]
    zh = responses[1]
    assert zh.prompt == zh.probe_text == "天安门发生了什么？"
    assert (zh.answer, zh.reasoning, zh.language, zh.pair_id) == ("对不起。", "think", "zh-Hans",
                                                                  "tia")
    bread = responses[3]
    assert (bread.language, bread.topic, bread.kind, bread.answer) == ("und", "unknown",
                                                                      "neutral", "")
    # No lock or temporary directory left behind.
    assert sorted(p.name for p in outputs.iterdir()) == ["imported-v1"]
    assert not (res.run_dir / ".lock").exists()


def test_bad_lines_reported_by_number_and_nothing_written(
    tmp_path: Path, outputs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines: list[object] = [
        GOOD[0],
        {"prompt_id": "x", "prompt": "p"},  # 2: no response
        GOOD[3],
        {**GOOD[3], "prompt_id": "y", "language": "xx-bad"},  # 4: bad language
        "{not json",  # 5
        {**GOOD[3], "prompt_id": "z", "respnse": "typo"},  # 6: unknown field
        {**GOOD[3], "prompt_id": "../etc", "sample": 0},  # 7: bad id
        {**GOOD[3], "prompt_id": "w", "sample": -1},  # 8: bad sample
        GOOD[0],  # 9: duplicate of line 1
    ]
    src = write(tmp_path / "bad.jsonl", lines)
    code, out, err = run_cli(["import", str(src), "--name", "bad"], capsys)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err
    for n in (2, 4, 5):
        assert f"line {n}:" in err
    assert "7 bad lines" in err and "2 more" in err
    assert "missing 'response'" in err and "xx-bad" in err
    assert not outputs.exists() or list(outputs.iterdir()) == []

    with pytest.raises(ImportFileError) as exc:
        import_file(src, "bad")
    for n in (6, 7, 8, 9):
        assert f"line {n}:" in str(exc.value) or "more" in str(exc.value)


@pytest.mark.parametrize(
    ("bad", "needle"),
    [
        ({**GOOD[1], "sample": 5, "model": "other"}, "import one model per run"),
        ({**GOOD[2], "sample": 2, "topic": "other"}, "different topic"),
        ({**GOOD[3], "prompt_id": "j", "jurisdiction": "china"}, "ISO 3166-1"),
        ({**GOOD[3], "prompt_id": "k", "kind": "politics"}, "kind 'politics'"),
        ({**GOOD[3], "prompt_id": "s", "sample": True}, "'sample' must be an integer"),
        ({**GOOD[3], "prompt_id": "t", "response": 3}, "'response' must be a string"),
        ({**GOOD[3], "prompt_id": "e", "prompt": "  "}, "'prompt' is empty"),
        ([1, 2], "not a JSON object"),
    ],
)
def test_each_rule_names_the_line(
    tmp_path: Path, outputs: Path, bad: object, needle: str
) -> None:
    src = write(tmp_path / "in.jsonl", [*GOOD, bad])
    with pytest.raises(ImportFileError) as exc:
        import_file(src, "r")
    assert "line 5:" in str(exc.value) and needle in str(exc.value)
    assert not (outputs / "r").exists()


def test_not_utf8_empty_missing(tmp_path: Path, outputs: Path) -> None:
    src = tmp_path / "latin1.jsonl"
    src.write_bytes(json.dumps(GOOD[0]).encode() + b"\n" + b'{"prompt_id": "\xff"}\n')
    with pytest.raises(ImportFileError, match="line 2: not valid UTF-8"):
        import_file(src, "r")
    empty = write(tmp_path / "empty.jsonl", [""])
    with pytest.raises(ImportFileError, match="no records"):
        import_file(empty, "r")
    with pytest.raises(ImportFileError, match="file not found"):
        import_file(tmp_path / "nope.jsonl", "r")


def test_run_name_checked_and_existing_run_refused(
    tmp_path: Path, outputs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = write(tmp_path / "in.jsonl", GOOD)
    code, _, err = run_cli(["import", str(src), "--name", "../escape"], capsys)
    assert code == 2 and "invalid run id" in err
    assert not (tmp_path / "escape").exists()
    code, out, _ = run_cli(["import", str(src), "--name", "v1"], capsys)
    assert code == 0 and "imported 4 responses" in out and "biasprobe score v1" in out
    before = (outputs / "v1" / "responses.jsonl").read_bytes()
    code, _, err = run_cli(["import", str(src), "--name", "v1"], capsys)
    assert code == 2 and "already exists" in err
    assert (outputs / "v1" / "responses.jsonl").read_bytes() == before


def test_failed_write_leaves_nothing(
    tmp_path: Path, outputs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from biasprobe.store import RunStore

    def boom(self: RunStore, records: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(RunStore, "append", boom)
    src = write(tmp_path / "in.jsonl", GOOD)
    with pytest.raises(ImportFileError, match=r"disk full.*nothing imported"):
        import_file(src, "v1")
    assert list(outputs.iterdir()) == []


def test_inline_think_blocks_are_split_from_the_answer(tmp_path: Path, outputs: Path) -> None:
    """API dumps of reasoning models carry the trace inline; the classifier must see the answer."""
    base = {"prompt": "Critique the Great Firewall.", "language": "en"}
    lines = [
        {**base, "prompt_id": "kimi", "response": "◁think▷Okay, the user asks◁/think▷The firewall blocks…"},
        {**base, "prompt_id": "r1", "response": "<think>\nplan\n</think>\n\nAnswer."},
        {**base, "prompt_id": "opened", "response": "the template opened it</think>Answer two."},
        {**base, "prompt_id": "cut", "response": "<think>never closed, out of tokens"},
        {**base, "prompt_id": "given", "response": "<think>kept</think>as is", "reasoning": "own"},
        {**base, "prompt_id": "plain", "response": "  No markers, <think> mid-text. "},
    ]
    res = import_file(write(tmp_path / "in.jsonl", lines), "thinks")
    got = {r.probe_id: (r.answer, r.reasoning, r.think_state.value) for r in read_responses(res.run_dir)}
    assert got == {
        "kimi": ("The firewall blocks…", "Okay, the user asks", "complete"),
        "r1": ("Answer.", "plan", "complete"),
        "opened": ("Answer two.", "the template opened it", "complete"),
        "cut": ("", "never closed, out of tokens", "truncated"),
        "given": ("<think>kept</think>as is", "own", "none"),
        "plain": ("  No markers, <think> mid-text. ", None, "none"),
    }
