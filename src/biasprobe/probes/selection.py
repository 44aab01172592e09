"""Choosing which probes of the loaded sets to run."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from biasprobe.errors import ProbeError
from biasprobe.probes.builder import ColumnMap
from biasprobe.probes.languages import canonical_language, validate_jurisdiction
from biasprobe.records import Probe, ProbeKind


@dataclass(frozen=True)
class Selection:
    """Which probes of the loaded sets to run. Empty tuples select everything.

    Filters combine with AND; values within one filter with OR. ``limit`` keeps the first N
    probes after filtering, in file order (pairs are adjacent in the built-in sets, so a small
    limit keeps EN / ZH together).
    """

    topics: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    limit: int | None = None
    jurisdictions: tuple[str, ...] = ()

    def apply(self, probes: Sequence[Probe]) -> list[Probe]:
        keeps = self.predicate()
        out = [p for p in probes if keeps(p)]
        return out[: self.limit] if self.limit is not None else out

    def predicate(self) -> Callable[[Probe], bool]:
        """Whether one probe passes the filters (``limit`` aside), for streaming."""
        kinds = {ProbeKind(k).value for k in self.kinds} if self.kinds else set()
        jurisdictions = {j.upper() for j in self.jurisdictions}

        def keeps(p: Probe) -> bool:
            return ((not self.topics or p.topic in self.topics)
                    and (not self.languages or p.language in self.languages)
                    and (not kinds or p.kind.value in kinds)
                    and (not jurisdictions or (p.jurisdiction or "") in jurisdictions))

        return keeps


def _normalise_selection(selection: Selection) -> Selection:
    for kind in selection.kinds:
        if kind not in {k.value for k in ProbeKind}:
            valid = ", ".join(k.value for k in ProbeKind)
            raise ProbeError(f"unknown probe kind {kind!r}; valid kinds: {valid}")
    languages: list[str] = []
    for lang in selection.languages:
        try:
            languages.append(canonical_language(lang))
        except ValueError as exc:
            raise ProbeError(str(exc)) from None
    for code in selection.jurisdictions:
        try:
            validate_jurisdiction(code.upper())
        except ValueError as exc:
            raise ProbeError(str(exc)) from None
    if selection.limit is not None and selection.limit < 1:
        raise ProbeError(f"--limit must be at least 1 (got {selection.limit})")
    return replace(selection, languages=tuple(languages))


def load_probes(
    names: Sequence[str], selection: Selection = Selection(), mapping: ColumnMap | None = None
) -> tuple[str, list[Probe]]:
    """Load and select probes from sets (``mapping``: for CSV / JSONL / text files among them).

    Returns (combined set name, probes). The checks are :func:`~biasprobe.probes.stream.scan_probes`';
    a run streams the probes instead of holding them (see :mod:`biasprobe.probes.stream`)."""
    from biasprobe.probes.stream import scan_probes

    stream = scan_probes(names, selection, mapping)
    return stream.name, list(stream)
