"""Typed results of ``diff``, ``compare`` and ``report``: the JSON API users script against.

``--format json`` prints ``model.to_json()``; ``biasprobe schema diff|compare|report`` prints
the JSON Schema of these models, and ``schemas/*.schema.json`` ship them (a test checks that
the files equal the generated schemas and that real output validates). The meaning of every
field is in :data:`biasprobe.diff.DEFINITIONS` (and the module docstring of
:mod:`biasprobe.diff`).
"""

from __future__ import annotations

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from biasprobe.blindcheck import BlindChange, BlindCheck
from biasprobe.records import JSONObject
from biasprobe.variants import BypassRow, BypassTable


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    def to_json(self) -> JSONObject:
        """The JSON-ready dict ``--format json`` prints (aliases such as ``from`` applied)."""
        return self.model_dump(mode="json", by_alias=True)


class Rate(_Model):
    """k of n with a 95% Wilson interval (rate and interval None when n = 0)."""

    k: int
    n: int
    rate: float | None
    ci_low: float | None
    ci_high: float | None


class Estimate(_Model):
    """A point estimate with a 95% interval."""

    value: float | None
    ci_low: float | None
    ci_high: float | None


class CorrectedRate(_Model):
    rate: Estimate


class CorrectedChange(_Model):
    a: Estimate
    b: Estimate
    change: Estimate


class HeadlineRate(Rate):
    """Censored rate on one family of prompt kinds (never pooled with the others)."""

    kinds: list[str]
    title: str
    corrected: CorrectedRate | None = None


class PairedMetric(_Model):
    """Per-response and per-prompt views of one metric's paired change."""

    a: Rate
    b: Rate
    change: float | None
    n_pairs: int
    a_yes_b_no: int
    a_no_b_yes: int
    p_value_per_response: float | None
    n_prompts: int
    prompt_rate_a: float | None
    prompt_rate_b: float | None
    prompt_change: float | None
    ci_low: float | None
    ci_high: float | None
    prompts_up: int
    prompts_down: int
    test: str
    p_value: float | None
    cohens_h: float | None
    min_detectable_change: float | None
    p_adjusted: float | None = None
    significant: bool = False


class HeadlineChange(PairedMetric):
    kinds: list[str]
    title: str
    corrected: CorrectedChange | None = None


class LanguageControl(_Model):
    """One language of a run's control check (see :mod:`biasprobe.classify.validity`)."""

    language: str
    answers: int
    uncertain: int
    controls: dict[str, int]  # control kind -> answers
    controls_censored: dict[str, int]  # control kind -> answers labelled censored


class ControlCheckSummary(_Model):
    """Neutral and benign-control answers labelled censored, and uncertain answers, per
    language, with the warnings for high rates (variant answers left out, reviewed labels)."""

    languages: list[LanguageControl]
    warnings: list[str]


class RunSummary(_Model):
    run_id: str
    model: str | None
    classifier_versions: list[str]
    responses: int
    prompts: int
    embedders: list[str]
    overrides_used: int = 0
    headline: dict[str, HeadlineRate]
    control_check: ControlCheckSummary | None = None


class Rates(_Model):
    n_total: int
    n_uncertain: int
    n: int
    metrics: dict[str, Rate]


class GroupRates(Rates):
    by: str
    group: str


class SlantShift(_Model):
    n: int
    mean_shift: float | None
    ci_low: float | None
    ci_high: float | None


class GroupChange(_Model):
    by: str
    group: str
    n_pairs: int
    uncertain_a: int
    uncertain_b: int
    metrics: dict[str, PairedMetric]
    slant: SlantShift


class Pairing(_Model):
    paired: int
    prompts: int
    only_a: int
    only_b: int
    # shared (prompt, sample) keys whose prompt text differs: left out (comparability)
    other_question: int = 0
    uncertain_a: int
    uncertain_b: int


class GovernmentAsymmetry(_Model):
    china_basis: str | None
    china: Rate | None
    governments: dict[str, Rate]
    others_mean: float | None
    index: float | None
    # (mirror template, language) units with China and another government, and the stratified
    # permutation p of China against the others over them (mirror basis only)
    units: int = 0
    p_value: float | None = None


class LanguageAsymmetry(_Model):
    units: int
    units_uncertain: int
    en: Rate
    zh: Rate
    en_only_censored: int
    zh_only_censored: int
    index: float | None
    p_value: float | None


class Asymmetry(_Model):
    government: GovernmentAsymmetry
    language: LanguageAsymmetry


class GovernmentChange(_Model):
    index: float | None
    governments: dict[str, float | None]
    # China's gap per unit in both runs (same questions, same governments): mean change with
    # a bootstrap interval resampling templates
    paired_units: int = 0
    paired_change: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None


class LanguageChange(_Model):
    index: float | None
    paired_units: int
    paired_change: float | None
    ci_low: float | None
    ci_high: float | None


class AsymmetryChange(_Model):
    government: GovernmentChange
    language: LanguageChange


class DiffAsymmetry(_Model):
    a: Asymmetry
    b: Asymmetry
    change: AsymmetryChange


class Flip(_Model):
    probe_id: str
    sample: int
    language: str
    topic: str
    jurisdiction: str | None
    kind: str
    label_a: str
    label_b: str
    direction: str
    prompt: str
    answer_a: str
    answer_b: str


class ClassifierErrorSummary(_Model):
    source: str
    sensitivity: float | None
    specificity: float | None
    sens_k: int
    sens_n: int
    spec_k: int
    spec_n: int
    method: str


class TopicCoverageChange(_Model):
    """Per topic: omission (answer covers no key fact) and echo (answer echoes a narrative
    marker) in A and B, with the same paired per-prompt statistics as the label metrics."""

    topic: str
    omission: PairedMetric
    echo: PairedMetric


class CoverageChange(_Model):
    """``diff --coverage``: fact coverage and narrative echo of the censorship answers."""

    embedder: str
    threshold: float
    topics: list[TopicCoverageChange]
    skipped_topics: list[str]  # censorship topics without markers


class BypassKindChange(_Model):
    """One variant kind: each run's bypass row (all its pairs) and the paired change of the
    bypass rate, per base prompt (``biasprobe.diff.bypass_change``)."""

    kind: str
    a: BypassRow | None  # None: run A has no scored answers of this kind
    b: BypassRow | None
    change: PairedMetric  # metric "bypassed" on pairs whose base answer was censored


class BypassChange(_Model):
    """Bypass rates per variant kind in A and B (runs made with ``--variants``)."""

    kinds: list[BypassKindChange]


class InternalsShift(_Model):
    """One group's paired change (B - A) of an internals signal, prompt as the unit: per-prompt
    means (samples averaged), mean change with a 95% paired bootstrap interval, sign-flip p."""

    group: str  # "all" or a topic
    n_prompts: int
    mean_a: float | None
    mean_b: float | None
    shift: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    p_adjusted: float | None = None
    significant: bool = False


class InternalsSide(_Model):
    """One run's internals as the diff sees them (AUROCs over the paired answers)."""

    run_id: str
    model: str
    layers: int | None  # hidden states (embeddings + blocks), from the run's direction file
    hidden_size: int | None
    direction_source: str
    best_layer: int
    auroc_probes_vs_controls: float | None  # projection: censorship probes vs controls
    auroc_censored_vs_complete: float | None  # projection: labelled censored vs complete
    auroc_refusal_prob: float | None  # refusal_prob: labelled censored vs complete


class InternalsChange(_Model):
    """``diff`` / ``report`` when both runs have ``internals.jsonl``. ``basis`` "shared": both
    were measured on one direction (same hash: B computed with ``--direction-from A``), the
    projection shift is in raw units at that direction's best layer; "own": each run on its own
    direction at its own best layer, projections standardised (z over the paired answers of
    that run), so only relative positions compare. ``cosine``: per layer, the cosine between
    the two runs' own directions (same shape only)."""

    basis: str
    basis_note: str
    layer_a: int
    layer_b: int
    cosine: dict[str, float] | None
    a: InternalsSide
    b: InternalsSide
    n_pairs: int
    projection: list[InternalsShift]
    refusal_prob: list[InternalsShift]
    notes: list[str]


class DiffResult(_Model):
    """``biasprobe diff --format json`` (in a report, ``definitions`` is null: given once)."""

    biasprobe_diff: int
    definitions: dict[str, str] | None
    run_a: RunSummary
    run_b: RunSummary
    warnings: list[str]
    classifier_error: ClassifierErrorSummary | None
    pairing: Pairing
    headline: dict[str, HeadlineChange]
    by: list[str]
    correction: str
    alpha: float
    groups: list[GroupChange]
    asymmetry: DiffAsymmetry
    flips: list[Flip]
    coverage: CoverageChange | None = None
    bypass: BypassChange | None = None  # runs with variant answers only
    internals: InternalsChange | None = None  # both runs have internals.jsonl
    blind: BlindChange | None = None  # both runs have answers reviewed blind (review --blind)


class Omnibus(_Model):
    """Do three or more runs share one censored rate on one headline family of prompt kinds?"""

    kinds: list[str]
    title: str
    test: str
    basis: str
    n_prompts: int
    rates: list[float | None]  # per run, in order: mean censored rate over the shared prompts
    p_value: float | None
    p_adjusted: float | None = None  # across the headline families
    significant: bool = False


class TimelinePoint(RunSummary):
    overall: Rates
    government_index: float | None
    language_index: float | None


class Step(_Model):
    from_: str = Field(serialization_alias="from", validation_alias=AliasChoices("from", "from_"))
    to: str
    paired: int
    flips: int
    censored: PairedMetric
    headline: dict[str, HeadlineChange]
    blind: BlindChange | None = None  # both runs of the step have answers reviewed blind


class CompareResult(_Model):
    """``biasprobe compare --format json``."""

    biasprobe_compare: int
    definitions: dict[str, str]
    warnings: list[str]
    classifier_error: ClassifierErrorSummary | None
    correction: str
    runs: list[TimelinePoint]
    omnibus: dict[str, Omnibus] | None  # per headline family (see diff.HEADLINES)
    steps: list[Step]


class Heatmap(_Model):
    metric: str
    topics: list[str]
    languages: list[str]
    cells: list[list[Rate | None]]


class ReportRun(RunSummary):
    overall: Rates
    groups: list[GroupRates]
    heatmap: Heatmap
    asymmetry: Asymmetry
    manifest: JSONObject
    bypass: BypassTable | None = None  # variant answers (run --variants) only
    blind_check: BlindCheck | None = None  # answers reviewed blind (review --blind) only


class ReportModel(_Model):
    """``biasprobe report --format json``: everything every report format shows."""

    biasprobe_report: int
    definitions: dict[str, str]
    warnings: list[str]
    classifier_error: ClassifierErrorSummary | None
    correction: str
    runs: list[ReportRun]
    timeline: list[Step] | None
    omnibus: dict[str, Omnibus] | None  # per headline family (see diff.HEADLINES)
    diffs: list[DiffResult]


SCHEMAS: dict[str, type[_Model]] = {
    "diff": DiffResult,
    "compare": CompareResult,
    "report": ReportModel,
}


def json_schema(name: str) -> JSONObject:
    """The JSON Schema (serialization mode: what ``--format json`` prints) of one result."""
    return SCHEMAS[name].model_json_schema(mode="serialization", by_alias=True)
