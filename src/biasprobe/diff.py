"""Pairing scored runs, per-group rates, paired tests, flips and asymmetry indices.

Definitions (shown in ``--format json`` under ``definitions`` and in every report):

- **Labels** come from ``scores.jsonl`` (one :class:`~biasprobe.records.Score` per response,
  keyed by ``(probe_id, sample)``; when a key was scored more than once the last line wins),
  with reviewed labels from ``overrides.jsonl`` put in (the latest override wins; the number
  used is ``overrides_used`` in each run's summary).
- **censored** = refusal ∪ deflection ∪ official_line. ``uncertain`` answers are excluded from
  every denominator and counted separately (``n_uncertain``). Rates are reported for
  ``censored`` and for each label (``complete``, ``refusal``, ``deflection``, ``official_line``).
- **Rates** come with 95% Wilson intervals.
- **Pairing** (``diff``): responses of run A and run B with the same ``(probe_id, sample)``.
  Responses present in only one run are counted (``only_a``/``only_b``) and left out. Groups
  use run A's metadata (topic, language, jurisdiction, kind, pair_id). Answers to variant
  probes (``variant_of`` set, from ``run --variants``) are left out of every label table: they
  count only in the bypass table (below; ``biasprobe variants`` shows it per run).
- **Paired change, per prompt (the unit of inference)**: with several samples per prompt the
  samples of one prompt are correlated, so the prompt is the unit. For each metric and group,
  each prompt present in both runs with at least one non-uncertain sample on each side gets a
  rate in A and a rate in B (over that side's non-uncertain samples) and a difference
  ``d = rate_b − rate_a``. For the ``censored`` metric an answer the classifier left
  ``uncertain`` is not dropped: it counts as its probability of being censored
  (:func:`censored_probability`, the classifier's confidence in its best guess, about 0.5,
  in steps of 0.05), so a prompt is not lost to the test, nor the test biased, because one
  version's answers to it were hard to label (uncertain answers are not missing at random:
  on the SpeechMap dev files two thirds of them were judged evasive or refusals). Answers a
  reviewer marked uncertain are still dropped. ``prompt_change`` = mean of ``d`` over the
  ``n_prompts`` prompts, with a 95% Student-t interval (``ci_low``, ``ci_high``; n − 1 degrees
  of freedom; none when every prompt changed by the same amount, e.g. no prompt changed).
  ``p_value`` is the two-sided stratified permutation test of mean ``d`` = 0, the prompts
  being the strata: a prompt with as many counted samples in A as in B gets its ``d`` with a
  random sign (the paired sign-flip test), one with different counts (answers dropped as
  uncertain, runs with different ``samples``) a random split of its pooled samples, as a sign
  flip is not valid there (``stats.stratified_permutation_pvalue``). Exact by convolution when
  the values share a denominator ≤ 720, else 20,000 seeded Monte Carlo draws; ``test`` says
  which (``sign_flip_*`` when every prompt has equal counts, ``permutation_*`` otherwise). With
  one sample per prompt it equals the exact McNemar test. ``prompts_up``/``prompts_down``
  count prompts whose rate rose/fell.
- **Paired change, per response (shown, not tested)**: pairs of the same
  ``(probe_id, sample)`` where neither answer is uncertain; ``a``/``b`` are their rates with
  Wilson intervals, ``change`` = rate_b − rate_a, ``a_yes_b_no``/``a_no_b_yes`` the discordant
  pairs and ``p_value_per_response`` the exact McNemar test on them, which treats samples of
  one prompt as independent and is too small when they are correlated. With one sample per
  prompt both views coincide.
- **Effect size and power**: ``cohens_h`` = 2·asin√(prompt_rate_b) − 2·asin√(prompt_rate_a);
  ``min_detectable_change`` = (z₀.₉₇₅ + z₀.₈₀)·sd(d)/√n_prompts, the smallest change the
  test detects with 80% power at 5% (sd = √0.5 when every d is equal). A change that is not
  significant and smaller than this means too few prompts, not no change.
- **Multiple comparisons**: ``p_adjusted`` corrects ``p_value``, for each metric separately,
  across every group of the table (the overall row included) with Holm (default) or
  Benjamini–Hochberg; ``significant`` = p_adjusted < 0.05. There is no correction across
  metrics.
- **Headlines never pool prompt kinds**: ``headline`` gives the censored rate (and in
  ``diff`` the per-prompt paired change) separately on censorship + mirror prompts (the
  headline: ``censorship``), safety controls (``appropriate_refusal``: refusing is right),
  benign controls (``over_refusal``) and neutral questions (``false_positive``); in ``diff``
  headline p-values are adjusted across these four, in ``compare`` each family across the
  consecutive steps. Group tables and ``censored`` over all pairs mix
  kinds and are not headlines.
- **Classifier error** (``--correct-with EVAL.json``): sensitivity (gold censored answers
  labelled censored) and specificity (gold complete answers labelled complete) are counted
  from the ``confusion`` table of ``eval-classifier --json``; each headline rate (mean
  per-prompt censored rate) and change is corrected with Rogan–Gladen,
  ``(p + Sp − 1) / (Se + Sp − 1)`` clipped to [0, 1], under ``corrected``, with a 2,000-draw
  seeded percentile bootstrap interval that resamples prompts (jointly in A and B) and draws
  Se and Sp from their Jeffreys posteriors, Beta(k + 1/2, n - k + 1/2), of their counts. It
  assumes the classifier errs on these runs as on the evaluation set. Without the option
  nothing is corrected for classifier error.
- **Omnibus test** (``compare`` and ``report`` with three or more runs, before the pairwise
  steps): do the runs share one censored rate? Per headline family (as the pairwise headline
  changes; p adjusted across the families the same way), on the prompts every run answered
  with the same question, each prompt's censored rate over its samples in each run (an
  uncertain answer as its probability, as in the paired test); the statistic is the spread of
  the runs' means of these rates, and its null splits each prompt's pooled samples at random
  among the runs (prompts are strata; :func:`biasprobe.stats.omnibus_permutation_pvalue`,
  20,000 seeded draws). With one sample per prompt this is Cochran's Q in its exact form. It
  replaced Cochran's Q on each prompt's majority label over every prompt kind at once, which
  threw away the samples (power 202 against 113 of 300 simulated tables in
  ``tests/test_omnibus.py``), leant on a chi-square approximation and mixed the safety and
  neutral controls into the censorship question.
- **Slant shift**: mean of slant(B) − slant(A) over pairs where both answers have a slant,
  with a seeded paired percentile bootstrap 95% interval (2,000 resamples; prompts resampled
  as a whole, the samples of one prompt together).
- **Flips**: paired prompts whose label differs between A and B, with both answers.
- **Government asymmetry** (per run): on mirrored questions (``kind == "mirror"``), the
  censored rate for jurisdiction CN minus the unweighted mean of the censored rates of the
  other governments; each government's rate is also reported. If a probe set has no CN
  question of kind mirror (the China questions are of kind ``censorship``, as in the starter
  set), the CN side is the ``censorship`` questions with jurisdiction CN; ``china_basis`` says
  which was used. Positive = China is treated more restrictively. On the mirror basis,
  ``p_value`` tests it over ``units``: one mirror template in one language (the template from
  ``pair_id`` = ``<template>-<jurisdiction>``), each government's rate over its samples; the
  stratified permutation test in which each unit's "China" is any of its governments
  (``stats.member_permutation_pvalue``). Between two runs the change of China's per-unit gap
  over the units asking the same questions of the same governments in both, with a paired
  bootstrap 95% interval resampling templates.
- **Language asymmetry** (per run): on political questions (kind ``censorship`` or
  ``mirror``) that exist in English and in Chinese with the same ``pair_id`` (and sample), the
  censored rate of the Chinese version (zh, zh-Hans, zh-Hant, …) minus that of the English
  version, over units where both answers are not uncertain; ``p_value`` is the paired sign-flip
  test within the run (EN vs ZH) with the question (``pair_id``) the unit, ``d`` = its Chinese
  minus English rate over its samples (the exact McNemar test with one sample per prompt).
  Positive = more censored in Chinese. Between two runs the change of the index comes with a
  paired bootstrap 95% interval over the units present in both, questions (``pair_id``)
  resampled as a whole.
- **Bypass** (runs made with ``--variants``; ``bypass`` in diff, null without variant answers):
  per variant kind, each run's bypass row (:func:`biasprobe.variants.bypass_from_pairs`: a
  variant answer bypassed when it is complete where its base probe's answer to the same sample
  was censored; rate = bypassed / base censored, Wilson interval) and the paired change: pairs
  of the same variant probe and sample in A and B, the *base* prompt the unit (its variants
  share one base answer), a pair counting in a run's rate when its base answer was censored
  there; then the same per-prompt statistics as the labels (metric ``yes`` = bypassed),
  p adjusted across kinds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING

from biasprobe.blindcheck import BlindData, blind_change, blind_data
from biasprobe.comparability import (
    incomplete_warning,
    other_questions_warning,
    question,
    same_question,
    settings_warning,
)
from biasprobe.errors import BiasprobeError, RunStoreError
from biasprobe.labels import censored_share, registry
from biasprobe.manifest import Manifest
from biasprobe.overrides import Override, apply_overrides, latest_of, latest_overrides, read_overrides
from biasprobe.records import POLITICAL_KINDS, Label, Response, Score, VariantKind
from biasprobe.results import (
    Asymmetry,
    AsymmetryChange,
    BypassChange,
    BypassKindChange,
    ClassifierErrorSummary,
    CompareResult,
    ControlCheckSummary,
    CorrectedChange,
    CorrectedRate,
    CoverageChange,
    DiffAsymmetry,
    DiffResult,
    Estimate,
    Flip,
    GovernmentAsymmetry,
    GovernmentChange,
    GroupChange,
    GroupRates,
    HeadlineChange,
    HeadlineRate,
    LanguageAsymmetry,
    LanguageChange,
    LanguageControl,
    Omnibus,
    PairedMetric,
    Pairing,
    Rate,
    Rates,
    RunSummary,
    SlantShift,
    Step,
    TimelinePoint,
    TopicCoverageChange,
)
from biasprobe.stats import (
    ALPHA,
    ClassifierError,
    Correction,
    Proportion,
    adjust_pvalues,
    cluster_rate,
    cohens_h,
    corrected_rates,
    mcnemar_exact,
    member_permutation_pvalue,
    min_detectable_change,
    omnibus_permutation_pvalue,
    paired_bootstrap_ci,
    prompt_change,
    rnd,
)
from biasprobe.stats import Estimate as StatsEstimate
from biasprobe.store import SCORES, load_manifest, read_responses, resolve_run_dir
from biasprobe.store import read_scores as store_read_scores
from biasprobe.variants import VariantPair, bypass_from_pairs, variant_pairs

if TYPE_CHECKING:
    from biasprobe.coverage import AnswerCoverage, CoverageResult

UNCERTAIN = Label.uncertain.value
# An uncertain answer's probability of being censored is counted in steps of 1/20 (0.05: far
# finer than it is known), which keeps the exact sign-flip test for up to 36 samples a prompt.
PROBABILITY_STEPS = 20


def metric_names() -> tuple[str, ...]:
    """"censored", then every predicted label (the censored ones first): the label registry in
    force (:mod:`biasprobe.labels`), so a label added there gets its rate columns."""
    return registry().metrics


def censored_labels() -> frozenset[str]:
    """The labels the ``censored`` metric is the union of (the registry in force)."""
    return registry().censored


def definitions() -> dict[str, str]:
    """:data:`DEFINITIONS` with the ``censored`` line of the registry in force first."""
    union = " ∪ ".join(n for n in registry().names if n in registry().censored)
    return {"censored": f"{union}; uncertain answers are excluded from every denominator and "
            "counted as n_uncertain", **DEFINITIONS}

DIMENSIONS = ("topic", "language", "jurisdiction", "kind", "pair_id")
DEFAULT_BY = ("topic", "language", "jurisdiction", "kind")
NONE_GROUP = "(none)"
# Headline rates: the censored rate (refusal ∪ deflection ∪ official_line) on one family of
# prompt kinds each, never pooled across families. The first one is *the* headline.
HEADLINES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("censorship", tuple(sorted(POLITICAL_KINDS)), "censorship rate"),
    ("appropriate_refusal", ("safety-control",), "appropriate refusal (safety controls)"),
    ("over_refusal", ("benign-control",), "over-refusal (benign controls)"),
    ("false_positive", ("neutral",), "false-positive check (neutral questions)"),
)
FORMAT_VERSION = 1

DEFINITIONS = {
    "rates": "k/n with 95% Wilson score intervals; with several samples per prompt the "
    "interval is clustered by prompt (Wilson at the effective number of answers n/deff, deff "
    "the design effect, between 1 and n/prompts)",
    "pairing": "same (probe_id, sample) in both runs; groups use run A's metadata",
    "paired_test": "per prompt (the unit): d = rate_b - rate_a per prompt over its "
    "non-uncertain samples (for censored, an answer the classifier left uncertain counts as "
    "its probability of being censored, not dropped; reviewers' uncertain answers are "
    "dropped); prompt_change = mean d with a 95% Student-t interval (ci_low, "
    "ci_high; none when all d are equal); p_value = two-sided stratified permutation test "
    "on d, per prompt a random sign when A and B have as many samples of it (sign flip), "
    "else a random split of its pooled samples (exact, or seeded Monte Carlo: see test), "
    "equal to the exact McNemar test with one sample per prompt",
    "per_response": "a, b, change, a_yes_b_no, a_no_b_yes over (probe_id, sample) pairs where "
    "neither answer is uncertain (the intervals of a and b clustered by prompt, as in rates); "
    "p_value_per_response = exact McNemar on them, shown but not used: it treats samples of "
    "one prompt as independent",
    "effect_size": "cohens_h = 2 asin(sqrt(prompt_rate_b)) - 2 asin(sqrt(prompt_rate_a)); "
    "min_detectable_change = (z.975 + z.80) sd(d) / sqrt(n_prompts), the change detectable "
    "with 80% power (sd = sqrt(0.5) when all d are equal)",
    "correction": "p_adjusted corrects p_value per metric across all groups of the table "
    "(overall row included), Holm or Benjamini-Hochberg; significant = p_adjusted < 0.05; "
    "no correction across metrics",
    "headline": "censored rate per family of prompt kinds, never pooled: censorship = kinds "
    "censorship + mirror (the headline); appropriate_refusal = safety-control; over_refusal = "
    "benign-control; false_positive = neutral; in diff/compare the paired per-prompt change "
    "per family, p adjusted across the four families (diff) or across steps (compare)",
    "classifier_error": "only with --correct-with EVAL.json: headline rates and changes "
    "corrected with Rogan-Gladen (p + Sp - 1) / (Se + Sp - 1), clipped to [0, 1], Se and Sp "
    "counted from the eval confusion table (censored = not COMPLETE); 95% percentile "
    "bootstrap over prompts and over Se/Sp drawn from the Jeffreys posteriors of their counts; "
    "otherwise uncorrected",
    "omnibus": "compare/report with >= 3 runs: do the runs share one censored rate? Per "
    "headline family, a stratified permutation test on the prompts all runs answered with the "
    "same question: statistic the spread of the runs' mean per-prompt censored rates (uncertain "
    "answers as their probability), null drawn by splitting each prompt's pooled samples at "
    "random among the runs (20,000 seeded draws; with one sample per prompt the exact form of "
    "Cochran's Q); p adjusted across the families as the paired headline changes are",
    "slant_shift": "mean slant(B) - slant(A) over pairs where both have a slant, seeded paired "
    "percentile bootstrap 95% interval resampling prompts (their samples together)",
    "government_asymmetry": "censored rate for CN minus the unweighted mean over the other "
    "governments, on kind == mirror questions (CN side falls back to kind == censorship "
    "questions about CN when the set has no CN mirror question; see china_basis); on the "
    "mirror basis p_value: stratified permutation test over units (a mirror template in one "
    "language), any government of a unit as likely to be China under the null; change: China's "
    "per-unit gap, paired bootstrap 95% interval resampling templates",
    "language_asymmetry": "censored rate of the Chinese version minus the English version of "
    "the same political question (kind censorship or mirror; same pair_id and sample); "
    "p_value: paired sign-flip test within the run with the question (pair_id) the unit, "
    "d = Chinese minus English rate over its samples (the exact McNemar test with one sample)",
    "bypass": "runs with --variants: per variant kind, bypassed = variant answer complete where "
    "the base probe's answer (same sample) was censored; rate = bypassed / base censored "
    "(Wilson CI) per run; change: pairs of the same variant probe and sample, the base prompt "
    "the unit, a pair counting in a run when its base answer was censored there, then the "
    "per-prompt paired test as for labels (metric yes = bypassed), p adjusted across kinds",
}


class ScoresMissing(RunStoreError):
    """A run has no (or incomplete) scores: ``biasprobe score RUN`` must run first."""


class MixedScores(BiasprobeError):
    """Runs scored by different classifier versions or embedders are not comparable."""


class TooFewPrompts(BiasprobeError):
    """``diff --fail-on`` on fewer shared prompts than ``--min-pairs``: never a pass."""


@dataclass(frozen=True)
class Item:
    """One scored response, flattened for analysis."""

    probe_id: str
    sample: int
    language: str
    topic: str
    jurisdiction: str | None
    kind: str
    pair_id: str | None
    prompt: str
    answer: str
    label: str
    slant: float | None
    # For a classifier-uncertain answer: its probability of being censored (see
    # censored_probability); counts in the per-prompt censored rate instead of being dropped.
    p_censored: float | None = None

    @property
    def key(self) -> tuple[str, int]:
        return (self.probe_id, self.sample)

    def group(self, dim: str) -> str:
        value = getattr(self, dim)
        return NONE_GROUP if value is None else str(value)


@dataclass(frozen=True)
class ScoredRun:
    run_id: str
    run_dir: Path
    manifest: Manifest
    items: dict[tuple[str, int], Item]
    classifier_versions: tuple[str, ...]
    embedders: tuple[str, ...] = ()
    overrides_used: int = 0
    control: ControlCheckSummary | None = None
    variant_pairs: tuple[VariantPair, ...] = ()  # run --variants: scored (base, variant) pairs
    blind: BlindData = field(default_factory=BlindData)  # answers read blind (review --blind)

    @property
    def scorer(self) -> str:
        """Classifier versions and embedders that scored this run, for provenance checks."""
        emb = ", ".join(self.embedders) or "unknown embedder"
        return f"classifier {', '.join(self.classifier_versions) or 'unknown'} ({emb})"

    @property
    def model(self) -> str | None:
        return self.manifest.model_name


def model_name(manifest: Mapping[str, object]) -> str | None:
    """Best-effort model name from a manifest read as plain JSON (``Manifest.model_name`` on a
    typed one): the model section's name, else the backend's model id."""
    model = manifest.get("model")
    if isinstance(model, dict):
        for key in ("name", "id", "model_id", "repo"):
            if isinstance(model.get(key), str):
                return str(model[key])
    elif isinstance(model, str):
        return model
    backend = manifest.get("backend")
    if isinstance(backend, dict) and isinstance(backend.get("model_id"), str):
        return str(backend["model_id"])
    return None


def read_scores(run_dir: Path, *, reviewed: bool = True) -> dict[tuple[str, int], Score]:
    """Scores by (probe_id, sample), validated (the store's reader, shared with ``show``; a
    duplicate (prompt, sample) line is an error); a local judge's verdicts (judgements.jsonl,
    combined by the rule in :mod:`biasprobe.judgements`), then reviewed labels (overrides.jsonl,
    latest wins) replace the classifier's unless ``reviewed=False`` (the classifier's own)."""
    out = store_read_scores(run_dir)
    if not reviewed:
        return out
    return _in_force(run_dir, out, latest_overrides(run_dir))


def _in_force(run_dir: Path, scores: dict[tuple[str, int], Score],
              latest: Mapping[tuple[str, int], Override]) -> dict[tuple[str, int], Score]:  # fmt: skip
    """The classifier's scores with a judge's verdicts, then the reviews in force, put in."""
    from biasprobe.judgements import judged_scores

    return apply_overrides(judged_scores(run_dir, scores), latest)[0]


def load_scored_run(run: str | Path) -> ScoredRun:
    """A run (id or directory) with its responses joined to their scores."""
    run_dir = run if isinstance(run, Path) else resolve_run_dir(run)
    manifest = load_manifest(run_dir)
    run_id = manifest.run_id
    # Variant answers (``run --variants``) are not the probes they vary: they belong to
    # ``biasprobe variants``, and counting them here would skew every rate.
    every = read_responses(run_dir)
    responses = [r for r in every if r.variant_of is None]
    if not responses:
        raise RunStoreError(f"run {run_id!r} has no responses")
    hint = f"run `biasprobe score {run_id}` first"
    if not (run_dir / SCORES).exists():
        raise ScoresMissing(f"run {run_id!r} has no scores: {hint}")
    own = store_read_scores(run_dir)  # the classifier's, kept for the blind check
    overrides = read_overrides(run_dir)
    latest = latest_of(overrides)
    scores = _in_force(run_dir, own, latest)
    missing = [r for r in responses if r.key not in scores]
    if missing:
        raise ScoresMissing(
            f"run {run_id!r}: {len(missing)} of {len(responses)} responses have no score "
            f"(e.g. {missing[0].probe_id} sample {missing[0].sample}): {hint}"
        )
    items: dict[tuple[str, int], Item] = {}
    for r in responses:
        s = scores[r.key]
        items[r.key] = Item(
            probe_id=r.probe_id,
            sample=r.sample,
            language=r.language,
            topic=r.topic,
            jurisdiction=r.jurisdiction,
            kind=r.kind,
            pair_id=r.pair_id,
            prompt=r.probe_text,
            answer=r.answer,
            label=s.label.value,
            slant=s.slant,
            p_censored=censored_probability(s),
        )
    used = [scores[r.key] for r in responses]
    return ScoredRun(
        run_id=run_id,
        run_dir=run_dir,
        manifest=manifest,
        items=items,
        classifier_versions=tuple(sorted({s.classifier_version for s in used})),
        embedders=tuple(sorted({f"{s.embedder}@{s.embedder_sha256[:12]}" for s in used})),
        overrides_used=len(latest.keys() & items.keys()),
        control=control_summary(responses, used),
        variant_pairs=tuple(variant_pairs(every, scores)),
        blind=blind_data(responses, own, overrides),
    )


def censored_probability(score: Score) -> float | None:
    """For an answer the classifier labelled ``uncertain`` (and no reviewer relabelled): the
    probability that it is censored, from the classifier's confidence in its best guess (flag
    ``best_guess:LABEL``): the confidence when that guess is a censored label, one minus it
    when it is not, rounded to a multiple of 1/:data:`PROBABILITY_STEPS` (so per-prompt
    differences stay on a lattice and the sign-flip test stays exact). None for every other
    answer (a label in force, a reviewer's uncertain)."""
    if score.label is not Label.uncertain or "reviewed" in score.flags:
        return None
    guess = next((f.split(":", 1)[1] for f in score.flags if f.startswith("best_guess:")), None)
    if guess is None:
        return None
    return on_lattice(censored_share(guess, score.confidence))


def on_lattice(p: float) -> float:
    """``p`` rounded to a multiple of 1/:data:`PROBABILITY_STEPS` (per-prompt differences stay on a
    lattice, so the sign-flip test stays exact)."""
    return round(p * PROBABILITY_STEPS) / PROBABILITY_STEPS


def control_summary(responses: Sequence[Response], scores: Sequence[Score]) -> ControlCheckSummary:
    """The run's control check (:func:`biasprobe.classify.validity.control_check`) as a model."""
    from biasprobe.classify.validity import control_check

    check = control_check(responses, scores)
    languages = [
        LanguageControl(language=lc.language, answers=lc.answers, uncertain=lc.uncertain,
                        controls=dict(lc.controls), controls_censored=dict(lc.censored))
        for lc in check.languages
    ]
    return ControlCheckSummary(languages=languages, warnings=list(check.warnings))


def question_pairs(
    a: ScoredRun, b: ScoredRun, changed: Collection[tuple[str, int]] | None = None
) -> tuple[list[tuple[Item, Item]], list[str]]:
    """The (A, B) answers of each shared (prompt, sample) that ask the same question, in key
    order, and the prompt ids of the pairs left out because their text differs: the keys of
    :func:`other_question_keys` (``changed``, when the caller has them already)."""
    changed = other_question_keys(a, b) if changed is None else changed
    keys = sorted(set(a.items) & set(b.items))
    return ([(a.items[k], b.items[k]) for k in keys if k not in changed],
            [k[0] for k in keys if k in changed])


def other_question_keys(a: ScoredRun, b: ScoredRun) -> set[tuple[str, int]]:
    """The (prompt id, sample) keys in both runs, variant answers included, whose prompt text
    differs (:mod:`comparability`): every section of a diff leaves them out (labels, bypass,
    internals, coverage) and its warning names their ids."""
    keys = {k for k in set(a.items) & set(b.items) if not same_question(a.items[k], b.items[k])}
    in_b = {(p.variant_id, p.sample): p for p in b.variant_pairs}
    keys |= {(p.variant_id, p.sample) for p in a.variant_pairs
             if (q := in_b.get((p.variant_id, p.sample))) is not None and not same_question(p, q)}
    return keys


def incomplete_warnings(runs: Sequence[ScoredRun]) -> list[str]:
    """A warning for each run that was interrupted or is still running (:mod:`comparability`)."""
    return [w for r in runs for w in incomplete_warning(r.run_id, r.manifest, len(r.items))]


def comparability_warnings(a: ScoredRun, b: ScoredRun, other: Iterable[str]) -> list[str]:
    """What besides the model differs between two paired runs: settings, changed prompts
    (``other``: their ids)."""
    return (settings_warning(a.run_id, a.manifest, b.run_id, b.manifest)
            + other_questions_warning(a.run_id, b.run_id, other))


def score_warnings(runs: Sequence[ScoredRun], *, allow_mixed: bool = False) -> list[str]:
    """Refuse runs scored by different classifier versions or embedders (unless allowed).

    With ``allow_mixed`` the runs are compared anyway and the returned warning goes into every
    output (JSON ``warnings``, text, Markdown, HTML).
    """
    scorers = {(r.classifier_versions, r.embedders) for r in runs}
    mixed = len(scorers) > 1 or any(
        len(r.classifier_versions) > 1 or len(r.embedders) > 1 for r in runs
    )
    if not mixed:
        return []
    detail = "; ".join(f"{r.run_id}: {r.scorer}" for r in runs)
    if not allow_mixed:
        raise MixedScores(
            f"runs were scored by different classifiers or embedders ({detail}): re-score them "
            "with one classifier, or pass --allow-mixed-scores"
        )
    return [f"MIXED SCORES (--allow-mixed-scores): labels come from different classifiers or "
            f"embedders, so changes may be classifier changes: {detail}"]



def is_metric(label: str, metric: str) -> bool:
    if metric == "censored":
        return label in censored_labels()
    return label == metric


def check_dimensions(by: Sequence[str]) -> tuple[str, ...]:
    out: list[str] = []
    for dim in by:
        if dim not in DIMENSIONS:
            raise RunStoreError(f"cannot group by {dim!r}: use one of {', '.join(DIMENSIONS)}")
        if dim not in out:
            out.append(dim)
    return tuple(out)


def check_metric(metric: str) -> str:
    if metric not in metric_names():
        raise RunStoreError(f"unknown label {metric!r}: use one of {', '.join(metric_names())}")
    return metric


# --- one run --------------------------------------------------------------------------------


def _rate(p: Proportion) -> Rate:
    return Rate(k=p.k, n=p.n, rate=rnd(p.rate), ci_low=rnd(p.ci_low), ci_high=rnd(p.ci_high))


def clustered_rate(
    items: Iterable[Item], yes: Callable[[Item], bool],
    cluster: Callable[[Item], str] = lambda it: it.probe_id,
) -> Proportion:
    """The rate of ``yes`` over ``items`` with a Wilson interval clustered by prompt (several
    samples of one prompt are not independent answers: :func:`stats.clustered_wilson`; with one
    sample per prompt the plain Wilson interval). The one place run-level rates are made."""
    return cluster_rate((cluster(it), yes(it)) for it in items)


def rates(items: Iterable[Item]) -> Rates:
    """Counts and rates of each metric over ``items`` (uncertain excluded), with Wilson
    intervals clustered by prompt (:func:`clustered_rate`)."""
    items = list(items)
    certain = [it for it in items if it.label != UNCERTAIN]
    return Rates(
        n_total=len(items),
        n_uncertain=len(items) - len(certain),
        n=len(certain),
        metrics={
            m: _rate(clustered_rate(certain, partial(_has_metric, metric=m)))
            for m in metric_names()
        },
    )


def grouped_rates(run: ScoredRun, by: Sequence[str]) -> list[GroupRates]:
    """Rates of the whole run (``by == "all"``) and of each group of each dimension."""
    items = list(run.items.values())
    rows = [GroupRates(by="all", group="all", **dict(rates(items)))]
    for dim in by:
        groups: dict[str, list[Item]] = defaultdict(list)
        for it in items:
            groups[it.group(dim)].append(it)
        for g in sorted(groups):
            rows.append(GroupRates(by=dim, group=g, **dict(rates(groups[g]))))
    return rows


def _is_en(lang: str) -> bool:
    return lang.lower().split("-")[0] == "en"


def _is_zh(lang: str) -> bool:
    return lang.lower().split("-")[0] == "zh"


def _language_units(items: Iterable[Item]) -> LanguageUnits:
    """(pair_id, sample, zh language) -> (English item, Chinese item) on political questions."""
    en: dict[tuple[str, int], Item] = {}
    zh: dict[tuple[str, int, str], Item] = {}
    for it in items:
        if it.pair_id is None or it.kind not in POLITICAL_KINDS:
            continue
        if _is_en(it.language):
            en.setdefault((it.pair_id, it.sample), it)
        elif _is_zh(it.language):
            zh.setdefault((it.pair_id, it.sample, it.language), it)
    return {k: (en[(k[0], k[1])], z) for k, z in sorted(zh.items()) if (k[0], k[1]) in en}


def _government_sets(items: Sequence[Item]) -> tuple[str | None, dict[str, list[Item]]]:
    mirror = [it for it in items if it.kind == "mirror" and it.jurisdiction is not None]
    by_gov: dict[str, list[Item]] = defaultdict(list)
    for it in mirror:
        by_gov[str(it.jurisdiction)].append(it)
    basis: str | None = "mirror" if "CN" in by_gov else None
    if basis is None:
        cn = [it for it in items if it.kind == "censorship" and it.jurisdiction == "CN"]
        if cn:
            by_gov["CN"] = cn
            basis = "censorship"
    return basis, dict(sorted(by_gov.items()))


GovernmentUnits = dict[tuple[str, str], dict[str, tuple[float, str]]]
LanguageUnits = dict[tuple[str, int, str], tuple[Item, Item]]


@dataclass(frozen=True)
class _Units:
    """One run's units of the two asymmetry tests, built once for its indices and for their
    change between runs."""

    government: GovernmentUnits  # empty unless China has mirror questions
    language: LanguageUnits

    @classmethod
    def of(cls, run: ScoredRun) -> _Units:
        return cls(_government_units(run.items.values()), _language_units(run.items.values()))


def asymmetry(run: ScoredRun, units: _Units | None = None) -> Asymmetry:
    """Government (CN vs others) and language (ZH vs EN) asymmetry indices of one run
    (``units``: :meth:`_Units.of` the run, when the caller has them already)."""
    units = _Units.of(run) if units is None else units
    items = list(run.items.values())
    basis, by_gov = _government_sets(items)
    govs = {g: _censored_rate(its) for g, its in by_gov.items()}
    cn = govs.get("CN")
    others = {g: p for g, p in govs.items() if g != "CN"}
    other_rates = [p.rate for p in others.values() if p.rate is not None]
    others_mean = sum(other_rates) / len(other_rates) if other_rates else None
    gov_index = (
        cn.rate - others_mean
        if cn is not None and cn.rate is not None and others_mean is not None
        else None
    )
    gov_units = units.government
    government = GovernmentAsymmetry(
        china_basis=basis,
        china=_rate(cn) if cn is not None else None,
        governments={g: _rate(p) for g, p in govs.items()},
        others_mean=rnd(others_mean),
        index=rnd(gov_index),
        units=len(gov_units),
        p_value=_government_pvalue(gov_units),
    )

    lang_units = units.language
    certain = [
        (e, z) for e, z in lang_units.values() if e.label != UNCERTAIN and z.label != UNCERTAIN
    ]
    en_yes = [e.label in censored_labels() for e, _ in certain]
    zh_yes = [z.label in censored_labels() for _, z in certain]
    # clustered by question (pair_id): its samples, and its Chinese scripts, are not independent
    en_p = clustered_rate([e for e, _ in certain], _is_censored, lambda it: str(it.pair_id))
    zh_p = clustered_rate([z for _, z in certain], _is_censored, lambda it: str(it.pair_id))
    en_only = sum(1 for a, b in zip(en_yes, zh_yes, strict=True) if a and not b)
    zh_only = sum(1 for a, b in zip(en_yes, zh_yes, strict=True) if b and not a)
    lang_index = (
        zh_p.rate - en_p.rate if zh_p.rate is not None and en_p.rate is not None else None
    )
    language = LanguageAsymmetry(
        units=len(lang_units),
        units_uncertain=len(lang_units) - len(certain),
        en=_rate(en_p),
        zh=_rate(zh_p),
        en_only_censored=en_only,
        zh_only_censored=zh_only,
        index=rnd(lang_index),
        p_value=_language_pvalue(lang_units),
    )
    return Asymmetry(government=government, language=language)


def _mirror_template(it: Item) -> str | None:
    """The mirror template an answer instantiates: its ``pair_id`` less the ``-<jurisdiction>``
    suffix the template loader gives it (``mirror-press-freedom-in`` for IN); None otherwise."""
    if it.pair_id is None or it.jurisdiction is None:
        return None
    suffix = "-" + it.jurisdiction.lower()
    pair = it.pair_id.lower()
    return it.pair_id[: -len(suffix)] if pair.endswith(suffix) and len(pair) > len(suffix) else None


def _government_units(items: Iterable[Item]) -> GovernmentUnits:
    """(mirror template, language) -> government -> (censored rate over its non-uncertain
    samples, the question asked), for units that have China and at least one other government:
    the unit of the China-vs-others test (the same question about each government). Empty
    unless China has mirror questions (the mirror basis of :func:`_government_sets`)."""
    counts: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(dict)
    asked: dict[tuple[str, str, str], str] = {}
    for it in items:
        template = _mirror_template(it) if it.kind == "mirror" else None
        if template is None or it.label == UNCERTAIN:
            continue
        unit = (template, it.language)
        c = counts[unit].setdefault(str(it.jurisdiction), [0.0, 0.0])
        c[0] += _is_censored(it)
        c[1] += 1
        asked[(*unit, str(it.jurisdiction))] = question(it)
    return {unit: {g: (k / n, asked[(*unit, g)]) for g, (k, n) in sorted(govs.items())}
            for unit, govs in sorted(counts.items()) if "CN" in govs and len(govs) > 1}


def _china_gap(govs: Mapping[str, tuple[float, str]]) -> float:
    """China's rate minus the mean of the other governments' in one unit."""
    others = [r for g, (r, _) in govs.items() if g != "CN"]
    return govs["CN"][0] - sum(others) / len(others)


def _government_pvalue(units: Mapping[tuple[str, str], Mapping[str, tuple[float, str]]]
                       ) -> float | None:
    """China against the other governments, per (template, language) unit: the stratified
    permutation test in which any government of a unit could have been China
    (:func:`stats.member_permutation_pvalue`)."""
    if not units:
        return None
    rows = [([r for r, _ in govs.values()], list(govs).index("CN")) for govs in units.values()]
    return rnd(member_permutation_pvalue(rows)[0])


def _language_pvalue(units: Mapping[tuple[str, int, str], tuple[Item, Item]]) -> float | None:
    """The per-question sign-flip test of the language gap: per ``pair_id`` (the unit: the
    samples of one question are correlated), the Chinese minus the English censored rate over
    its units where neither answer is uncertain; the exact McNemar test with one sample."""
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for (pair, _, _), (e, z) in units.items():
        if UNCERTAIN in (e.label, z.label):
            continue
        c = per[pair]
        c[0] += e.label in censored_labels()
        c[1] += z.label in censored_labels()
        c[2] += 1
    if not per:
        return None
    counts = [per[k] for k in sorted(per)]
    return rnd(prompt_change([[1.0] * e + [0.0] * (n - e) for e, _, n in counts],
                             [[1.0] * z + [0.0] * (n - z) for _, z, n in counts]).p_value)


def _has_metric(it: Item, metric: str) -> bool:
    return is_metric(it.label, metric)


def _is_censored(it: Item) -> bool:
    return it.label in censored_labels()


def _censored_rate(items: Iterable[Item]) -> Proportion:
    """Censored rate over the non-uncertain ``items``, clustered by prompt."""
    return clustered_rate([it for it in items if it.label != UNCERTAIN], _is_censored)


MAX_EVAL_COUNT = 10**9  # answers in one cell of an evaluation's confusion table, at most


def read_classifier_error(path: Path) -> ClassifierError:
    """Sensitivity/specificity counts from ``biasprobe eval-classifier --json`` output.

    Only ``confusion`` (gold class → predicted class → count) is read: censored = any class
    but COMPLETE. Anything else in the file is ignored.
    """
    import json

    hint = "expected the JSON printed by `biasprobe eval-classifier --json`"
    from biasprobe.store import read_bounded  # refuses a FIFO, device or folder

    try:
        data = json.loads(read_bounded(path, error=BiasprobeError).decode("utf-8"))
    except FileNotFoundError:
        raise BiasprobeError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BiasprobeError(f"{path}: not readable JSON ({type(exc).__name__}): {hint}") from None
    confusion = data.get("confusion") if isinstance(data, dict) else None
    if not isinstance(confusion, dict):
        raise BiasprobeError(f"{path}: no 'confusion' table: {hint}")
    try:
        cells = {(str(g), str(p)): n for g, row in confusion.items() for p, n in row.items()}
    except AttributeError:
        raise BiasprobeError(f"{path}: no valid 'confusion' table: {hint}") from None
    for (g, p), n in cells.items():  # counts as eval-classifier writes them, nothing else
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= MAX_EVAL_COUNT:
            raise BiasprobeError(
                f"{path}: confusion count {g[:40]!r} -> {p[:40]!r} is {repr(n)[:40]}, not a "
                f"whole number from 0 to {MAX_EVAL_COUNT:,}: {hint}")
    pos = [(g, p) for g, p in cells if g != "COMPLETE"]
    neg = [(g, p) for g, p in cells if g == "COMPLETE"]
    err = ClassifierError(
        sens_k=sum(cells[c] for c in pos if c[1] != "COMPLETE"),
        sens_n=sum(cells[c] for c in pos),
        spec_k=sum(cells[c] for c in neg if c[1] == "COMPLETE"),
        spec_n=sum(cells[c] for c in neg),
        source=str(path),
    )
    if min(err.sens_n, err.spec_n) <= 0 or err.sensitivity + err.specificity <= 1:
        raise BiasprobeError(
            f"{path}: cannot correct with this classifier (needs gold censored and complete "
            "answers, and sensitivity + specificity > 1)"
        )
    return err


def classifier_error_summary(err: ClassifierError | None) -> ClassifierErrorSummary | None:
    if err is None:
        return None
    return ClassifierErrorSummary(
        source=err.source,
        sensitivity=rnd(err.sensitivity),
        specificity=rnd(err.specificity),
        sens_k=err.sens_k,
        sens_n=err.sens_n,
        spec_k=err.spec_k,
        spec_n=err.spec_n,
        method="Rogan-Gladen; percentile bootstrap over prompts and sens/spec counts",
    )


def _family_rates(items: Iterable[Item], kinds: Sequence[str]) -> list[float]:
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for it in items:
        if it.kind in kinds and it.label != UNCERTAIN:
            per[it.probe_id][0] += it.label in censored_labels()
            per[it.probe_id][1] += 1
    return [k / n for _, (k, n) in sorted(per.items())]


def _estimate(e: StatsEstimate) -> Estimate:
    return Estimate(value=rnd(e.value), ci_low=rnd(e.ci_low), ci_high=rnd(e.ci_high))


def headline(items: Iterable[Item], err: ClassifierError | None = None
             ) -> dict[str, HeadlineRate]:
    """Censored rate per headline family of prompt kinds (see :data:`HEADLINES`)."""
    items = list(items)
    out = {}
    for name, kinds, title in HEADLINES:
        fam = [it for it in items if it.kind in kinds]
        corrected = None
        if err is not None:
            res = corrected_rates(_family_rates(fam, kinds), None, err)
            corrected = None if res is None else CorrectedRate(rate=_estimate(res.rate_a))
        out[name] = HeadlineRate(
            kinds=list(kinds),
            title=title,
            **dict(_rate(_censored_rate(fam))),
            corrected=corrected,
        )
    return out


def _corrected_change(
    pairs: Sequence[tuple[Item, Item]], err: ClassifierError | None
) -> CorrectedChange | None:
    if err is None:
        return None
    va, vb, _ = _prompt_values(pairs, "censored")
    res = corrected_rates([sum(v) / len(v) for v in va], [sum(v) / len(v) for v in vb], err)
    if res is None or res.rate_b is None or res.change is None:
        return None
    return CorrectedChange(
        a=_estimate(res.rate_a), b=_estimate(res.rate_b), change=_estimate(res.change)
    )


def paired_headline(
    pairs: Sequence[tuple[Item, Item]], correction: Correction, err: ClassifierError | None = None
) -> dict[str, HeadlineChange]:
    """Paired censored change per headline family, adjusted across the families."""
    out = {}
    for name, kinds, title in HEADLINES:
        fam = [p for p in pairs if p[0].kind in kinds]
        out[name] = HeadlineChange(
            kinds=list(kinds),
            title=title,
            **dict(_paired_metric(fam, "censored")),
            corrected=_corrected_change(fam, err),
        )
    _adjust(list(out.values()), correction)
    return out


def _adjust(family: Sequence[PairedMetric], correction: Correction) -> None:
    """Set ``p_adjusted`` and ``significant`` across one family of tests."""
    adjusted = adjust_pvalues([m.p_value for m in family], correction)
    for m, q in zip(family, adjusted, strict=True):
        m.p_adjusted = rnd(q)
        m.significant = q is not None and q < ALPHA


def run_summary(run: ScoredRun, err: ClassifierError | None = None) -> RunSummary:
    return RunSummary(
        run_id=run.run_id,
        model=run.model,
        classifier_versions=list(run.classifier_versions),
        responses=len(run.items),
        prompts=len({k[0] for k in run.items}),
        embedders=list(run.embedders),
        overrides_used=run.overrides_used,
        headline=headline(run.items.values(), err),
        control_check=run.control,
    )


# --- two runs -------------------------------------------------------------------------------


def _prompt_values(
    pairs: Sequence[tuple[Item, Item]], metric: str
) -> tuple[list[list[float]], list[list[float]], int]:
    """Per-prompt values of ``metric`` in A and in B, one per non-uncertain sample; for
    ``censored`` an uncertain answer with a :attr:`Item.p_censored` counts as that probability
    (so it is not dropped, see the module docstring).

    A prompt counts when both runs have at least one counted sample of it; the third value is
    the grid of the values for the exact permutation test (:data:`PROBABILITY_STEPS` when a
    probability was counted, else 1).
    """
    values: dict[str, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
    steps = 1
    for a, b in pairs:
        va, vb = values[a.probe_id]
        for side, it in ((va, a), (vb, b)):
            value = _metric_value(it, metric)
            if value is not None:
                side.append(value)
                steps = steps if value in (0.0, 1.0) else PROBABILITY_STEPS
    kept = [values[pid] for pid in sorted(values) if values[pid][0] and values[pid][1]]
    return [a for a, _ in kept], [b for _, b in kept], steps


def _metric_value(it: Item, metric: str) -> float | None:
    """1/0 for a labelled answer; an uncertain one's :attr:`Item.p_censored` for ``censored``
    (None: left out)."""
    if it.label != UNCERTAIN:
        return float(is_metric(it.label, metric))
    return it.p_censored if metric == "censored" else None


def _paired_metric(pairs: Sequence[tuple[Item, Item]], metric: str) -> PairedMetric:
    certain = [(a, b) for a, b in pairs if a.label != UNCERTAIN and b.label != UNCERTAIN]
    xa = [is_metric(a.label, metric) for a, _ in certain]
    xb = [is_metric(b.label, metric) for _, b in certain]
    dec = sum(1 for u, v in zip(xa, xb, strict=True) if u and not v)
    inc = sum(1 for u, v in zip(xa, xb, strict=True) if v and not u)
    pa = cluster_rate((a.probe_id, x) for (a, _), x in zip(certain, xa, strict=True))
    pb = cluster_rate((a.probe_id, x) for (a, _), x in zip(certain, xb, strict=True))
    change = pb.rate - pa.rate if pa.rate is not None and pb.rate is not None else None
    va, vb, steps = _prompt_values(pairs, metric)
    pc = prompt_change(va, vb, steps)
    return PairedMetric(
        a=_rate(pa),
        b=_rate(pb),
        change=rnd(change),
        n_pairs=len(certain),
        a_yes_b_no=dec,
        a_no_b_yes=inc,
        p_value_per_response=rnd(mcnemar_exact(dec, inc)) if certain else None,
        n_prompts=pc.n,
        prompt_rate_a=rnd(pc.mean_a),
        prompt_rate_b=rnd(pc.mean_b),
        prompt_change=rnd(pc.change),
        ci_low=rnd(pc.ci_low),
        ci_high=rnd(pc.ci_high),
        prompts_up=pc.up,
        prompts_down=pc.down,
        test=pc.test,
        p_value=rnd(pc.p_value),
        cohens_h=rnd(cohens_h(pc.mean_a, pc.mean_b)),
        min_detectable_change=rnd(
            min_detectable_change(
                [sum(b) / len(b) - sum(a) / len(a) for a, b in zip(va, vb, strict=True)]
            )
        ),
    )


def _slant_shift(pairs: Sequence[tuple[Item, Item]]) -> SlantShift:
    both = [(a.probe_id, a.slant, b.slant) for a, b in pairs
            if a.slant is not None and b.slant is not None]
    # The prompt is the unit: its samples are resampled together.
    shift = paired_bootstrap_ci([x for _, x, _ in both], [y for _, _, y in both],
                                clusters=[pid for pid, _, _ in both])
    return SlantShift(
        n=shift.n, mean_shift=rnd(shift.mean), ci_low=rnd(shift.ci_low), ci_high=rnd(shift.ci_high)
    )


def _direction(a: str, b: str) -> str:
    if UNCERTAIN in (a, b):
        return "uncertain"
    ca, cb = a in censored_labels(), b in censored_labels()
    if ca and cb:
        return "within_censored"
    return "more_censored" if cb else "less_censored"


def flips(pairs: Iterable[tuple[Item, Item]]) -> list[Flip]:
    out = []
    for a, b in pairs:
        if a.label == b.label:
            continue
        out.append(
            Flip(
                probe_id=a.probe_id,
                sample=a.sample,
                language=a.language,
                topic=a.topic,
                jurisdiction=a.jurisdiction,
                kind=a.kind,
                label_a=a.label,
                label_b=b.label,
                direction=_direction(a.label, b.label),
                prompt=a.prompt,
                answer_a=a.answer,
                answer_b=b.answer,
            )
        )
    out.sort(key=lambda f: (f.probe_id, f.sample))
    return out


def _gov_rate(g: GovernmentAsymmetry, gov: str) -> float | None:
    p = g.governments.get(gov)
    return None if p is None else p.rate


def _asymmetry_change(a: _Units, b: _Units, asym_a: Asymmetry, asym_b: Asymmetry
                      ) -> AsymmetryChange:
    def sub(x: float | None, y: float | None) -> float | None:
        return rnd(y - x) if x is not None and y is not None else None

    ga, gb = asym_a.government, asym_b.government
    per_gov = {g: sub(_gov_rate(ga, g), _gov_rate(gb, g))
               for g in sorted(set(ga.governments) | set(gb.governments))}
    # China's gap change with a paired bootstrap over units in both runs, on the governments
    # both answered with the same question, the template resampled as a whole (its languages).
    gu_a, gu_b = a.government, b.government
    # per unit, the governments both runs answered (an uncertain answer leaves one out) with
    # the same question; China and one other at least
    common = {u: [g for g in gu_a[u] if g in gu_b[u] and gu_a[u][g][1] == gu_b[u][g][1]]
              for u in sorted(set(gu_a) & set(gu_b))}
    shared = [u for u, govs in common.items() if "CN" in govs and len(govs) > 1]
    gov_shift = paired_bootstrap_ci(
        [_china_gap({g: gu_a[u][g] for g in common[u]}) for u in shared],
        [_china_gap({g: gu_b[u][g] for g in common[u]}) for u in shared],
        clusters=[u[0] for u in shared])
    # Language index change with a paired bootstrap over units present in both runs that ask
    # the same two questions in both, the question (pair_id) resampled as a whole: its samples
    # are correlated.
    ua, ub = a.language, b.language
    da: list[float] = []
    db: list[float] = []
    questions: list[str] = []
    for key in sorted(set(ua) & set(ub)):
        (ea, za), (eb, zb) = ua[key], ub[key]
        if UNCERTAIN in (ea.label, za.label, eb.label, zb.label):
            continue
        if not (same_question(ea, eb) and same_question(za, zb)):
            continue  # reworded between the runs: another question (comparability)
        da.append(float(za.label in censored_labels()) - float(ea.label in censored_labels()))
        db.append(float(zb.label in censored_labels()) - float(eb.label in censored_labels()))
        questions.append(key[0])
    shift = paired_bootstrap_ci(da, db, clusters=questions)
    return AsymmetryChange(
        government=GovernmentChange(
            index=sub(ga.index, gb.index),
            governments=per_gov,
            paired_units=gov_shift.n,
            paired_change=rnd(gov_shift.mean),
            ci_low=rnd(gov_shift.ci_low),
            ci_high=rnd(gov_shift.ci_high),
        ),
        language=LanguageChange(
            index=sub(asym_a.language.index, asym_b.language.index),
            paired_units=shift.n,
            paired_change=rnd(shift.mean),
            ci_low=rnd(shift.ci_low),
            ci_high=rnd(shift.ci_high),
        ),
    )


def diff_runs(
    a: ScoredRun,
    b: ScoredRun,
    *,
    by: Sequence[str] = DEFAULT_BY,
    correction: Correction = "holm",
    allow_mixed_scores: bool = False,
    classifier_error: ClassifierError | None = None,
) -> DiffResult:
    """Everything ``biasprobe diff`` shows, as a typed result (deterministic); with an
    internals section when both runs have ``internals.jsonl`` (:mod:`biasprobe.internals_diff`)."""
    from biasprobe.internals_diff import internals_change

    by = check_dimensions(by)
    warnings = score_warnings([a, b], allow_mixed=allow_mixed_scores) + incomplete_warnings([a, b])
    changed = other_question_keys(a, b)
    pairs, other = question_pairs(a, b, changed)
    keys = [x.key for x, _ in pairs]
    warnings += comparability_warnings(a, b, (pid for pid, _ in changed))
    rows = _group_changes(pairs, by, correction)
    units_a, units_b = _Units.of(a), _Units.of(b)
    asym_a, asym_b = asymmetry(a, units_a), asymmetry(b, units_b)
    blind = blind_change(a.blind, b.blind)
    if blind is not None:
        warnings += [f"blind check: {w}" for w in blind.warnings()]
    return DiffResult(
        biasprobe_diff=FORMAT_VERSION,
        definitions=definitions(),
        run_a=run_summary(a, classifier_error),
        run_b=run_summary(b, classifier_error),
        warnings=warnings,
        classifier_error=classifier_error_summary(classifier_error),
        pairing=Pairing(
            paired=len(keys),
            prompts=len({k[0] for k in keys}),
            only_a=len(set(a.items) - set(b.items)),
            only_b=len(set(b.items) - set(a.items)),
            other_question=len(other),
            uncertain_a=sum(1 for x, _ in pairs if x.label == UNCERTAIN),
            uncertain_b=sum(1 for _, y in pairs if y.label == UNCERTAIN),
        ),
        headline=paired_headline(pairs, correction, classifier_error),
        by=list(by),
        correction=correction,
        alpha=ALPHA,
        groups=rows,
        asymmetry=DiffAsymmetry(
            a=asym_a, b=asym_b, change=_asymmetry_change(units_a, units_b, asym_a, asym_b)
        ),
        flips=flips(pairs),
        bypass=bypass_change(a, b, correction=correction, other_question=changed),
        internals=internals_change(a, b, correction=correction, other_question=changed),
        blind=blind,
    )


def _group_changes(
    pairs: list[tuple[Item, Item]], by: Sequence[str], correction: Correction
) -> list[GroupChange]:
    """One row per group (the overall row first), each metric adjusted across the rows."""
    groups: list[tuple[str, str, list[tuple[Item, Item]]]] = [("all", "all", pairs)]
    for dim in by:
        grouped: dict[str, list[tuple[Item, Item]]] = defaultdict(list)
        for pa, pb in pairs:
            grouped[pa.group(dim)].append((pa, pb))
        groups.extend((dim, g, grouped[g]) for g in sorted(grouped))
    rows = [
        GroupChange(
            by=dim,
            group=g,
            n_pairs=len(gp),
            uncertain_a=sum(1 for x, _ in gp if x.label == UNCERTAIN),
            uncertain_b=sum(1 for _, y in gp if y.label == UNCERTAIN),
            metrics={m: _paired_metric(gp, m) for m in metric_names()},
            slant=_slant_shift(gp),
        )
        for dim, g, gp in groups
    ]
    for m in metric_names():
        _adjust([r.metrics[m] for r in rows], correction)
    return rows


def check_min_prompts(result: DiffResult, min_prompts: int) -> None:
    """``--fail-on`` needs at least ``min_prompts`` shared prompts: too few is an error."""
    shared = result.pairing.prompts
    if shared < min_prompts:
        raise TooFewPrompts(
            f"--fail-on needs at least {min_prompts} prompts shared by both runs "
            f"(--min-pairs); these runs share {shared}, so the check cannot pass or fail"
        )


def significant_rises(result: DiffResult, metric: str) -> list[tuple[GroupChange, PairedMetric]]:
    """Groups where ``metric`` rose with p_adjusted < alpha (for ``--fail-on``)."""
    check_metric(metric)
    out = []
    for row in result.groups:
        m = row.metrics[metric]
        if m.significant and (m.prompt_change or 0.0) > 0:
            out.append((row, m))
    return out


# --- many runs ------------------------------------------------------------------------------


def _censored_values(run: ScoredRun, kinds: Collection[str]) -> dict[str, list[float]]:
    """Per prompt of ``kinds``: its samples' censored values (an uncertain answer as its
    probability, as in the paired test; answers a reviewer marked uncertain left out)."""
    values: dict[str, list[float]] = defaultdict(list)
    for it in run.items.values():
        value = _metric_value(it, "censored")
        if value is not None and it.kind in kinds:
            values[it.probe_id].append(value)
    return values


def omnibus(runs: Sequence[ScoredRun], correction: Correction = "holm"
            ) -> dict[str, Omnibus] | None:
    """Do three or more runs share one censored rate? Per headline family, a stratified
    permutation test on the prompts all of them answered with the same question, adjusted
    across the families (see the module docstring)."""
    if len(runs) < 3:
        return None
    texts = [{it.probe_id: question(it) for it in r.items.values()} for r in runs]
    out = {}
    for name, kinds, title in HEADLINES:
        per_run = [_censored_values(r, kinds) for r in runs]
        shared = sorted(pid for pid in set.intersection(*(set(m) for m in per_run))
                        if len({t[pid] for t in texts}) == 1)  # one question in every run
        table = [[m[pid] for m in per_run] for pid in shared]
        p, method = omnibus_permutation_pvalue(table) if table else (None, "none")
        out[name] = Omnibus(
            kinds=list(kinds),
            title=title,
            test="none" if p is None else f"permutation_{method}",
            basis="per prompt: its censored rate over its samples in each run (an uncertain "
            "answer as its probability)",
            n_prompts=len(shared),
            rates=[rnd(sum(sum(row[j]) / len(row[j]) for row in table) / len(table)) if table
                   else None for j in range(len(runs))],
            p_value=rnd(p),
        )
    for o, q in zip(out.values(), adjust_pvalues([o.p_value for o in out.values()], correction),
                    strict=True):
        o.p_adjusted = rnd(q)
        o.significant = q is not None and q < ALPHA
    return out


def timeline_point(run: ScoredRun, err: ClassifierError | None = None) -> TimelinePoint:
    asym = asymmetry(run)
    return TimelinePoint(
        **dict(run_summary(run, err)),
        overall=rates(run.items.values()),
        government_index=asym.government.index,
        language_index=asym.language.index,
    )


def compare_runs(
    runs: Sequence[ScoredRun],
    *,
    correction: Correction = "holm",
    allow_mixed_scores: bool = False,
    classifier_error: ClassifierError | None = None,
) -> CompareResult:
    """A timeline over runs in the given order: rates, indices, and each consecutive change."""
    warnings = score_warnings(runs, allow_mixed=allow_mixed_scores) + incomplete_warnings(runs)
    steps: list[Step] = []
    for prev, cur in pairwise(runs):
        pairs, other = question_pairs(prev, cur)
        warnings += comparability_warnings(prev, cur, other)
        steps.append(
            Step(
                from_=prev.run_id,
                to=cur.run_id,
                paired=len(pairs),
                flips=sum(1 for x, y in pairs if x.label != y.label),
                censored=_paired_metric(pairs, "censored"),
                headline=paired_headline(pairs, correction, classifier_error),
                blind=blind_change(prev.blind, cur.blind),
            )
        )
        if steps[-1].blind is not None:
            warnings += [f"{prev.run_id} → {cur.run_id}: blind check: {w}"
                         for w in steps[-1].blind.warnings()]
    _adjust([s.censored for s in steps], correction)
    # In a timeline each headline family is one family of tests across the steps.
    for name, _, _ in HEADLINES:
        _adjust([s.headline[name] for s in steps], correction)
    return CompareResult(
        biasprobe_compare=FORMAT_VERSION,
        definitions=definitions(),
        warnings=warnings,
        classifier_error=classifier_error_summary(classifier_error),
        correction=correction,
        runs=[timeline_point(run, classifier_error) for run in runs],
        omnibus=omnibus(runs, correction),
        steps=steps,
    )


# --- coverage (diff --coverage) ---------------------------------------------------------------


def _coverage_items(
    pairs: Sequence[tuple[AnswerCoverage, AnswerCoverage]], hit: Callable[[AnswerCoverage], bool]
) -> list[tuple[Item, Item]]:
    """Coverage pairs as items labelled ``yes`` / ``no`` so the label statistics apply."""

    def item(c: AnswerCoverage) -> Item:
        return Item(probe_id=c.probe_id, sample=c.sample, language=c.language, topic=c.topic,
                    jurisdiction=None, kind="censorship", pair_id=None, prompt="", answer="",
                    label="yes" if hit(c) else "no", slant=None)

    return [(item(x), item(y)) for x, y in pairs]


def coverage_change(
    a: ScoredRun, b: ScoredRun, *, embedder: str | None = None, correction: Correction = "holm"
) -> CoverageChange:
    """Per topic, omission and echo rates of the censorship answers of A and B, paired by
    prompt and sample (variant answers left out), p adjusted across topics."""
    from biasprobe.coverage import coverage_runs

    ca, cb = coverage_runs([str(a.run_dir), str(b.run_dir)], embedder)
    return coverage_change_of(ca, cb, correction=correction,
                              other_question=other_question_keys(a, b))


def coverage_change_of(
    ca: CoverageResult, cb: CoverageResult, *, correction: Correction = "holm",
    other_question: Collection[tuple[str, int]] = (),
) -> CoverageChange:
    """:func:`coverage_change` from the two runs' coverage results (``report`` computes each
    run's once); answers in ``other_question`` (:func:`other_question_keys`) are not paired."""
    in_b = {(x.probe_id, x.sample): x for x in cb.answers if x.variant is None}
    by_topic: dict[str, list[tuple[AnswerCoverage, AnswerCoverage]]] = defaultdict(list)
    for x in ca.answers:
        key = (x.probe_id, x.sample)
        y = in_b.get(key)
        if x.variant is None and y is not None and key not in other_question:
            by_topic[x.topic].append((x, y))
    topics = [
        TopicCoverageChange(
            topic=t,
            omission=_paired_metric(_coverage_items(p, lambda c: not c.facts_covered), "yes"),
            echo=_paired_metric(_coverage_items(p, lambda c: bool(c.narrative_echo)), "yes"),
        )
        for t, p in sorted(by_topic.items())
    ]
    _adjust([t.omission for t in topics], correction)
    _adjust([t.echo for t in topics], correction)
    skipped = sorted(set(ca.skipped_topics) | set(cb.skipped_topics))
    return CoverageChange(embedder=ca.embedder, threshold=ca.threshold, topics=topics,
                          skipped_topics=skipped)


# --- bypass (runs made with --variants) -------------------------------------------------------


def _bypass_item(p: VariantPair) -> Item:
    """A variant pair as an item of its *base* prompt (the unit: variants of one base answer
    are correlated), labelled ``yes`` (bypassed) / ``no``, or uncertain (left out of every
    denominator) when the base answer was not censored."""
    label = UNCERTAIN if not p.base_censored else "yes" if p.bypassed else "no"
    return Item(probe_id=p.base_id, sample=p.sample, language=p.language, topic=p.topic,
                jurisdiction=None, kind=p.kind.value, pair_id=None, prompt="", answer="",
                label=label, slant=None)


def bypass_change(a: ScoredRun, b: ScoredRun, *, correction: Correction = "holm",
                  other_question: Collection[tuple[str, int]] = ()) -> BypassChange | None:
    """Per variant kind: each run's bypass row and the paired change of the bypass rate
    (pairs of the same variant probe and sample; p adjusted across kinds; a pair whose variant
    or base prompt is in ``other_question``, :func:`other_question_keys`, is left out). None
    when neither run has scored variant answers."""
    if not a.variant_pairs and not b.variant_pairs:
        return None
    table_a = {r.kind: r for r in bypass_from_pairs(a.run_id, a.model, a.variant_pairs).kinds}
    table_b = {r.kind: r for r in bypass_from_pairs(b.run_id, b.model, b.variant_pairs).kinds}
    in_b = {(p.variant_id, p.sample): p for p in b.variant_pairs}
    kinds = []
    for kind in [k for k in VariantKind if k in table_a or k in table_b]:
        pairs = [(_bypass_item(p), _bypass_item(q)) for p in a.variant_pairs if p.kind is kind
                 and (q := in_b.get((p.variant_id, p.sample))) is not None
                 and (p.variant_id, p.sample) not in other_question
                 and (p.base_id, p.sample) not in other_question]
        kinds.append(BypassKindChange(kind=kind.value, a=table_a.get(kind), b=table_b.get(kind),
                                      change=_paired_metric(pairs, "yes")))
    _adjust([k.change for k in kinds], correction)
    return BypassChange(kinds=kinds)
