"""The blind check: a run's censored rate measured against a reader, on the run itself.

Why: the classifier's accuracy differs from model to model and language to language (the
project's own blind hand checks put Chinese agreement at 0.72–0.82 where English is 0.90–0.94),
so a rate corrected with error rates measured elsewhere (``diff --correct-with``) assumes the
classifier errs on *your* model as it did on the evaluation set. The blind check drops that
assumption: a reader labels a **uniform random sample** of the run's own answers without seeing
the classifier's labels (``biasprobe review RUN --blind``), and the rate is estimated from the
classifier's prediction on every answer plus the reader's corrections on the sample
(:func:`biasprobe.stats.difference_estimate`: unbiased whatever the classifier's errors, with an
interval that carries the sampling of the reviewed answers). Where the classifier is good the
interval is narrow; where it is poor the estimate is still right, only less precise.

The prediction is the classifier's calibrated probability that the answer is censored
(:func:`biasprobe.labels.censored_share` of its best guess and confidence), not its 0/1 label:
any predictor fixed before the sample is read keeps the estimate unbiased, and one closer to the
reader leaves smaller corrections, so a narrower interval for the same reading (measured in
docs/classifier-history.md, "The blind check's predictor"). The ``classifier`` figures shown
beside the estimate stay those of the labels (what the rest of the report counts).

Randomness: the order is fixed by a seed alone: each answer's place is the sha256 of
``seed:probe_id:sample`` (:func:`blind_order`), so the answers reviewed so far are always the
first ``n`` of a random order (``review --blind`` neither shows labels nor allows skipping, and
a blind CSV import must fill rows from the top), and two runs of the same probes reviewed with
the same seed are sampled on the same prompts.

What counts: censored means a censored label of the registry (refusal, deflection,
official_line by default); the classifier's label is its own (scores.jsonl, before any
judge's verdict or review), an ``uncertain`` label counting as its best guess (and, without
one, as one half), and a reader's ``uncertain`` as one half. Rates are per answer (variant
answers of ``run --variants`` left out), per language, and over the whole run as the
languages' estimates weighted by their answers (:func:`biasprobe.stats.stratified_estimate`):
each language's sample is the first answers of that language's order, so a reader may read
more of one language (``review --blind --language zh-Hans``) without biasing any row; the
whole-run row needs every language read. Each censored label (the official line is one of the
tool's questions) is estimated the same way from its own indicator (:func:`label_share`), with
the classifier's labels as prediction: it gives no probability per label.

Between two runs (``diff``, :func:`blind_change`): the change of the censored rate over the
answers both runs have, estimated the same way from the answers reviewed blind in **both** runs
(with one seed those are the same prompts: the sample stays random), so a version change can be
read without trusting the classifier to err alike on both versions.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from biasprobe.labels import censored_names, censored_share, is_censored
from biasprobe.overrides import Key, Override, latest_of
from biasprobe.records import Label, Response, Score
from biasprobe.stats import (
    DifferenceEstimate,
    combine_estimates,
    difference_estimate,
    rnd,
    stratified_estimate,
)

ALL = "all"
REFERENCE = "en"  # gaps are measured against this language
CHINA = "CN"  # the government the mirror questions' gap is measured for
METHOD = ("difference estimator on a uniform random blind sample of each language (mean of the "
          "classifier's probability of a censored answer + mean reader-minus-probability "
          "correction), finite-population t interval, 95%; all: the languages weighted by their "
          "answers, Welch-Satterthwaite t interval; 'classifier' columns: its labels' rate")


def blind_rank(seed: int, key: Key) -> str:
    """An answer's place in the blind order of ``seed`` (compare as strings)."""
    return hashlib.sha256(f"{seed}:{key[0]}:{key[1]}".encode()).hexdigest()


def blind_order(keys: Iterable[Key], seed: int) -> list[Key]:
    """``keys`` in the random order of ``seed`` (the same for every run that has them)."""
    return sorted(keys, key=lambda k: (blind_rank(seed, k), k))


@dataclass(frozen=True)
class BlindData:
    """What the blind check needs from one run, read once with the run (``diff``'s
    ``load_scored_run``, ``show``'s summary): each scored answer's language, kind and
    government, the classifier's own label (its best guess) and probability of a censored answer
    (:func:`classifier_probability`, the estimator's predictor), each answer read blind's latest
    blind label, and the seeds used. Variant answers are left out."""

    language: dict[Key, str] = field(default_factory=dict)
    probability: dict[Key, float] = field(default_factory=dict)
    seeds: tuple[int, ...] = ()
    classifier_label: dict[Key, str] = field(default_factory=dict)  # its best guess
    reader_label: dict[Key, str] = field(default_factory=dict)  # the latest blind label
    kind: dict[Key, str] = field(default_factory=dict)  # the probe kind (strata of --kind reading)
    jurisdiction: dict[Key, str | None] = field(default_factory=dict)  # the government asked about

    @cached_property
    def classifier(self) -> dict[Key, float]:
        """The classifier's censored value per answer (:func:`censored_value_of` its label)."""
        return {k: censored_value_of(v) for k, v in self.classifier_label.items()}

    @cached_property
    def reader(self) -> dict[Key, float]:
        """The reader's censored value per answer read blind."""
        return {k: censored_value_of(v) for k, v in self.reader_label.items()}

    @property
    def seed(self) -> int | None:
        """The one seed of the blind reviews (None with none or several: warned about)."""
        return self.seeds[0] if len(self.seeds) == 1 else None


def blind_data(responses: Iterable[Response], scores: dict[Key, Score],
               overrides: Iterable[Override]) -> BlindData:  # fmt: skip
    """:class:`BlindData` from a run's responses, the classifier's own scores (scores.jsonl, no
    judge, no review) and its overrides in file order."""
    from biasprobe.goldset import best_guess

    blind = latest_of(o for o in overrides if o.blind)
    answers = [r for r in responses if r.variant_of is None and r.key in scores]
    guess = {r.key: best_guess(scores[r.key]) for r in answers}
    return BlindData(
        language={r.key: r.language for r in answers},
        probability={k: _probability(g, scores[k].confidence) for k, g in guess.items()},
        seeds=tuple(sorted({o.blind_seed for o in blind.values() if o.blind_seed is not None})),
        classifier_label={k: g.value for k, g in guess.items()},
        reader_label={r.key: blind[r.key].label_after.value for r in answers if r.key in blind},
        kind={r.key: r.kind for r in answers},
        jurisdiction={r.key: r.jurisdiction for r in answers},
    )


class BlindRate(BaseModel):
    """One language (or ``all``) of a run's blind check."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    language: str
    answers: int
    blind: int  # answers labelled blind
    reader_uncertain: int  # of those, labelled uncertain by the reader (counted as 1/2)
    agree: int  # censored-or-not agreement with the classifier (reader-uncertain left out)
    classifier_rate: float | None
    reader_rate: float | None  # the sample alone, without the classifier
    rate: float | None  # the blind-corrected censored rate
    ci_low: float | None
    ci_high: float | None

    @property
    def agreement(self) -> float | None:
        judged = self.blind - self.reader_uncertain
        return self.agree / judged if judged else None


class BlindGap(BaseModel):
    """A language's blind-corrected censored rate minus English's (the tool's question: more in
    Chinese than in English?): its tags pooled by primary subtag (zh-Hans and zh-Hant: zh),
    weighted by their answers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    language: str  # primary subtag, e.g. "zh"
    versus: str  # "en"
    label: str | None = None  # a censored label's gap (BlindLabelRow); None: the censored rate
    classifier_gap: float | None
    gap: float | None
    ci_low: float | None
    ci_high: float | None


class BlindLabelRow(BaseModel):
    """One censored label in one language (or ``all``): its rate in a run's blind check, or its
    change between two runs in ``diff``'s; the classifier's labels are the prediction (it gives
    no probability per label), the reader's ``uncertain`` counts as the censored half spread
    evenly over the censored labels (:func:`label_share`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    language: str
    label: str
    classifier: float | None  # the rate (or change) of the classifier's labels
    corrected: float | None  # blind-corrected
    ci_low: float | None
    ci_high: float | None


class BlindGovernment(BaseModel):
    """One government's mirror answers (the same question templates asked about each
    government) in a run's blind check."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    government: str  # ISO 3166-1 alpha-2, from the probes
    answers: int
    blind: int
    classifier_rate: float | None
    rate: float | None
    ci_low: float | None
    ci_high: float | None


class BlindGovernmentGap(BaseModel):
    """China's blind-corrected censored rate on the mirror questions minus the mean of the
    other governments' (the tool's question: more for China than for other governments?)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    versus: list[str]
    classifier_gap: float | None
    gap: float | None
    ci_low: float | None
    ci_high: float | None


class BlindCheck(BaseModel):
    """A run's blind check (``show``; ``--format json`` under ``blind_check``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seeds: list[int]
    rows: list[BlindRate]
    gaps: list[BlindGap] = []
    labels: list[BlindLabelRow] = []  # each censored label's rate, per language and all
    label_gaps: list[BlindGap] = []  # each censored label's rate minus English's
    governments: list[BlindGovernment] = []  # mirror questions, per government
    china_gap: BlindGovernmentGap | None = None  # China minus the other governments' mean
    # languages whose answers read blind are not the first of the seed's order in that language
    # (answers added to the run after the reading, or overrides written by hand): not a uniform
    # sample of the run as it is now
    out_of_order: list[str] = []
    method: str = METHOD

    def plan(self, target: float = 0.05) -> list[str]:
        """For each language whose interval is wider than ±``target``: about how many answers
        would have to be read for ±``target`` (the interval narrows about as 1/sqrt(n); the
        finite-population correction ignored, so an upper estimate, capped at the answers)."""
        out = []
        for r in self.rows:
            if r.language == ALL or r.ci_low is None or r.ci_high is None or not r.blind:
                continue
            half = (r.ci_high - r.ci_low) / 2
            if half <= target:
                continue
            need = min(r.answers, math.ceil(r.blind * (half / target) ** 2))
            out.append(f"{r.language}: ±{100 * half:.1f} points from {r.blind} answers read; "
                       f"about {need} read for ±{100 * target:.0f}")
        return out

    def warnings(self) -> list[str]:
        out = []
        if len(self.seeds) > 1:
            out.append(f"the blind reviews use {len(self.seeds)} seeds "
                       f"({', '.join(map(str, self.seeds))}): each seed's reviews must be the "
                       "first answers of its order for the sample to be random; review with one "
                       "seed")
        if self.out_of_order:
            out.append(f"the answers read blind in {', '.join(self.out_of_order)} are not the "
                       "first of the seed's order in that language (answers added to the run "
                       "after the reading, or blind labels not written by review --blind): they "
                       "are not a uniform sample of the run as it is; read the answers the order "
                       "puts before them (review --blind lists them first)")
        unread = [r.language for r in self.rows if r.language != ALL and r.blind == 0]
        if unread:
            out.append(f"no answer in {', '.join(unread)} was read blind: those languages, and "
                       "the whole run, have no blind-corrected rate")
        figures = [(f"{r.language}: the censored rate", "%", r.classifier_rate, r.ci_low,
                    r.ci_high) for r in self.rows]
        figures += [(f"{r.language}: the {r.label} rate", "%", r.classifier, r.ci_low, r.ci_high)
                    for r in self.labels]
        figures += [(f"{g.government} (mirror questions): the censored rate", "%",
                     g.classifier_rate, g.ci_low, g.ci_high) for g in self.governments]
        if self.china_gap is not None:
            c = self.china_gap
            figures.append((f"the gap {CHINA} − the other governments' mean (mirror questions)",
                            " points", c.classifier_gap, c.ci_low, c.ci_high))
        return out + _misstated(figures + _gap_figures("the gap", [*self.gaps, *self.label_gaps]))


Figure = tuple[str, str, float | None, float | None, float | None]
SHOWN = 0.0005  # half the last digit shown (0.1 points): closer than that is not "outside"


def _gap_figures(what: str, gaps: Sequence[BlindGap]) -> list[Figure]:
    return [(f"{what} {g.language} − {g.versus}" + ("" if g.label is None else f" ({g.label})"),
             " points", g.classifier_gap, g.ci_low, g.ci_high) for g in gaps]


def _misstated(figures: Sequence[Figure]) -> list[str]:
    """One warning naming every figure (name, unit, value on the classifier's labels, interval)
    whose value lies outside its blind-corrected interval (none when there is none)."""
    def num(x: float, unit: str) -> str:  # rates as 65.3, gaps and changes signed
        return f"{100 * x:.1f}" if unit == "%" else f"{100 * x:+.1f}"

    off = [f"{name} {num(value, unit)}{unit} [{num(lo, unit)}, {num(hi, unit)}]"
           for name, unit, value, lo, hi in figures
           if value is not None and lo is not None and hi is not None
           and not lo - SHOWN <= value <= hi + SHOWN]
    if not off:
        return []
    return [f"the classifier's labels misstate {len(off)} figure{'s' * (len(off) > 1)}, each "
            "outside its blind-corrected 95% interval (report the corrected figures): "
            + "; ".join(off)]


def censored_value(label: Label) -> float:
    """1 for a censored label, 0 for complete, 1/2 for uncertain (no best guess)."""
    return censored_value_of(label.value)


def censored_value_of(name: str) -> float:
    """:func:`censored_value` of a label's name."""
    if name == Label.uncertain.value:
        return 0.5
    return 1.0 if is_censored(name) else 0.0


def classifier_value(score: Score) -> float:
    """The classifier's label as a censored value (an ``uncertain`` label: its best guess)."""
    from biasprobe.goldset import best_guess

    return censored_value(best_guess(score))


def label_share(name: str, label: str) -> float:
    """An answer labelled ``name``'s share of the censored label ``label``: 1 or 0, and for
    ``uncertain`` (a reader who cannot tell, a classifier without a best guess) the censored
    half (:func:`censored_value`) spread evenly over the censored labels."""
    if name == Label.uncertain.value:
        return 0.5 / len(censored_names())
    return 1.0 if name == label else 0.0


def _label_rows(cells: Sequence[_Cell], predicted: Callable[[Key, str], float],
                read: Callable[[Key, str], float | None],
                bounds: tuple[float, float] = (0.0, 1.0)
                ) -> tuple[list[BlindLabelRow], list[BlindGap]]:  # fmt: skip
    """Each censored label's estimate per language and (with several languages) for all,
    language by language, and its gaps to English: ``predicted(key, label)`` the classifier's
    value, ``read(key, label)`` the reader's (None where the answer was not read blind)."""
    langs = sorted({c.language for c in cells})
    by_label: dict[str, list[BlindLabelRow]] = {}
    gaps: list[BlindGap] = []
    for label in censored_names():
        def pred(k: Key, label: str = label) -> float:
            return predicted(k, label)

        def reader(k: Key, label: str = label) -> float | None:
            return read(k, label)

        parts = _cell_parts(cells, pred, pred, reader, bounds)
        rows = [_label_row(lang, label, *est) for lang, est in _by_language(parts, bounds)]
        if len(langs) > 1:
            rows.append(_label_row(ALL, label, *_stratified([e for _, e in parts], bounds)))
        by_label[label] = rows
        gaps += _gaps(parts, label, bounds)
    return ([rows[i] for i in range(len(langs) + (len(langs) > 1)) for rows in by_label.values()],
            gaps)


def _label_row(language: str, label: str, labels: DifferenceEstimate,
               est: DifferenceEstimate) -> BlindLabelRow:  # fmt: skip
    return BlindLabelRow(language=language, label=label, classifier=rnd(labels.predicted),
                         corrected=rnd(est.value), ci_low=rnd(est.ci_low),
                         ci_high=rnd(est.ci_high))


def classifier_probability(score: Score) -> float:
    """The classifier's probability that the answer is censored: its calibrated confidence in
    its best guess, turned towards censored (one half for an ``uncertain`` without a guess)."""
    from biasprobe.goldset import best_guess

    return _probability(best_guess(score), score.confidence)


def _probability(guess: Label, confidence: float) -> float:
    return 0.5 if guess is Label.uncertain else censored_share(guess.value, confidence)


@dataclass(frozen=True)
class _Estimates:
    """One language's (or pair of runs') estimate, and the same arithmetic on the labels alone:
    ``labels.predicted`` is the rate (or change) the classifier's labels give, what is shown
    beside the estimate; ``estimate`` uses the predictor (the probabilities for the censored
    rate, the labels again for one censored label) and gives the value and interval."""

    size: int
    read: int
    labels: DifferenceEstimate
    estimate: DifferenceEstimate


def _estimates(size: int, labels: Sequence[float], probs: Sequence[float],
               sample: Sequence[tuple[float, float, float]],
               bounds: tuple[float, float] = (0.0, 1.0)) -> _Estimates:  # fmt: skip
    """``sample``: (reader, label, probability) of each answer (or pair) read blind."""
    reader = [h for h, _, _ in sample]
    return _Estimates(
        size, len(sample),
        difference_estimate(labels, reader, [c for _, c, _ in sample], bounds=bounds),
        difference_estimate(probs, reader, [p for _, _, p in sample], bounds=bounds),
    )


def _stratified(parts: Sequence[_Estimates], bounds: tuple[float, float] = (0.0, 1.0)
                ) -> tuple[DifferenceEstimate, DifferenceEstimate]:  # fmt: skip
    """The whole run's (labels, estimate) from its languages' (weighted by their answers)."""
    return (stratified_estimate([(p.size, p.labels, p.read) for p in parts], bounds=bounds),
            stratified_estimate([(p.size, p.estimate, p.read) for p in parts], bounds=bounds))


@dataclass(frozen=True)
class _Cell:
    """One stratum of the blind sample: a language, or (after reading by kind) one probe kind
    in a language (:func:`_design`)."""

    language: str
    keys: tuple[Key, ...]


def _is_first(keys: Sequence[Key], read: Container[Key], seed: int) -> bool:
    """Whether the keys read are the first of ``keys`` in the order of ``seed``."""
    order = blind_order(keys, seed)
    n = sum(k in read for k in order)
    return all(k in read for k in order[:n])


def _design(language: Mapping[Key, str], kind: Mapping[Key, str], read: Container[Key],
            seed: int | None) -> tuple[list[_Cell], list[str]]:  # fmt: skip
    """The strata of a blind sample, language by language: the language, when the answers read
    in it are the first of the seed's order there (``review --blind [--language]``); else the
    coarsest split of its probe kinds into the kinds read apart (``--kind``) and the rest such
    that each part's answers read are the first of that part's order (two parts, or one per
    kind); else the language, listed apart as out of order (not a uniform sample). Fewer strata
    keep the intervals tight: each stratum carries its own two pseudo-differences. With no seed
    or several (warned about apart), one stratum per language."""
    cells: list[_Cell] = []
    out_of_order: list[str] = []
    for lang in sorted(set(language.values())):
        keys = sorted(k for k, v in language.items() if v == lang)
        split = [keys] if seed is None else _split(keys, kind, read, seed)
        if split is None:
            split = [keys]
            out_of_order.append(lang)
        cells += [_Cell(lang, tuple(part)) for part in split]
    return cells, out_of_order


def _split(keys: Sequence[Key], kind: Mapping[Key, str], read: Container[Key],
           seed: int) -> list[list[Key]] | None:  # fmt: skip
    """The coarsest partition of ``keys`` by probe kind whose parts are each read as the first
    of their own order: all together, then one group of kinds against the rest (the smallest
    group first), then one part per kind; None when there is none."""
    if _is_first(keys, read, seed):
        return [list(keys)]
    kinds = sorted({kind.get(k, "") for k in keys})
    for size in range(1, len(kinds)):
        for group in itertools.combinations(kinds, size):
            inside = [k for k in keys if kind.get(k, "") in group]
            outside = [k for k in keys if kind.get(k, "") not in group]
            if _is_first(inside, read, seed) and _is_first(outside, read, seed):
                return [inside, outside]
    per_kind = [[k for k in keys if kind.get(k, "") == kd] for kd in kinds]
    return per_kind if all(_is_first(p, read, seed) for p in per_kind) else None


def _cell_parts(cells: Sequence[_Cell], labels: Callable[[Key], float],
                probs: Callable[[Key], float], reader: Callable[[Key], float | None],
                bounds: tuple[float, float] = (0.0, 1.0)
                ) -> list[tuple[str, _Estimates]]:  # fmt: skip
    """Each stratum's estimates, with its language: ``labels`` and ``probs`` the classifier's
    values (shown; predictor), ``reader`` the reader's (None where not read blind)."""
    out = []
    for c in cells:
        sample = [(h, labels(k), probs(k)) for k in c.keys if (h := reader(k)) is not None]
        out.append((c.language, _estimates(len(c.keys), [labels(k) for k in c.keys],
                                           [probs(k) for k in c.keys], sample, bounds)))
    return out


def _by_language(parts: Sequence[tuple[str, _Estimates]], bounds: tuple[float, float] = (0.0, 1.0)
                 ) -> list[tuple[str, tuple[DifferenceEstimate, DifferenceEstimate]]]:  # fmt: skip
    """Each language's (labels, estimate) from its strata (one, or one per kind)."""
    langs = sorted({lang for lang, _ in parts})
    return [(lang, _stratified([e for m, e in parts if m == lang], bounds)) for lang in langs]


def blind_rates(data: BlindData) -> BlindCheck | None:
    """The blind check of a run, or None when none of its answers was read blind."""
    if not data.reader:
        return None
    cells, out_of_order = _design(data.language, data.kind, data.reader, data.seed)
    parts = _cell_parts(cells, data.classifier.__getitem__, data.probability.__getitem__,
                        data.reader.get)
    rows = [_rate(lang, est, [k for k, v in data.language.items() if v == lang], data)
            for lang, est in _by_language(parts)]
    gaps = _gaps(parts)
    if len(rows) > 1:
        labels, est = _stratified([e for _, e in parts])
        rows.append(BlindRate(
            language=ALL, answers=len(data.language), blind=sum(r.blind for r in rows),
            reader_uncertain=sum(r.reader_uncertain for r in rows),
            agree=sum(r.agree for r in rows), classifier_rate=rnd(labels.predicted),
            reader_rate=rnd(est.sample_mean), rate=rnd(est.value), ci_low=rnd(est.ci_low),
            ci_high=rnd(est.ci_high)))  # fmt: skip
    by_label, label_gaps = _label_rows(
        cells,
        lambda k, label: label_share(data.classifier_label[k], label),
        lambda k, label: (label_share(data.reader_label[k], label)
                          if k in data.reader_label else None),
    )  # fmt: skip
    governments, china_gap = _governments(cells, _mirror(data), data.classifier.__getitem__,
                                          data.probability.__getitem__, data.reader.get)
    return BlindCheck(seeds=list(data.seeds), rows=rows, gaps=gaps, labels=by_label,
                      label_gaps=label_gaps, governments=governments, china_gap=china_gap,
                      out_of_order=out_of_order)


def _mirror(data: BlindData) -> dict[Key, str]:
    """The mirror answers asked about a government, with its code."""
    return {k: g for k, g in data.jurisdiction.items()
            if g is not None and data.kind.get(k) == "mirror"}


def _governments(cells: Sequence[_Cell], mirror: Mapping[Key, str],
                 labels: Callable[[Key], float], probs: Callable[[Key], float],
                 reader: Callable[[Key], float | None], bounds: tuple[float, float] = (0.0, 1.0)
                 ) -> tuple[list[BlindGovernment], BlindGovernmentGap | None]:  # fmt: skip
    """The mirror questions' censored rate (or change) per government, and China's minus the
    mean of the others': each government's answers in each stratum are a domain, estimated on
    the stratum's answers read that fall in it (a uniform sample of the domain, given how
    many)."""
    govs = sorted(set(mirror.values()))
    if CHINA not in govs or len(govs) < 2:
        return [], None
    per_gov: dict[str, list[_Estimates]] = {}
    for g in govs:
        domain = [_Cell(c.language, tuple(k for k in c.keys if mirror.get(k) == g))
                  for c in cells]
        per_gov[g] = [e for _, e in _cell_parts([d for d in domain if d.keys], labels, probs,
                                                reader, bounds)]
    rows = []
    for g in govs:
        shown, est = _stratified(per_gov[g], bounds)
        rows.append(BlindGovernment(
            government=g, answers=sum(e.size for e in per_gov[g]),
            blind=sum(e.read for e in per_gov[g]), classifier_rate=rnd(shown.predicted),
            rate=rnd(est.value), ci_low=rnd(est.ci_low), ci_high=rnd(est.ci_high)))  # fmt: skip
    others = [g for g in govs if g != CHINA]
    weights = [(e.size / rows[govs.index(CHINA)].answers, e) for e in per_gov[CHINA]]
    for g in others:
        size = rows[govs.index(g)].answers
        weights += [(-e.size / size / len(others), e) for e in per_gov[g]]
    gap_bounds = (bounds[0] - bounds[1], bounds[1] - bounds[0])
    shown = combine_estimates([(w, e.labels, e.read) for w, e in weights], bounds=gap_bounds)
    est = combine_estimates([(w, e.estimate, e.read) for w, e in weights], bounds=gap_bounds)
    return rows, BlindGovernmentGap(versus=others, classifier_gap=rnd(shown.predicted),
                                    gap=rnd(est.value), ci_low=rnd(est.ci_low),
                                    ci_high=rnd(est.ci_high))


def _gaps(parts: Sequence[tuple[str, _Estimates]], label: str | None = None,
          bounds: tuple[float, float] = (0.0, 1.0)) -> list[BlindGap]:  # fmt: skip
    """Each other language family's estimate minus English's, when there is English (a family
    is the tags of one primary subtag, its strata weighted by their answers: zh-Hans and zh-Hant
    make zh, en and en-GB make en); ``label``: the censored label the parts estimate (None: the
    censored rate); ``bounds``: those of the parts' values (a gap of rates lies in [-1, 1], a
    change of a gap in [-2, 2])."""
    gap_bounds = (bounds[0] - bounds[1], bounds[1] - bounds[0])
    families: dict[str, list[_Estimates]] = {}
    for lang, part in parts:
        families.setdefault(lang.split("-")[0].lower(), []).append(part)
    reference = families.pop(REFERENCE, None)
    if reference is None:
        return []
    ref_size = sum(m.size for m in reference)
    out = []
    for family, members in sorted(families.items()):
        size = sum(m.size for m in members)
        weights = [(m.size / size, m) for m in members]
        weights += [(-m.size / ref_size, m) for m in reference]
        labels = combine_estimates([(w, m.labels, m.read) for w, m in weights], bounds=gap_bounds)
        est = combine_estimates([(w, m.estimate, m.read) for w, m in weights], bounds=gap_bounds)
        out.append(BlindGap(language=family, versus=REFERENCE, label=label,
                            classifier_gap=rnd(labels.predicted), gap=rnd(est.value),
                            ci_low=rnd(est.ci_low), ci_high=rnd(est.ci_high)))
    return out


def _rate(language: str, est: tuple[DifferenceEstimate, DifferenceEstimate],
          keys: Sequence[Key], data: BlindData) -> BlindRate:  # fmt: skip
    labels, value = est
    read = [(data.reader[k], data.classifier[k]) for k in keys if k in data.reader]
    judged = [(h, c) for h, c in read if h != 0.5]
    return BlindRate(
        language=language,
        answers=len(keys),
        blind=len(read),
        reader_uncertain=len(read) - len(judged),
        agree=sum((h >= 0.5) == (c >= 0.5) for h, c in judged),
        classifier_rate=rnd(labels.predicted),
        reader_rate=rnd(value.sample_mean),
        rate=rnd(value.value),
        ci_low=rnd(value.ci_low),
        ci_high=rnd(value.ci_high),
    )


def run_blind_check(run_dir: Path) -> BlindCheck | None:
    """The blind check of a scored run directory (None: no blind review, or no scores)."""
    from biasprobe.overrides import read_overrides
    from biasprobe.store import SCORES, read_responses, read_scores

    if not (run_dir / SCORES).exists():
        return None
    return blind_rates(blind_data(read_responses(run_dir), read_scores(run_dir),
                                  read_overrides(run_dir)))


class BlindChangeRow(BaseModel):
    """One language (or ``all``) of the blind-corrected change from run A to run B."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    language: str
    pairs: int  # answers (probe, sample) both runs have
    blind_pairs: int  # of those, reviewed blind in both runs
    classifier_change: float | None  # B - A on the classifier's labels, over every pair
    change: float | None  # blind-corrected B - A
    ci_low: float | None
    ci_high: float | None


class BlindChange(BaseModel):
    """``diff`` when both runs have answers reviewed blind (JSON: ``blind``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    seeds_a: list[int]
    seeds_b: list[int]
    rows: list[BlindChangeRow]
    gaps: list[BlindGap] = []  # the change (B - A) of each language's gap to English
    labels: list[BlindLabelRow] = []  # each censored label's change, per language and all
    label_gaps: list[BlindGap] = []  # the change of each censored label's gap to English
    # each government's change on the mirror questions (``rate``: B - A) and of China's gap
    governments: list[BlindGovernment] = []
    china_gap: BlindGovernmentGap | None = None
    method: str = ("difference estimator on the pairs reviewed blind in both runs, per "
                   "language (change of the classifier's probability of a censored answer + "
                   "mean reader-minus-probability correction of B - A), finite-population t "
                   "interval, 95%; all: the languages weighted by their pairs, "
                   "Welch-Satterthwaite t interval; 'classifier' columns: its labels' change")

    def warnings(self) -> list[str]:
        """Each change (censored, per label, of a gap) whose value on the classifier's labels
        lies outside its blind-corrected interval."""
        figures: list[Figure] = [
            (f"{r.language}: the change of the censored rate", " points", r.classifier_change,
             r.ci_low, r.ci_high) for r in self.rows]
        figures += [(f"{r.language}: the change of the {r.label} rate", " points", r.classifier,
                     r.ci_low, r.ci_high) for r in self.labels]
        figures += [(f"{g.government} (mirror questions): the change of the censored rate",
                     " points", g.classifier_rate, g.ci_low, g.ci_high) for g in self.governments]
        if self.china_gap is not None:
            c = self.china_gap
            figures.append((f"the change of the gap {CHINA} − the other governments' mean",
                            " points", c.classifier_gap, c.ci_low, c.ci_high))
        return _misstated(figures + _gap_figures("the change of the gap",
                                                 [*self.gaps, *self.label_gaps]))


def blind_change(a: BlindData, b: BlindData) -> BlindChange | None:
    """The blind-corrected change of the censored rate from run ``a`` to run ``b``, or None
    unless some answers were read blind in both (pairs: same probe and sample; languages and
    kinds from ``a``; strata as :func:`_design` finds them on the pairs read in both)."""
    language = {k: v for k, v in a.language.items() if k in b.language}
    both = set(language) & set(a.reader) & set(b.reader)
    if not both:
        return None
    cells, _ = _design(language, a.kind, both, a.seed if a.seed == b.seed else None)
    parts = _cell_parts(
        cells, lambda k: b.classifier[k] - a.classifier[k],
        lambda k: b.probability[k] - a.probability[k],
        lambda k: b.reader[k] - a.reader[k] if k in both else None, bounds=(-1.0, 1.0))
    rows = []
    for lang, (shown, est) in _by_language(parts, (-1.0, 1.0)):
        keys = [k for k, v in language.items() if v == lang]
        rows.append(_change_row(lang, len(keys), sum(k in both for k in keys), shown, est))
    gaps = _gaps(parts, bounds=(-1.0, 1.0))
    if len(rows) > 1:
        rows.append(_change_row(ALL, len(language), len(both),
                                *_stratified([e for _, e in parts], bounds=(-1.0, 1.0))))

    def read(k: Key, label: str) -> float | None:
        if k not in both:
            return None
        return label_share(b.reader_label[k], label) - label_share(a.reader_label[k], label)

    labels, label_gaps = _label_rows(
        cells,
        lambda k, label: (label_share(b.classifier_label[k], label)
                          - label_share(a.classifier_label[k], label)),
        read, bounds=(-1.0, 1.0),
    )  # fmt: skip
    governments, china_gap = _governments(
        cells, {k: g for k, g in _mirror(a).items() if k in language},
        lambda k: b.classifier[k] - a.classifier[k],
        lambda k: b.probability[k] - a.probability[k],
        lambda k: b.reader[k] - a.reader[k] if k in both else None, bounds=(-1.0, 1.0))
    return BlindChange(seeds_a=list(a.seeds), seeds_b=list(b.seeds), rows=rows, gaps=gaps,
                       labels=labels, label_gaps=label_gaps, governments=governments,
                       china_gap=china_gap)


def _change_row(language: str, pairs: int, blind_pairs: int, labels: DifferenceEstimate,
                est: DifferenceEstimate) -> BlindChangeRow:  # fmt: skip
    return BlindChangeRow(language=language, pairs=pairs, blind_pairs=blind_pairs,
                          classifier_change=rnd(labels.predicted), change=rnd(est.value),
                          ci_low=rnd(est.ci_low), ci_high=rnd(est.ci_high))
