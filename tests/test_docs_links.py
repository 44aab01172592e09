"""The README and docs/*.md as a newcomer meets them: every relative link reaches a file (and,
for a Markdown file, the heading its anchor names), the quick start's test command is the one CI
runs, and every command and option the README's Commands table names exists in `--help`.

Why: the README was split into the README and docs/*.md; moved sections leave links behind, and
a command table that drifts from the CLI sends new users to options that do not exist."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

from cli_helpers import cli

ROOT = Path(__file__).parent.parent
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
LINK = re.compile(r"\[[^\]\n]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^(```|~~~)")


def prose(text: str) -> str:
    """The text without fenced code blocks and inline code (links there are not links)."""
    out, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line.lstrip()):
            fenced = not fenced
            continue
        if not fenced:
            out.append(re.sub(r"`[^`\n]*`", _code_span, line))
    return "\n".join(out)


def _code_span(m: re.Match[str]) -> str:
    """Inline code is dropped, except as the text of a link: [`code`](target)."""
    line = m.string
    inside_link = line[m.start() - 1:m.start()] == "[" and line[m.end():m.end() + 1] == "]"
    return m.group(0) if inside_link else ""


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = heading.strip().lower().replace("`", "")
    kept = "".join(ch for ch in text if ch in " -_" or unicodedata.category(ch)[0] in "LN")
    return kept.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    out: set[str] = set()
    fenced = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line.lstrip()):
            fenced = not fenced
        elif not fenced and (m := re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)):
            base = slug(m.group(1))
            n = seen.get(base, 0)
            seen[base] = n + 1
            out.add(base if n == 0 else f"{base}-{n}")
    return out


def links(path: Path) -> list[str]:
    return LINK.findall(prose(path.read_text(encoding="utf-8")))


def test_slug_follows_github() -> None:
    assert slug("Optional local judge: `--judge MODEL`") == "optional-local-judge---judge-model"
    assert slug("Serving with llama.cpp") == "serving-with-llamacpp"
    assert slug("Where classifier 0.6.0 stands") == "where-classifier-060-stands"


@pytest.mark.parametrize("doc", [README, *DOCS], ids=lambda p: p.name)
def test_every_relative_link_resolves(doc: Path) -> None:
    bad = []
    for target in links(doc):
        if re.match(r"[a-z]+:", target):
            continue  # http(s), mailto: not checked offline
        path_part, _, anchor = target.partition("#")
        dest = (doc.parent / path_part).resolve() if path_part else doc
        if not dest.exists():
            bad.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            bad.append(f"{target}: no heading with that anchor in {dest.name}")
    assert not bad, f"{doc.name}: " + "; ".join(bad)


def test_docs_are_linked_from_the_readme() -> None:
    linked = {t.partition("#")[0] for t in links(README)}
    assert DOCS, "docs/*.md missing"
    for doc in DOCS:
        assert f"docs/{doc.name}" in linked, f"{doc.name} is not linked from README.md"


def test_readme_test_command_is_the_one_ci_runs() -> None:
    text = README.read_text(encoding="utf-8")
    quick = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert "```bash\n.venv/bin/python -m pytest\n```" in quick
    assert "\n.venv/bin/python -m pytest\n" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def _command_rows() -> list[str]:
    table = README.read_text(encoding="utf-8").split("\n## Commands\n", 1)[1].split("\n## ", 1)[0]
    return [line for line in table.splitlines() if line.startswith("| `biasprobe ")]


def test_commands_table_matches_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, top, _ = cli(capsys, "--help")
    assert code == 0
    listed = set(re.findall(r"^\s*│?\s*([a-z][a-z-]+)\s{2,}", top, re.MULTILINE))
    rows = _command_rows()
    named = {re.match(r"\| `biasprobe ([a-z-]+)", row).group(1) for row in rows}  # type: ignore[union-attr]
    assert named, "no command rows found in the README's Commands table"
    assert named <= listed, f"in the README, not in --help: {sorted(named - listed)}"
    assert listed - {"help"} <= named, f"in --help, not in the README: {sorted(listed - named)}"
    for row in rows:
        cell = row.split("|")[1].strip()
        words = re.match(r"`biasprobe ([a-z-]+)(?: ([a-z]+))?", cell)
        assert words is not None
        cmd = [words.group(1)]
        if words.group(2) and words.group(1) in {"models", "probes", "internals", "schema"}:
            cmd.append(words.group(2))
        code, out, err = cli(capsys, *cmd, "--help")
        assert code == 0, (cmd, err)
        for option in set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", cell)):
            assert option in out, f"README, Commands: `biasprobe {' '.join(cmd)} {option}` not in --help"
