"""``biasprobe review RUN [RUN_B]``: a terminal UI (works over SSH: plain keys, no mouse) that
shows the answers most worth a human look first and records one-key decisions as overrides;
``--export`` / ``--import`` do the same through a spreadsheet; ``--blind`` reviews a random
sample without showing labels, for the run's blind check (:mod:`biasprobe.blindcheck`).

Only the terminal lives here (rich for drawing, termios cbreak mode for single keys); the order,
the session and the CSV round trip are in :mod:`biasprobe.review`. Everything shown from the run
(prompts, answers, reasoning, exemplars, notes) is untrusted and goes through
:func:`biasprobe.textutil.printable` inside rich ``Text`` objects (no markup is interpreted).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

    from biasprobe.review import ReviewItem, Session

ANSWER_CHARS = 2500
REASONING_CHARS = 1200
KEYS_HELP = ("c complete  r refusal  d deflection  o official_line  u uncertain  "
             "y/enter confirm  n note  s skip  b back  q quit")
BLIND_KEYS_HELP = ("c complete  r refusal  d deflection  o official_line  "
                   "u uncertain (cannot tell)  n note  b back  q quit")


def review_cmd(
    run: str = typer.Argument(..., help="Run to review (id or directory)."),
    run_b: str | None = typer.Argument(
        None, help="A second run (e.g. the next version): answers whose label flipped come first."
    ),
    reviewer: str | None = typer.Option(
        None, "--reviewer", help="Name stored with each decision (default: your login name)."
    ),
    export: Path | None = typer.Option(
        None, "--export", help="Write every answer, in review order, to this CSV and exit."
    ),
    import_file: Path | None = typer.Option(
        None, "--import", help="Read decisions (new_label, note columns) from a filled-in "
        "CSV made by --export; any bad row imports nothing."
    ),
    low_confidence: float = typer.Option(
        0.6, "--low-confidence", min=0.0, max=1.0,
        help="Answers below this classifier confidence come before the rest.",
    ),
    blind: bool = typer.Option(
        False, "--blind", help="Blind review for the run's blind check: answers in a random "
        "order, no label shown, no confirming or skipping (also with --export).",
    ),
    seed: int = typer.Option(
        1, "--seed", min=0, max=2**32 - 1,
        help="Random order of --blind (the same seed samples the same prompts in every run).",
    ),
    languages: list[str] = typer.Option(
        [], "--language", help="With --blind: only answers in this language (repeatable), e.g. "
        "to read more Chinese answers than English ones.",
    ),
    kinds: list[str] = typer.Option(
        [], "--kind", help="With --blind: only answers of this probe kind (repeatable), e.g. "
        "mirror, to read enough of each government's answers; the check then stratifies by kind.",
    ),
    limit: int | None = typer.Option(
        None, "--limit", min=1, help="With --export: only the first N answers (one reading "
        "session's worth; with --blind, the next N of the random order).",
    ),
) -> None:
    """Review a run's labels: the answers most worth a look first; each decision is appended to
    the run's overrides.jsonl (scores.jsonl is never rewritten). With --blind: a random sample,
    labels hidden; `biasprobe show` then prints the blind-corrected censored rates."""
    from biasprobe.errors import BiasprobeError
    from biasprobe.overrides import check_reviewer, default_reviewer
    from biasprobe.review import load_items
    from biasprobe.store import read_manifest, resolve_run_dir

    if export is not None and import_file is not None:
        raise BiasprobeError("use --export or --import, not both")
    if blind and (import_file is not None or run_b is not None):
        raise BiasprobeError("--blind takes one run and no --import (a blind sheet is "
                             "recognised by its blind_seed column: import it without --blind)")
    if (languages or kinds) and not blind:
        raise BiasprobeError(f"{'--language' if languages else '--kind'} goes with --blind")
    if limit is not None and export is None:
        raise BiasprobeError("--limit goes with --export")
    run_dir = resolve_run_dir(run)
    run_id = str(read_manifest(run_dir).get("run_id", run_dir.name))  # untrusted: escape it
    name = check_reviewer(reviewer) if reviewer is not None else default_reviewer()
    if import_file is not None:
        _import(run_dir, import_file, name, run_id)
        return
    other = resolve_run_dir(run_b) if run_b is not None else None
    if blind:
        _blind(run_dir, run_id, name, seed, export, languages, kinds, limit)
        return
    items = load_items(run_dir, other, low_confidence)[:limit]
    if export is not None:
        from biasprobe.report import write_atomic
        from biasprobe.review import export_csv
        from biasprobe.textutil import one_line

        write_atomic(export, export_csv(items, low_confidence))
        typer.echo(f"wrote {len(items)} answers to {export}; fill new_label (and note), then "
                   f"`biasprobe review {one_line(run_id)} --import {export}`")
        return
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise BiasprobeError("review needs a terminal; use --export FILE.csv / --import FILE.csv")
    _interactive(run_dir, items, name, low_confidence)


def _blind(run_dir: Path, run_id: str, reviewer: str, seed: int, export: Path | None,
           languages: list[str], kinds: list[str], limit: int | None) -> None:  # fmt: skip
    from biasprobe.errors import BiasprobeError
    from biasprobe.review import load_blind_items

    items = load_blind_items(run_dir, seed, languages, kinds)[:limit]
    if export is not None:
        from biasprobe.report import write_atomic
        from biasprobe.review import export_blind_csv
        from biasprobe.textutil import one_line

        write_atomic(export, export_blind_csv(items, seed))
        typer.echo(f"wrote {len(items)} answers in the random order of seed {seed} to {export}; "
                   "fill new_label from the top row down (no gaps), then "
                   f"`biasprobe review {one_line(run_id)} --import {export}`")
        return
    if not items:
        typer.echo("every answer of this run has been reviewed blind")
        return
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise BiasprobeError("review needs a terminal; use --blind --export FILE.csv / "
                             "--import FILE.csv")
    _interactive(run_dir, items, reviewer, 0.0, blind_seed=seed)


def _import(run_dir: Path, path: Path, reviewer: str, run_id: str) -> None:
    from biasprobe.review import import_csv

    records = import_csv(run_dir, path, reviewer, run_id)
    changed = sum(1 for r in records if not r.confirms)
    blind = sum(1 for r in records if r.blind)
    typer.echo(f"imported {len(records)} decisions ({changed} changed, "
               f"{len(records) - changed} confirmed"
               + (f"; {blind} blind" if blind else "") + f") into {run_dir / 'overrides.jsonl'}")


def _interactive(run_dir: Path, items: list[ReviewItem], reviewer: str, low: float,
                 blind_seed: int | None = None) -> None:  # fmt: skip
    from rich.console import Console

    from biasprobe.review import Session, handle_key, run_sink

    console = Console(highlight=False, soft_wrap=False)
    session = Session(items=items, reviewer=reviewer, sink=run_sink(run_dir),
                      blind_seed=blind_seed)
    status: str | None = (f"{len(items)} answers, most worth a look first" if blind_seed is None
                          else f"blind review, seed {blind_seed}: {len(items)} answers left in "
                          "random order; label each one, in order")
    fd = sys.stdin.fileno()
    with _cbreak(fd) as read_line:
        while status is not None:
            _render(console, session, status, low)
            status = handle_key(session, _read_key(fd), read_line)
    changed = sum(1 for o in session.decided if not o.confirms)
    typer.echo(f"{len(session.decided)} decisions ({changed} changed) written to "
               f"{run_dir / 'overrides.jsonl'}")


@contextlib.contextmanager
def _cbreak(fd: int) -> Iterator[Callable[[str], str]]:
    """Single-key input (no echo, no Enter needed); yields a line reader for notes that
    switches back to normal input for the duration of the line."""
    import termios
    import tty

    saved = termios.tcgetattr(fd)

    def read_line(prompt: str) -> str:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
        try:
            return input(prompt)
        except EOFError:
            return ""
        finally:
            tty.setcbreak(fd)

    tty.setcbreak(fd)
    try:
        yield read_line
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _read_key(fd: int) -> str:
    """One key press; an escape sequence (arrow keys…) is read whole and returned as one key."""
    import select

    data = os.read(fd, 1)
    if not data:
        return "q"  # end of input
    if data == b"\x1b":
        while select.select([fd], [], [], 0.05)[0]:
            data += os.read(fd, 16)
    return data.decode("utf-8", errors="replace")


def _render(console: Console, session: Session, status: str, low: float) -> None:
    from rich.panel import Panel
    from rich.text import Text

    from biasprobe.review import TIERS, priority
    from biasprobe.textutil import one_line, printable

    console.clear()
    item = session.current
    if item is None:
        console.print(Text(f"end of the list ({len(session.items)} answers). b back, q quit"))
        console.print(Text(status, style="bold"))
        return
    r = item.response
    blind = session.blind_seed is not None
    tier = "blind" if blind else TIERS[priority(item, low)]
    head = (f"[{session.index + 1}/{len(session.items)}] {tier}  "
            f"{r.probe_id}#{r.sample}  {r.kind}  {r.language}  {r.topic}")
    console.print(Text(one_line(head), style="bold"))
    console.print(Panel(Text(printable(r.probe_text)), title="prompt", title_align="left"))
    if r.reasoning and r.reasoning.strip():
        console.print(Panel(Text(printable(_cut(r.reasoning, REASONING_CHARS))),
                            title="reasoning", title_align="left"))
    console.print(Panel(Text(printable(_cut(r.answer, ANSWER_CHARS))),
                        title=f"answer ({r.finish_reason})", title_align="left"))
    console.print(_blind_text(item) if blind else _label_text(item))
    if session.note:
        console.print(Text(one_line(f"note (saved with the next label): {session.note}")))
    console.print(Text(BLIND_KEYS_HELP if blind else KEYS_HELP, style="dim"))
    console.print(Text(one_line(status), style="bold"))


def _label_text(item: ReviewItem) -> Text:
    """Current label, confidence, run B's label, the last decision and the classifier's
    evidence (nearest exemplars, flags), as one escaped block."""
    from rich.text import Text

    from biasprobe.textutil import one_line, preview

    s = item.score
    lines = [f"label: {item.label.value}   confidence {s.confidence:.2f}   "
             f"classifier {s.classifier_version}"]
    if item.other_label is not None:
        lines.append(f"run B label: {item.other_label.value}"
                     + ("   (flipped)" if item.flipped else ""))
    if item.override is not None:
        o = item.override
        lines.append(f"reviewed by {o.reviewer} at {o.created}: "
                     f"{o.label_before.value} -> {o.label_after.value}"
                     + (f"  note: {o.note}" if o.note else ""))
    for ex in s.nearest_exemplars[:3]:
        lines.append(f"  near {ex.label.value} ({ex.similarity:.2f}): {preview(ex.text, 90)}")
    if s.flags:
        lines.append("flags: " + ", ".join(s.flags))
    return Text("\n".join(one_line(line) for line in lines))


def _blind_text(item: ReviewItem) -> Text:
    """A blind review shows no classifier output: only the reader's own decision, if any."""
    from rich.text import Text

    o = item.override
    mine = f"   your label: {o.label_after.value}" if o is not None and o.blind else ""
    return Text("the classifier's label is hidden (blind review)" + mine)


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n… ({len(text) - limit} more characters)"


def register(app: typer.Typer) -> None:
    """Add this module's command to ``app``."""
    app.command("review")(review_cmd)
