"""Human review of a run's labels: which answers to look at first, the review session's state,
and the CSV round trip for review in a spreadsheet.

Order (most worth a look first): answers whose label *flipped* against a second run, then
``uncertain`` ones, then low confidence (below ``--low-confidence``), then the rest; answers
already reviewed come last. Within a group, lowest confidence first. (Judge disagreements will
slot in after low confidence once a judge exists.)

``--blind`` (:func:`load_blind_items`) is the other order: every answer not yet reviewed blind,
in the random order of a seed (:func:`biasprobe.blindcheck.blind_order`), with no label shown,
no confirming and no skipping, so that the answers reviewed are a random sample and the run's
blind check (:mod:`biasprobe.blindcheck`) can correct its rates.

This module holds no terminal code: the key-driven UI in :mod:`biasprobe.cli._review` calls
:func:`handle_key`, so the same logic is tested without a terminal. Every decision is written at
once through :mod:`biasprobe.overrides` (append-only, the run's lock held), so quitting or a
crash loses nothing already decided.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from biasprobe.errors import BiasprobeError
from biasprobe.labels import registry
from biasprobe.overrides import (
    Override,
    append_overrides,
    latest_overrides,
    make_override,
)
from biasprobe.records import Label, Response, Score
from biasprobe.store import read_responses
from biasprobe.textutil import formula_safe, printable
from biasprobe.yamlio import read_user_file

LOW_CONFIDENCE = 0.6
KEY_LABELS = {
    "c": Label.complete,
    "r": Label.refusal,
    "d": Label.deflection,
    "o": Label.official_line,
    "u": Label.uncertain,
}
CONFIRM_KEYS = ("y", "\r", "\n")
TIERS = ("flipped", "uncertain", "low confidence", "rest", "reviewed")


class ReviewInputError(BiasprobeError):
    """A review CSV (or review request) is malformed; nothing was written."""


@dataclass(frozen=True)
class ReviewItem:
    """One answer to review, with the label in force now (overrides applied)."""

    response: Response
    score: Score
    label: Label
    override: Override | None = None
    other_label: Label | None = None  # the label of the same answer key in run B

    @property
    def key(self) -> tuple[str, int]:
        return self.response.key

    @property
    def flipped(self) -> bool:
        return self.other_label is not None and self.other_label is not self.label


def priority(item: ReviewItem, low_confidence: float = LOW_CONFIDENCE) -> int:
    """The item's group: an index into :data:`TIERS` (smaller = look first)."""
    if item.override is not None:
        return 4
    if item.flipped:
        return 0
    if item.label is Label.uncertain:
        return 1
    if item.score.confidence < low_confidence:
        return 2
    return 3


def order_items(items: Sequence[ReviewItem], low_confidence: float = LOW_CONFIDENCE
                ) -> list[ReviewItem]:
    """Most worth a look first: by group, then lowest confidence, then probe id and sample."""
    return sorted(
        items,
        key=lambda it: (priority(it, low_confidence), it.score.confidence, it.key),
    )


def load_blind_items(run_dir: Path, seed: int, languages: Sequence[str] = (),
                     kinds: Sequence[str] = ()) -> list[ReviewItem]:  # fmt: skip
    """The answers of a run not yet reviewed blind, in the random order of ``seed`` (only those
    in ``languages`` and of ``kinds`` when given: each language's, or each language and kind's,
    sample stays the first of its own order; :mod:`biasprobe.blindcheck` then stratifies)."""
    from biasprobe.blindcheck import blind_order
    from biasprobe.diff import read_scores
    from biasprobe.overrides import latest_blind

    scores = read_scores(run_dir)
    if not scores:
        raise ReviewInputError(f"{run_dir}: no scores to review: run `biasprobe score` first")
    done = latest_blind(run_dir)
    responses = [r for r in read_responses(run_dir) if r.variant_of is None]
    responses = _only(responses, "--language", languages, lambda r: r.language)
    responses = _only(responses, "--kind", kinds, lambda r: r.kind)
    by_key = {r.key: r for r in responses if r.key in scores and r.key not in done}
    return [ReviewItem(response=by_key[k], score=scores[k], label=scores[k].label)
            for k in blind_order(by_key, seed)]


def _only(responses: list[Response], option: str, wanted: Sequence[str],
          value: Callable[[Response], str]) -> list[Response]:  # fmt: skip
    """The responses whose ``value`` is one of ``wanted`` (all when none is); a wanted value
    no response has is one error naming those it has."""
    if not wanted:
        return responses
    have = sorted({value(r) for r in responses})
    unknown = sorted(set(wanted) - set(have))
    if unknown:
        raise ReviewInputError(f"{option} {', '.join(unknown)}: no such answers here (the "
                               f"answers left have {', '.join(have)})")
    return [r for r in responses if value(r) in wanted]


def load_items(run_dir: Path, other_dir: Path | None = None,
               low_confidence: float = LOW_CONFIDENCE) -> list[ReviewItem]:
    """The scored answers of a run in review order (``other_dir``: a run to find flips against)."""
    from biasprobe.diff import read_scores  # applies the overrides

    scores = read_scores(run_dir)
    if not scores:
        raise ReviewInputError(f"{run_dir}: no scores to review: run `biasprobe score` first")
    overrides = latest_overrides(run_dir)
    other = read_scores(other_dir) if other_dir is not None else {}
    items = [
        ReviewItem(
            response=r,
            score=scores[r.key],
            label=scores[r.key].label,
            override=overrides.get(r.key),
            other_label=other[r.key].label if r.key in other else None,
        )
        for r in read_responses(run_dir)
        if r.key in scores
    ]
    return order_items(items, low_confidence)


Sink = Callable[[Sequence[Override]], object]


@dataclass
class Session:
    """The state of one review: where we are, the note being written, what was decided."""

    items: list[ReviewItem]
    reviewer: str
    sink: Sink
    index: int = 0
    note: str | None = None
    decided: list[Override] = field(default_factory=list)
    blind_seed: int | None = None  # a blind review (``--blind``): no label shown, no skipping

    @property
    def current(self) -> ReviewItem | None:
        return self.items[self.index] if 0 <= self.index < len(self.items) else None

    def decide(self, label: Label) -> Override:
        """Record ``label`` for the current answer (written at once), then move on."""
        item = self.current
        assert item is not None
        ov = make_override(item.score, label, label_before=item.label,
                           reviewer=self.reviewer, note=self.note, blind_seed=self.blind_seed)
        self.sink([ov])
        self.decided.append(ov)
        self.items[self.index] = replace(item, label=label, override=ov)
        self.note = None
        self.index += 1
        return ov

    def move(self, step: int) -> None:
        self.note = None
        self.index = max(0, min(len(self.items), self.index + step))


def handle_key(session: Session, key: str, read_line: Callable[[str], str]) -> str | None:
    """Apply one key press; returns a status line, or None to quit."""
    key = key.lower() if len(key) == 1 else key
    item = session.current
    if key in ("q", "\x03", "\x04"):
        return None
    if key == "b":
        session.move(-1)
        return "back"
    if item is None:
        return "end of the list: b goes back, q quits"
    blind = session.blind_seed is not None
    if blind and key in CONFIRM_KEYS:
        return "blind review: no label to confirm; press c r d o or u (u if you cannot tell)"
    if blind and key == "s":
        return "blind review: no skipping (a skipped answer would bias the sample); u if unsure"
    if key in KEY_LABELS or key in CONFIRM_KEYS:
        label = KEY_LABELS.get(key, item.label)
        try:
            ov = session.decide(label)
        except BiasprobeError as exc:  # e.g. the run is locked by a `score`: try again later
            return f"not saved: {exc}"
        verb = ("blind: " + ov.label_after.value + _blind_tally(session) if blind
                else "confirmed" if ov.confirms
                else f"{ov.label_before.value} -> {ov.label_after.value}")
        return f"{item.response.probe_id}#{item.response.sample}: {verb}"
    if key == "n":
        session.note = read_line("note: ").strip() or None
        return "note kept; it is saved with the next label" if session.note else "no note"
    if key == "s":
        session.move(1)
        return "skipped"
    if blind:
        return "keys: c r d o u label, n note, b back, q quit"
    return "keys: c r d o u label, y/enter confirm, n note, s skip, b back, q quit"


def _blind_tally(session: Session) -> str:
    """How many answers this blind session has read, per language (``show`` gives the rates)."""
    from collections import Counter

    langs = {it.key: it.response.language for it in session.items}
    counts = Counter(langs[o.key] for o in {o.key: o for o in session.decided}.values())
    return (f"; read this session: {sum(counts.values())} ("
            + ", ".join(f"{lang} {n}" for lang, n in sorted(counts.items())) + ")")


def run_sink(run_dir: Path) -> Sink:
    return lambda records: append_overrides(run_dir, records)


# --- CSV round trip ---------------------------------------------------------------------------

Cell = str | int | float | None  # a review sheet's cell

EXPORT_COLUMNS = (
    "run_id", "probe_id", "sample", "priority", "kind", "language", "topic", "prompt", "answer",
    "reasoning", "label", "confidence", "classifier_version", "reviewed_by", "new_label", "note",
)  # fmt: skip


def sheet_cell(value: Cell) -> str | int | float:
    """A CSV cell a spreadsheet will not run (a formula start gets a leading ') and that cannot
    drive a terminal when the sheet is printed (control characters escaped; lines kept)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return formula_safe(printable(value))
    return value


def export_csv(items: Sequence[ReviewItem], low_confidence: float = LOW_CONFIDENCE) -> str:
    """Every answer in review order; fill ``new_label`` (and ``note``) and import it back."""
    return _sheet(EXPORT_COLUMNS, (_export_row(it, low_confidence) for it in items))


def _export_row(it: ReviewItem, low_confidence: float) -> list[Cell]:
    r = it.response
    return [r.run_id, r.probe_id, r.sample, TIERS[priority(it, low_confidence)], r.kind,
            r.language, r.topic, r.probe_text, r.answer, r.reasoning, it.label.value,
            it.score.confidence, it.score.classifier_version,
            it.override.reviewer if it.override else None, None, None]


def _sheet(columns: Sequence[str], rows: Iterable[list[Cell]]) -> str:
    """A review sheet: a header, then rows whose cells a spreadsheet will not run
    (:func:`sheet_cell`), every text quoted, CRLF line ends."""
    buf = io.StringIO()
    writer = csv.writer(buf, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerows([sheet_cell(v) for v in row] for row in rows)
    return buf.getvalue()


BLIND_COLUMNS = (
    "run_id", "probe_id", "sample", "order", "blind_seed", "kind", "language", "topic", "prompt",
    "answer", "reasoning", "new_label", "note",
)  # fmt: skip


def export_blind_csv(items: Sequence[ReviewItem], seed: int) -> str:
    """The answers not yet reviewed blind, in the random order of ``seed``, without the
    classifier's label, confidence or priority; fill ``new_label`` from the top row down."""
    return _sheet(BLIND_COLUMNS, (_blind_row(n, it, seed) for n, it in enumerate(items, start=1)))


def _blind_row(order: int, it: ReviewItem, seed: int) -> list[Cell]:
    r = it.response
    return [r.run_id, r.probe_id, r.sample, order, seed, r.kind, r.language, r.topic,
            r.probe_text, r.answer, r.reasoning, None, None]


def _parse_label(text: str) -> Label | None:
    value = text.strip().lower().replace(" ", "_").replace("-", "_")
    try:
        return Label(value)
    except ValueError:
        return None


def _check_row(row: dict[str, str | None], items: dict[tuple[str, int], ReviewItem],
               run_id: str, samples: Mapping[str, int]) -> tuple[tuple[str, int], Label] | str:
    """The key and label a row asks for, or what is wrong with it. ``samples``: how many
    answers each prompt has in the run; a row without a sample means sample 0 only where
    that is the prompt's one answer (not a guess among several)."""
    if row.get("run_id") not in (None, "", run_id):
        return f"run_id {row['run_id']!r} is not this run ({run_id!r})"
    probe_id = (row.get("probe_id") or "").strip()
    sample_text = (row.get("sample") or "").strip()
    if not sample_text:
        if samples.get(probe_id, 0) > 1:
            return (f"no sample given, and {probe_id!r} has {samples[probe_id]} answers in "
                    "this run")
        sample_text = "0"
    sample = _whole_number(sample_text)
    if sample is None:
        return f"sample {sample_text!r} is not a whole number"
    key = (probe_id, sample)
    if key not in items:
        return f"no answer {probe_id!r} sample {key[1]} in this run"
    label = _parse_label(row.get("new_label") or "")
    if label is None:
        return (f"unknown label {row.get('new_label')!r} "
                f"(use {', '.join(registry().names)})")
    return key, label


@dataclass(frozen=True)
class Decision:
    """A row of a filled-in review CSV that sets a label."""

    item: ReviewItem
    label: Label
    note: str | None
    line: int
    blind: tuple[int, int] | None = None  # (order, blind_seed) of a blind CSV's row


def read_csv_decisions(path: Path, items: Sequence[ReviewItem], run_id: str) -> list[Decision]:
    """The rows of a filled-in CSV that set a label; any bad row fails the whole file. A blind
    CSV (``--blind --export``: it has a ``blind_seed`` column) must be filled from its first
    row down without gaps, one seed, in that seed's order (:func:`check_blind_rows`)."""
    try:  # bounded, and a FIFO, device or folder is refused without blocking
        text = read_user_file(path, ReviewInputError, "review sheet", "CSV").decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ReviewInputError(f"{path}: not valid UTF-8") from None
    by_key = {it.key: it for it in items}
    samples = Counter(pid for pid, _ in by_key)
    out: list[Decision] = []
    errors: list[str] = []
    first: dict[tuple[str, int], Decision] = {}  # the first row that set each answer
    # An answer or reasoning trace may exceed the csv module's default 128 KiB field limit;
    # no field is longer than the (bounded) file. The limit is the process's: put back after.
    limit = csv.field_size_limit(max(csv.field_size_limit(), len(text)))
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
        is_blind = "blind_seed" in (reader.fieldnames or ())
        missing = {"probe_id", "new_label"} | ({"order"} if is_blind else set())
        missing -= set(reader.fieldnames or ())
        if missing:
            raise ReviewInputError(f"{path}: no column {', '.join(sorted(missing))} "
                                   "(export one with --export)")
        for row in reader:
            if not (row.get("new_label") or "").strip():
                continue
            got = _check_row(row, by_key, run_id, samples)
            if isinstance(got, str):
                errors.append(f"line {reader.line_num}: {got}")
                continue
            note = (row.get("note") or "").strip() or None
            if note is not None and len(note) > 2000:
                errors.append(f"line {reader.line_num}: note longer than 2000 characters")
                continue
            blind = _blind_cells(row) if is_blind else None
            if isinstance(blind, str):
                errors.append(f"line {reader.line_num}: {blind}")
                continue
            decision = Decision(by_key[got[0]], got[1], note, reader.line_num, blind)
            earlier = first.setdefault(got[0], decision)
            if earlier.label is not decision.label:
                errors.append(f"line {reader.line_num}: {got[0][0]!r} sample {got[0][1]} was "
                              f"set to {earlier.label.value} on line {earlier.line}: one "
                              "label per answer in a sheet")
                continue
            out.append(decision)
    except csv.Error as exc:
        raise ReviewInputError(f"{path}: not a readable CSV ({exc})") from None
    finally:
        csv.field_size_limit(limit)
    if is_blind and not errors:
        errors.extend(check_blind_rows(out))
    if errors:
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        raise ReviewInputError(f"{path}: {len(errors)} bad row(s), nothing imported: "
                               + "; ".join(errors[:5]) + more)
    return out


def _whole_number(text: str) -> int | None:
    """``text`` as a whole number written in ASCII digits, as exported (``str.isdigit`` alone
    also takes "²", which ``int`` refuses, and ``int`` refuses over 4300 digits), or None."""
    if not (text.isascii() and text.isdigit()):
        return None
    try:
        return int(text)
    except ValueError:  # over Python's digit limit: no run file can hold such a number
        return None


def _blind_cells(row: dict[str, str | None]) -> tuple[int, int] | str:
    order_text = (row.get("order") or "").strip()
    seed_text = (row.get("blind_seed") or "").strip()
    order, seed = _whole_number(order_text), _whole_number(seed_text)
    if order is None or seed is None or seed > 2**32 - 1:
        return (f"order {order_text!r} and blind_seed {seed_text!r} must be whole numbers "
                "(as exported)")
    return order, seed


def check_blind_rows(decisions: Sequence[Decision]) -> list[str]:
    """What makes the labelled rows of a blind CSV not a random sample: more than one seed,
    rows not filled from the top (order 1, 2, … without a gap: a skipped row would bias the
    sample), or an order that is not the seed's."""
    from biasprobe.blindcheck import blind_rank

    rows = sorted((d for d in decisions if d.blind is not None),
                  key=lambda d: d.blind[0] if d.blind else 0)
    seeds = sorted({d.blind[1] for d in rows if d.blind})
    if len(seeds) > 1:
        return [f"rows of {len(seeds)} blind seeds ({', '.join(map(str, seeds))}); "
                "import one export at a time"]
    for want, d in enumerate(rows, start=1):
        if d.blind and d.blind[0] != want:
            return [f"line {d.line}: order {d.blind[0]} is labelled but order {want} is not: "
                    "fill a blind sheet from the top without gaps (a skipped answer would bias "
                    "the sample; label it uncertain if you cannot tell)"]
    ranks = [blind_rank(seeds[0], d.item.key) for d in rows] if seeds else []
    if ranks != sorted(ranks):
        return [f"the rows are not in the order of blind seed {seeds[0]} "
                "(edited or from another export)"]
    return []


def import_csv(run_dir: Path, path: Path, reviewer: str, run_id: str) -> list[Override]:
    """Write the decisions of a filled-in CSV as overrides (all of them, or none on error)."""
    items = load_items(run_dir)
    decisions = read_csv_decisions(path, items, run_id)
    current = {it.key: it.label for it in items}
    records = []
    for d in decisions:
        records.append(make_override(d.item.score, d.label, label_before=current[d.item.key],
                                     reviewer=reviewer, note=d.note,
                                     blind_seed=d.blind[1] if d.blind else None))
        current[d.item.key] = d.label
    append_overrides(run_dir, records)
    return records
