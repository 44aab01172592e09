"""Probe sets as a stream, for runs: checked in one pass, then read again lazily.

Why: ``biasprobe run`` on a 20,000-prompt file should need about the memory of a 200-prompt
run. A validated :class:`~biasprobe.records.Probe` costs about 2 KB, so holding every probe of
a large set before the run (as :func:`~biasprobe.probes.load_sets` does) made the process's peak
RSS grow with the set. Here:

- :func:`scan_probes` makes one pass over the sets with every check of ``load_probes`` (each
  probe validated; duplicate ids within a set and across sets; unknown topics; an empty
  selection; with variants, follow-ups whose base is not selected), and records the selected
  probes' count, their content hash (:func:`~biasprobe.probes.probes_hash`, for the run's
  fingerprint) and one digest per chunk of :data:`CHUNK` probes. It keeps no probe: ids are
  checked through 8-byte digests (a second pass names the culprits when two digests meet), so
  every input error is found before anything is written.
- Iterating the :class:`ProbeStream` reads the files again and yields the same probes, one chunk
  at a time; each chunk is compared with its digest *before* any of its probes is yielded, so a
  file changed since the scan stops the run with one error, and everything written is exactly
  the checked probes.

CSV / JSONL / text files are streamed line by line. A YAML set is parsed whole and its probes
kept for the run (PyYAML builds the whole document, which costs far more than the probes: about
9 KB a probe at its peak, against 2 KB for a probe; parsing it again would double a slow step);
the built-in sets are small, and large prompt lists belong in JSONL.
"""

from __future__ import annotations

import hashlib
import heapq
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from biasprobe.errors import ProbeError
from biasprobe.probes.builder import ColumnMap, iter_mapped, iter_probes, slug
from biasprobe.probes.readers import iter_rows, scan_rows
from biasprobe.probes.selection import Selection, _normalise_selection
from biasprobe.probes.sets import check_unique_ids, is_row_file, load_set_file, probe_line, resolve_set
from biasprobe.records import Probe

#: Probes per checked chunk (the most a stream holds at once).
CHUNK = 256
#: Expands one selected probe into itself and its variants (see :func:`variant_expander`).
Expander = Callable[[Probe], list[Probe]]


@dataclass(frozen=True)
class _Part:
    """One probe set: its name, and how to read its probes again."""

    name: str
    where: str
    read: Callable[[], Iterator[Probe]]


def _open(path: Path, mapping: ColumnMap | None) -> tuple[_Part, Iterator[Probe]]:
    """A set's part and its probes for the scan (a YAML set is parsed here, a row file streamed)."""
    if not is_row_file(path):  # parsed once and kept: PyYAML builds the whole document anyway
        loaded = load_set_file(path)
        return _Part(loaded.name, str(path), lambda: iter(loaded.probes)), iter(loaded.probes)
    mapping = mapping or ColumnMap()
    info = scan_rows(path)
    name = mapping.name or slug(path.stem) or "imported"
    fields = mapping.resolved(info.columns, str(path))
    defaults = {"source": mapping.source or path.name, "licence": mapping.licence}

    def read() -> Iterator[Probe]:
        return iter_probes(iter_mapped(iter_rows(path, info.format), fields, path, name), defaults)

    return _Part(name, str(path), read), read()


def _key(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


def _sorted(values: array[int]) -> Iterator[int]:
    """``values`` in order, merged from sorted blocks (never a list of them all)."""
    step = 4096
    return heapq.merge(*(array("Q", sorted(values[i:i + step])) for i in range(0, len(values), step)))


def _repeated(values: array[int]) -> set[int]:
    out: set[int] = set()
    previous = None
    for v in _sorted(values):
        if v == previous:
            out.add(v)
        previous = v
    return out


def _missing(needed: array[int], present: array[int]) -> set[int]:
    have = _sorted(present)
    current = next(have, None)
    out: set[int] = set()
    for v in _sorted(needed):
        while current is not None and current < v:
            current = next(have, None)
        if current != v:
            out.add(v)
    return out


def _check_ids(ids: array[int], probes: Callable[[], Iterable[Probe]], where: str) -> None:
    """Duplicate ids among ``ids`` (digests): named by reading ``probes`` again."""
    repeated = _repeated(ids)
    if repeated:  # a real duplicate (or, once in 2^64, two ids with one digest: no error)
        check_unique_ids([p for p in probes() if _key(p.id) in repeated], where)


def _chunk_digest(probes: Iterable[Probe]) -> bytes:
    h = hashlib.sha256()
    for p in probes:
        h.update(probe_line(p))
    return h.digest()


class ProbeStream:
    """The selected (and variant-expanded) probes of some sets, re-read on each iteration.

    ``count``, ``sha256`` and ``has_follow_ups`` are known from the scan, before any probe is
    read again. Made by :func:`scan_probes`."""

    def __init__(self, parts: Sequence[_Part], selection: Selection, expand: Expander | None) -> None:
        self.parts = tuple(parts)
        self.selection = selection
        self.expand = expand
        self.name = "+".join(p.name for p in parts)
        self.count = 0
        self.sha256 = ""
        self.has_follow_ups = False
        self.digests: tuple[bytes, ...] = ()

    def __len__(self) -> int:
        return self.count

    def unchecked(self) -> Iterator[Probe]:
        """The selected probes as read now (the scan's own pass; iterate the stream instead)."""
        keeps, limit, taken = self.selection.predicate(), self.selection.limit, 0
        for part in self.parts:
            for probe in part.read():
                if not keeps(probe):
                    continue
                if limit is not None and taken >= limit:
                    return
                taken += 1
                yield from (self.expand(probe) if self.expand else (probe,))

    def __iter__(self) -> Iterator[Probe]:
        chunk: list[Probe] = []
        index = 0
        for probe in self.unchecked():
            chunk.append(probe)
            if len(chunk) == CHUNK:
                self._check(index, chunk)
                yield from chunk
                chunk, index = [], index + 1
        if chunk:
            self._check(index, chunk)
            index += 1
        if index != len(self.digests):
            self._changed(index)
        yield from chunk

    def _check(self, index: int, chunk: list[Probe]) -> None:
        if index >= len(self.digests) or _chunk_digest(chunk) != self.digests[index]:
            self._changed(index)

    def _changed(self, index: int) -> None:
        raise ProbeError(
            f"{' + '.join(p.where for p in self.parts)}: changed since the run started (probes "
            f"from #{index * CHUNK + 1} differ); what was written is for the checked probes: "
            "restore the file, or start a new run with another --run-id"
        )


class _Scan:
    """What one pass over the sets accumulates: ids and topics for the checks, and the count,
    hash and chunk digests of the selected probes."""

    def __init__(self, stream: ProbeStream) -> None:
        self.stream = stream
        self.keeps, self.limit, self.taken = stream.selection.predicate(), stream.selection.limit, 0
        self.every, self.topics = array("Q"), set[str]()
        self.whole, self.chunk, self.digests = hashlib.sha256(), hashlib.sha256(), list[bytes]()
        self.ids, self.needed = array("Q"), array("Q")  # with variants: for follow-up links
        self.count = 0

    def add(self, probe: Probe) -> None:
        self.topics.add(probe.topic)
        if not self.keeps(probe) or (self.limit is not None and self.taken >= self.limit):
            return
        self.taken += 1
        expand = self.stream.expand
        for p in expand(probe) if expand else (probe,):
            line = probe_line(p)
            self.whole.update(line)
            self.chunk.update(line)
            self.count += 1
            if self.count % CHUNK == 0:
                self.digests.append(self.chunk.digest())
                self.chunk = hashlib.sha256()
            if p.follow_up is not None:
                self.stream.has_follow_ups = True
            if expand is not None:
                self.ids.append(_key(p.id))
                if p.variant_of is not None and p.follow_up is not None:
                    self.needed.append(_key(p.variant_of))

    def finish(self) -> None:
        """The checks that need the whole pass (in ``load_probes``' order), then the results."""
        stream = self.stream
        _check_ids(self.every, lambda: (p for part in stream.parts for p in part.read()), stream.name)
        unknown = [t for t in stream.selection.topics if t not in self.topics]
        if unknown:
            shown = ", ".join(sorted(self.topics))
            raise ProbeError(f"unknown topic {unknown[0]!r} in these sets; topics: {shown}")
        if not self.count:
            raise ProbeError(
                "the selection matches no probes (check --topic / --language / --kind / --jurisdiction)"
            )
        if self.needed and (missing := _missing(self.needed, self.ids)):
            p = next(p for p in stream.unchecked() if p.follow_up is not None
                     and p.variant_of is not None and _key(p.variant_of) in missing)
            raise ProbeError(f"probe {p.id!r}: follow-up variant of {p.variant_of!r}, which is not selected")
        if self.count % CHUNK:
            self.digests.append(self.chunk.digest())
        stream.count, stream.sha256, stream.digests = self.count, self.whole.hexdigest(), tuple(self.digests)


def scan_probes(
    names: Sequence[str], selection: Selection = Selection(), mapping: ColumnMap | None = None,
    expand: Expander | None = None,
) -> ProbeStream:
    """Check the named sets (built-in names or paths; ``mapping`` for row files) and the
    selection in one pass, raising one :class:`ProbeError` for bad input; return the stream
    of the selected probes (each expanded by ``expand``, if given)."""
    if not names:
        raise ProbeError("no probe set given")
    stream = ProbeStream((), _normalise_selection(selection), expand)
    scan = _Scan(stream)
    parts: list[_Part] = []
    for name in names:
        part, probes = _open(resolve_set(name), mapping)
        ids = array("Q")
        for probe in probes:
            ids.append(_key(probe.id))
            scan.add(probe)
        _check_ids(ids, part.read, part.where)
        scan.every.extend(ids)
        parts.append(part)
    stream.parts, stream.name = tuple(parts), "+".join(p.name for p in parts)
    scan.finish()
    return stream


def variant_expander(wanted: Sequence[str], spec_path: Path | None = None) -> Expander:
    """``--variants``: each base probe followed by its variants (see
    :func:`~biasprobe.variants.expand_variants`), one probe at a time; a probe that is itself a
    variant is kept as it is. Unknown variant names fail here, before any set is read."""
    from biasprobe.variants import expand_variants, load_variant_file

    spec = load_variant_file(spec_path)
    expand_variants([], wanted, spec)  # checks the names

    def expand(probe: Probe) -> list[Probe]:
        return [probe] if probe.variant_of is not None else expand_variants([probe], wanted, spec)

    return expand
