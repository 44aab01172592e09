"""The Python API for notebooks and scripts: a run folder as typed objects.

``biasprobe.open_run`` and ``biasprobe.diff`` (re-exported lazily by ``biasprobe/__init__.py``)
read through the same validated readers as the command line (manifest, responses, scores), so a
notebook sees exactly what ``show`` and ``diff`` see. pandas is optional
(``pip install 'biasprobe[pandas]'``); only :meth:`Run.to_pandas` needs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from biasprobe.manifest import Manifest
from biasprobe.overrides import Override, read_overrides
from biasprobe.records import Response, Score
from biasprobe.store import load_manifest, read_responses, resolve_run_dir

if TYPE_CHECKING:
    import pandas

    from biasprobe.blindcheck import BlindCheck
    from biasprobe.results import DiffResult

Key = tuple[str, int]


class ResponseRow(TypedDict):
    """One row of :meth:`Run.rows` / :meth:`Run.to_pandas`: a response with its label."""

    run_id: str
    model: str | None
    probe_id: str
    sample: int
    language: str
    topic: str
    kind: str
    jurisdiction: str | None
    pair_id: str | None
    probe_text: str
    answer: str
    reasoning: str | None
    think_state: str
    finish_reason: str
    label: str | None
    reviewed: bool
    confidence: float | None
    slant: float | None
    flags: list[str]


@dataclass(frozen=True)
class Run:
    """One run folder: its manifest, responses, scores (by key) and review overrides."""

    run_dir: Path
    manifest: Manifest
    responses: list[Response]
    scores: dict[Key, Score]
    overrides: list[Override]  # review overrides in file order (empty when never reviewed)

    @property
    def run_id(self) -> str:
        return self.manifest.run_id

    @property
    def model(self) -> str | None:
        return self.manifest.model_name

    def labels(self) -> dict[Key, str]:
        """The label in force per scored answer: the latest review override, else the classifier's
        (overrides of answers without a score are ignored, as ``diff`` does)."""
        out = {key: score.label.value for key, score in self.scores.items()}
        out.update({o.key: o.label_after.value for o in self.overrides if o.key in out})
        return out

    def rows(self) -> list[ResponseRow]:
        """One plain dict per response, with its label (None when not scored)."""
        labels = self.labels()
        reviewed = {o.key for o in self.overrides if o.key in self.scores}
        out: list[ResponseRow] = []
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

    def blind_check(self) -> BlindCheck | None:
        """The censored rates corrected by the answers reviewed blind (``review --blind``), as
        ``show`` prints them; None when none was (:mod:`biasprobe.blindcheck`)."""
        from biasprobe.blindcheck import blind_data, blind_rates
        from biasprobe.store import read_scores

        if not self.scores:
            return None
        # the classifier's own labels, which ``scores`` (labels in force, reviews applied) no
        # longer holds for the answers reviewed, are read from the folder
        return blind_rates(blind_data(self.responses, read_scores(self.run_dir), self.overrides))

    def to_pandas(self) -> pandas.DataFrame:
        """A DataFrame with one row per response and its label (needs pandas)."""
        try:
            import pandas
        except ImportError:
            raise ImportError(
                "Run.to_pandas() needs pandas: pip install 'biasprobe[pandas]'"
            ) from None
        return pandas.DataFrame(self.rows())


def _run_dir(run: str | Path) -> Path:
    return resolve_run_dir(str(run))


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


def diff(a: str | Path, b: str | Path, **options: Any) -> DiffResult:
    """``biasprobe diff A B`` as a value: whatever :func:`biasprobe.diff.diff_runs` returns for
    runs ``a`` and ``b`` (ids or folders); ``options`` go to it (``by``, ``correction``, ...)."""
    from biasprobe.diff import diff_runs, load_scored_run

    return diff_runs(load_scored_run(_run_dir(a)), load_scored_run(_run_dir(b)), **options)


__all__ = ["Run", "diff", "open_run"]
