"""The Python API for notebooks and scripts: a run folder as typed objects.

``biasprobe.open_run`` and ``biasprobe.diff`` (re-exported lazily by ``biasprobe/__init__.py``)
read through the same validated readers as the command line (manifest, responses, scores), so a
notebook sees exactly what ``show`` and ``diff`` see. pandas is optional
(``pip install 'biasprobe[pandas]'``); only :meth:`Run.to_pandas` needs it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from biasprobe.errors import RunStoreError
from biasprobe.manifest import Manifest
from biasprobe.records import Response, Score
from biasprobe.store import iter_jsonl, load_manifest, read_responses, resolve_run_dir

if TYPE_CHECKING:
    import pandas

OVERRIDES = "overrides.jsonl"  # written by ``biasprobe review`` (issue 17)

Key = tuple[str, int]


@dataclass(frozen=True)
class Run:
    """One run folder: its manifest, responses, scores (by key) and review overrides."""

    run_dir: Path
    manifest: Manifest
    responses: list[Response]
    scores: dict[Key, Score]
    overrides: list[Any]  # review overrides in file order (empty when never reviewed)

    @property
    def run_id(self) -> str:
        return self.manifest.run_id

    @property
    def model(self) -> str | None:
        return self.manifest.model_name

    def labels(self) -> dict[Key, str]:
        """The label in force per answer: the latest review override, else the classifier's."""
        out = {key: score.label.value for key, score in self.scores.items()}
        for override in self.overrides:
            out[(_field(override, "probe_id"), int(_field(override, "sample") or 0))] = str(
                getattr(_field(override, "label_after"), "value", _field(override, "label_after"))
            )
        return out

    def rows(self) -> list[dict[str, Any]]:
        """One plain dict per response, with its label (None when not scored)."""
        labels = self.labels()
        reviewed = {(_field(o, "probe_id"), int(_field(o, "sample") or 0)) for o in self.overrides}
        out = []
        for r in self.responses:
            score = self.scores.get(r.key)
            out.append({
                "run_id": self.run_id, "model": self.model, "probe_id": r.probe_id,
                "sample": r.sample, "language": r.language, "topic": r.topic, "kind": r.kind,
                "jurisdiction": r.jurisdiction, "pair_id": r.pair_id,
                "probe_text": r.probe_text, "answer": r.answer, "reasoning": r.reasoning,
                "think_state": r.think_state.value, "finish_reason": r.finish_reason,
                "label": labels.get(r.key), "reviewed": r.key in reviewed,
                "confidence": score.confidence if score else None,
                "slant": score.slant if score else None,
                "flags": list(score.flags) if score else [],
            })  # fmt: skip
        return out

    def to_pandas(self) -> pandas.DataFrame:
        """A DataFrame with one row per response and its label (needs pandas)."""
        try:
            import pandas
        except ImportError:
            raise ImportError(
                "Run.to_pandas() needs pandas: pip install 'biasprobe[pandas]'"
            ) from None
        return pandas.DataFrame(self.rows())


def _field(record: Any, name: str) -> Any:
    return record.get(name) if isinstance(record, dict) else getattr(record, name)


def _run_dir(run: str | Path) -> Path:
    return resolve_run_dir(str(run))


def read_overrides(run_dir: Path) -> list[Any]:
    """Review overrides, through the review module's validated reader when it is installed; a
    missing file is an empty list."""
    try:
        module = importlib.import_module("biasprobe.overrides")
    except ImportError:  # a build without the review loop: read the JSON objects as they are
        path = run_dir / OVERRIDES
        if not path.exists():
            return []
        objs = [obj for _, obj in iter_jsonl(path, skip_torn_tail=True)]
        if not all(isinstance(o, dict) and isinstance(o.get("probe_id"), str) for o in objs):
            raise RunStoreError(f"{path}: invalid override record") from None
        return objs
    return list(module.read_overrides(run_dir))


def open_run(run: str | Path) -> Run:
    """Open a run by id (under the outputs directory) or by its folder path."""
    from biasprobe.diff import read_scores

    run_dir = _run_dir(run)
    scores = read_scores(run_dir) if (run_dir / "scores.jsonl").exists() else {}
    return Run(
        run_dir=run_dir,
        manifest=load_manifest(run_dir),
        responses=read_responses(run_dir),
        scores=scores,
        overrides=read_overrides(run_dir),
    )


def diff(a: str | Path, b: str | Path, **options: Any) -> Any:
    """``biasprobe diff A B`` as a value: whatever :func:`biasprobe.diff.diff_runs` returns for
    runs ``a`` and ``b`` (ids or folders); ``options`` go to it (``by``, ``correction``, ...)."""
    from biasprobe.diff import diff_runs, load_scored_run

    return diff_runs(load_scored_run(_run_dir(a)), load_scored_run(_run_dir(b)), **options)


__all__ = ["Run", "diff", "open_run"]
