"""Summaries of a run directory for ``biasprobe show``."""

from __future__ import annotations

import os
from collections import Counter
from typing import TYPE_CHECKING, TypedDict

from biasprobe.overrides import latest_of, read_overrides
from biasprobe.store import SCORES, read_manifest, read_responses, read_scores, resolve_run_dir
from biasprobe.textutil import preview

if TYPE_CHECKING:  # the classifier package is imported only when a summary is made
    from biasprobe.blindcheck import BlindCheck
    from biasprobe.classify.validity import ControlCheckJSON
    from biasprobe.records import Score


class RunHeader(TypedDict):
    """Provenance lines of ``show``; manifest values are untrusted (``object``): shown as text."""

    run: object
    model: object
    revision: object
    backend: str
    probes: str
    responses: int
    created: object
    completed: object
    overrides: int  # reviewed labels used from overrides.jsonl


class ShowRow(TypedDict):
    probe_id: str
    sample: int
    language: str
    kind: str
    topic: str
    finish_reason: str
    think_state: str
    label: str | None
    reviewed: bool
    judged: bool  # the label was set by a local judge (``--judge``), not by a reviewer
    preview: str


class RunSummary(TypedDict):
    """What ``biasprobe show`` prints (``--format json``: this object as it is)."""

    header: RunHeader
    rows: list[ShowRow]
    label_counts: dict[str, int]
    validity: ControlCheckJSON
    validity_lines: list[str]
    blind_check: BlindCheck | None  # rates corrected by a blind review (``review --blind``)


def summarize(run: str) -> RunSummary:
    run_dir = resolve_run_dir(run)
    manifest = read_manifest(run_dir)
    responses = read_responses(run_dir)
    labels: dict[tuple[str, int], str] = {}
    judged: set[tuple[str, int]] = set()  # labels set by a local judge (judgements.jsonl)
    own: dict[tuple[str, int], Score] = {}  # the classifier's scores (for the blind check)
    if os.path.lexists(run_dir / SCORES):
        from biasprobe.judgements import judged_scores

        own = read_scores(run_dir)
        combined = judged_scores(run_dir, own)
        labels = {key: s.label.value for key, s in combined.items()}
        judged = {k for k, s in combined.items() if any(f.startswith("judge:") for f in s.flags)}
    overrides = read_overrides(run_dir)
    reviewed = {k: o for k, o in latest_of(overrides).items() if k in labels}
    labels.update({k: o.label_after.value for k, o in reviewed.items()})
    model = _dict(manifest.get("model"))
    backend = _dict(manifest.get("backend"))
    probes = _dict(manifest.get("probes"))
    header: RunHeader = {
        "run": manifest.get("run_id"),
        "model": model.get("name"),
        "revision": model.get("resolved_revision") or "-",
        "backend": f"{backend.get('backend', '-')} {backend.get('device') or ''} "
                   f"{backend.get('dtype') or ''}".strip(),
        "probes": f"{probes.get('set')} ({probes.get('count')} prompts)",
        "responses": len(responses),
        "created": manifest.get("created"),
        "completed": manifest.get("completed") or "no (resumable)",
        "overrides": len(reviewed),
    }
    rows: list[ShowRow] = [
        {
            "probe_id": r.probe_id,
            "sample": r.sample,
            "language": r.language,
            "kind": r.kind,
            "topic": r.topic,
            "finish_reason": r.finish_reason,
            "think_state": r.think_state.value,
            "label": labels.get(r.key),
            "reviewed": r.key in reviewed,
            "judged": r.key in judged and r.key not in reviewed,
            "preview": preview(r.answer, 400),
        }
        for r in responses
    ]
    counts = Counter(v for v in labels.values())
    from biasprobe.blindcheck import blind_data, blind_rates
    from biasprobe.classify.validity import control_check_labels

    check = control_check_labels(responses, labels)
    return {"header": header, "rows": rows, "label_counts": dict(counts.most_common()),
            "validity": check.to_json(), "validity_lines": check.lines(),
            "blind_check": blind_rates(blind_data(responses, own, overrides))}  # fmt: skip


def _dict(value: object) -> dict[str, object]:
    """A manifest section, or an empty one if a doctored manifest holds something else."""
    return value if isinstance(value, dict) else {}
