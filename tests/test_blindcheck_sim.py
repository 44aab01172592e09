"""Simulation tests of the blind check's estimator (:func:`biasprobe.stats.difference_estimate`).

Synthetic runs: a finite population of answers, each truly censored or not, a classifier that
errs at set rates (and differently from the reader: the case the blind check exists for), and a
uniform random sample read by a reader who is always right. The estimate must be unbiased and
its 95% interval must cover the run's true rate about 95% of the time, from small samples (20)
to large (200), for classifiers from poor to nearly perfect (where the pseudo-differences keep
the interval from collapsing); the classifier's own rate must be measurably biased in the
poor-classifier cases (else the test shows nothing).
"""

from __future__ import annotations

import numpy as np
import pytest

from biasprobe.stats import difference_estimate

SIMS = 400


def _simulate(n_pop: int, n: int, prevalence: float, sens: float, spec: float,
              seed: int) -> tuple[float, float, float, list[bool]]:  # fmt: skip
    """(coverage, mean error of the estimate, mean error of the classifier's rate, hits)."""
    rng = np.random.default_rng(seed)
    errs, cls_errs, hits = [], [], []
    for _ in range(SIMS):
        truth = rng.random(n_pop) < prevalence
        flip = np.where(truth, rng.random(n_pop) > sens, rng.random(n_pop) > spec)
        pred = (truth ^ flip).astype(float)
        idx = rng.choice(n_pop, size=n, replace=False)
        est = difference_estimate(list(pred), list(truth[idx].astype(float)), list(pred[idx]))
        true_rate = float(truth.mean())
        assert est.value is not None and est.ci_low is not None and est.ci_high is not None
        errs.append(est.value - true_rate)
        cls_errs.append(float(pred.mean()) - true_rate)
        hits.append(est.ci_low <= true_rate <= est.ci_high)
    return float(np.mean(hits)), float(np.mean(errs)), float(np.mean(cls_errs)), hits


@pytest.mark.parametrize(
    ("n", "prevalence", "sens", "spec"),
    [
        (20, 0.6, 0.75, 0.8),  # a poor classifier, a small sample
        (50, 0.6, 0.75, 0.8),
        (100, 0.3, 0.85, 0.95),
        (200, 0.7, 0.9, 0.7),  # misses complete answers (calls them censored)
    ],
)
def test_interval_covers_the_runs_true_rate(n: int, prevalence: float, sens: float,
                                            spec: float) -> None:  # fmt: skip
    coverage, bias, _, _ = _simulate(800, n, prevalence, sens, spec, seed=n)
    # 400 runs: a true 95% coverage falls outside [0.925, 0.975] with probability < 0.05; the
    # two pseudo-differences make the interval a little wider than nominal
    assert 0.925 <= coverage <= 0.99, coverage
    assert abs(bias) < 0.012, bias


@pytest.mark.parametrize(("n", "sens", "spec", "widest"),
                         [(50, 0.99, 0.99, 0.07), (30, 1.0, 1.0, 0.1), (200, 1.0, 1.0, 0.02)])
def test_interval_does_not_collapse_when_no_error_is_sampled(
    n: int, sens: float, spec: float, widest: float
) -> None:
    """A classifier that made no error on the sample still gets an interval (a sample of 30
    cannot rule out a few percent of errors), conservative but not useless: its half-width
    stays below ``widest`` (near the rule of three's 3/n for a sample with no error)."""
    rng = np.random.default_rng(n)
    truth = rng.random(800) < 0.5
    flip = np.where(truth, rng.random(800) > sens, rng.random(800) > spec)
    pred = (truth ^ flip).astype(float)
    idx = rng.choice(800, size=n, replace=False)
    est = difference_estimate(list(pred), list(truth[idx].astype(float)), list(pred[idx]))
    assert est.ci_low is not None and est.ci_high is not None and est.value is not None
    assert est.ci_high - est.ci_low > 0.01
    assert max(est.value - est.ci_low, est.ci_high - est.value) < widest
    coverage, bias, _, _ = _simulate(800, n, 0.5, sens, spec, seed=n)
    assert coverage >= 0.925 and abs(bias) < 0.012


def test_classifier_rate_is_biased_where_the_estimate_is_not() -> None:
    coverage, bias, cls_bias, _ = _simulate(800, 50, 0.6, 0.75, 0.8, seed=7)
    # E[pred] = 0.6 * 0.75 + 0.4 * 0.2 = 0.53 against a true 0.6: the classifier's own rate is
    # 7 points low; the blind-corrected one is not
    assert cls_bias == pytest.approx(-0.07, abs=0.01)
    assert abs(bias) < 0.01 and coverage >= 0.925


def test_change_between_runs_covers_the_true_change() -> None:
    """Two versions on the same prompts, the same blind sample in both (one seed): the change
    estimate (values in [-1, 1]) covers the true change, and the classifier's change, whose
    errors differ between the versions, does not estimate it."""
    rng = np.random.default_rng(3)
    n_pop, n = 600, 60
    hits, errs, cls_errs = [], [], []
    for _ in range(SIMS):
        ta = rng.random(n_pop) < 0.5
        tb = np.where(rng.random(n_pop) < 0.7, ta, rng.random(n_pop) < 0.75)  # B censors more
        pa = (ta ^ np.where(ta, rng.random(n_pop) > 0.9, rng.random(n_pop) > 0.9)).astype(float)
        pb = (tb ^ np.where(tb, rng.random(n_pop) > 0.7, rng.random(n_pop) > 0.95)).astype(float)
        idx = rng.choice(n_pop, size=n, replace=False)
        pred = pb - pa
        lab = tb.astype(float) - ta.astype(float)
        est = difference_estimate(list(pred), list(lab[idx]), list(pred[idx]), bounds=(-1, 1))
        true_change = float(lab.mean())
        assert est.value is not None and est.ci_low is not None and est.ci_high is not None
        hits.append(est.ci_low <= true_change <= est.ci_high)
        errs.append(est.value - true_change)
        cls_errs.append(float(pred.mean()) - true_change)
    assert 0.925 <= float(np.mean(hits)) <= 0.995
    assert abs(float(np.mean(errs))) < 0.012
    assert float(np.mean(cls_errs)) < -0.04  # B's missed censorship hides part of the rise


def test_stratified_estimate_when_one_language_is_read_more() -> None:
    """A reader reads 20 English and 80 Chinese answers (``review --blind --language``): the
    whole-run rate weighted by language covers the truth at the nominal rate; pooling the
    corrections as if the sample were uniform over the run is biased (the Chinese corrections
    count four times too much), which is why the whole-run row is stratified."""
    from biasprobe.stats import stratified_estimate

    rng = np.random.default_rng(11)
    hits, errs, pooled_errs, widths = [], [], [], []
    for _ in range(SIMS):
        strata = []
        truth_all, pred_all, d_sample = [], [], []
        for n_pop, n, prev, sens, spec in ((400, 20, 0.8, 0.97, 0.8), (400, 80, 0.5, 0.6, 0.95)):
            truth = rng.random(n_pop) < prev
            flip = np.where(truth, rng.random(n_pop) > sens, rng.random(n_pop) > spec)
            pred = (truth ^ flip).astype(float)
            idx = rng.choice(n_pop, size=n, replace=False)
            est = difference_estimate(list(pred), list(truth[idx].astype(float)), list(pred[idx]))
            strata.append((n_pop, est, n))
            truth_all.append(truth)
            pred_all.append(pred)
            d_sample.extend(truth[idx].astype(float) - pred[idx])
        whole = stratified_estimate(strata)
        true_rate = float(np.concatenate(truth_all).mean())
        assert whole.value is not None and whole.ci_low is not None and whole.ci_high is not None
        hits.append(whole.ci_low <= true_rate <= whole.ci_high)
        errs.append(whole.value - true_rate)
        pooled_errs.append(float(np.concatenate(pred_all).mean() + np.mean(d_sample)) - true_rate)
        widths.append(whole.ci_high - whole.ci_low)
    # conservative (coverage 0.995 here: the English stratum's 20 answers carry the two
    # pseudo-differences and half the weight), not useless: about ±10 points for 100 read
    assert float(np.mean(hits)) >= 0.925 and float(np.mean(widths)) / 2 < 0.11
    assert abs(float(np.mean(errs))) < 0.01
    assert float(np.mean(pooled_errs)) > 0.03  # the naive pooling is off (about +5.7 points)


def test_stratified_estimate_edge_cases() -> None:
    from biasprobe.stats import stratified_estimate

    full = difference_estimate([1.0, 0.0, 1.0], [1.0, 0.0], [1.0, 0.0])
    none = difference_estimate([1.0, 0.0], [], [])
    one = difference_estimate([1.0, 0.0], [0.0], [1.0])
    assert stratified_estimate([(3, full, 2), (2, none, 0)]).value is None
    mixed = stratified_estimate([(3, full, 2), (2, one, 1)])
    assert mixed.value is not None and mixed.ci_low is None  # a single label: no interval
    # weights are the strata's sizes: (3 * 2/3 + 2 * 0) / 5
    assert mixed.value == pytest.approx((3 * (2 / 3) + 2 * 0.0) / 5)
    with pytest.raises(ValueError):
        stratified_estimate([])


def _soft_runs(calibrated: bool, n_pop: int = 800, n: int = 60, seed: int = 5
               ) -> tuple[float, float, float, float, float]:  # fmt: skip
    """Runs where the classifier gives a probability: each answer has a true chance ``q`` of
    being censored and is censored with it; the classifier's probability is ``q`` blurred
    (``calibrated``) or ``q`` pushed towards "complete" (it misses censored answers: the
    Chinese case), its label that probability rounded. Returns coverage and bias of the
    estimate with the probability as predictor, coverage of the one with the label, and the
    two mean interval widths."""
    rng = np.random.default_rng(seed)
    hits_p, hits_l, errs, width_p, width_l = [], [], [], [], []
    for _ in range(SIMS):
        logit = rng.normal(0.3, 2.0, n_pop)
        q = 1 / (1 + np.exp(-logit))
        truth = (rng.random(n_pop) < q).astype(float)
        shift = 0.0 if calibrated else -1.2
        prob = 1 / (1 + np.exp(-(logit + shift + rng.normal(0, 0.5, n_pop))))
        label = (prob >= 0.5).astype(float)
        idx = rng.choice(n_pop, size=n, replace=False)
        true_rate = float(truth.mean())
        for pred, hits, widths in ((prob, hits_p, width_p), (label, hits_l, width_l)):
            est = difference_estimate(list(pred), list(truth[idx]), list(pred[idx]))
            assert est.value is not None and est.ci_low is not None and est.ci_high is not None
            hits.append(est.ci_low <= true_rate <= est.ci_high)
            widths.append(est.ci_high - est.ci_low)
            if pred is prob:
                errs.append(est.value - true_rate)
    return (float(np.mean(hits_p)), float(np.mean(errs)), float(np.mean(hits_l)),
            float(np.mean(width_p)), float(np.mean(width_l)))


@pytest.mark.parametrize("calibrated", [True, False])
def test_probability_as_predictor_covers_and_narrows(calibrated: bool) -> None:
    """The blind check's predictor is the classifier's probability of a censored answer
    (:func:`biasprobe.blindcheck.classifier_probability`), not its 0/1 label: still unbiased
    and at nominal coverage, calibrated or not (any predictor fixed before the sample is), and
    a narrower interval than the label's for the same sample, since the corrections are
    smaller on average."""
    cov_p, bias, cov_l, width_p, width_l = _soft_runs(calibrated)
    assert 0.925 <= cov_p <= 0.99, cov_p
    assert 0.925 <= cov_l <= 0.99, cov_l
    assert abs(bias) < 0.012, bias
    assert width_p < 0.95 * width_l, (width_p, width_l)


def _kind_runs(seed: int) -> tuple[float, float, float, float]:
    """Runs of two languages whose mirror questions (asked of four governments, China's most
    censored) are read more than the rest (``review --blind`` then ``--kind mirror``).
    Returns the coverage of the language rates, of China's gap to the others' mean, the mean
    error of the language rate, and that of the same reads taken as a uniform sample."""
    from biasprobe.blindcheck import BlindData, blind_order, blind_rates

    rng = np.random.default_rng(seed)
    n_pop, govs = 400, ["CN", "GB", "RU", "US"]
    keys = [(f"p{i}", 0) for i in range(n_pop)]
    language = {k: ("en" if i % 2 else "zh-Hans") for i, k in enumerate(keys)}
    kind = {k: ("mirror" if i % 4 < 2 else "censorship") for i, k in enumerate(keys)}
    jur = {k: (govs[(i // 4) % 4] if kind[k] == "mirror" else "CN") for i, k in enumerate(keys)}
    hits_lang, hits_gap, errs, naive = [], [], [], []
    for s in range(SIMS // 2):
        prev = {k: (0.85 if kind[k] == "censorship" else 0.8 if jur[k] == "CN" else 0.3)
                for k in keys}
        truth = {k: float(rng.random() < prev[k]) for k in keys}
        # the classifier misses censorship on the mirror questions (as it does in Chinese)
        prob = {k: float(np.clip(prev[k] - (0.25 if kind[k] == "mirror" else 0.0)
                                 + rng.normal(0, 0.15), 0.01, 0.99)) for k in keys}
        label = {k: float(prob[k] >= 0.5) for k in keys}
        order = blind_order(keys, s + 1)
        read = order[:40] + [k for k in order[40:] if kind[k] == "mirror"][:60]
        data = BlindData(language=language, probability=prob, seeds=(s + 1,),
                         classifier_label={k: "refusal" if label[k] else "complete"
                                           for k in keys},
                         reader_label={k: "refusal" if truth[k] else "complete" for k in read},
                         kind=kind, jurisdiction=jur)
        check = blind_rates(data)
        assert check is not None and check.out_of_order == []
        for row in check.rows[:-1]:
            lang_keys = [k for k in keys if language[k] == row.language]
            true_rate = float(np.mean([truth[k] for k in lang_keys]))
            assert row.rate is not None and row.ci_low is not None and row.ci_high is not None
            hits_lang.append(row.ci_low <= true_rate <= row.ci_high)
            errs.append(row.rate - true_rate)
            sample = [k for k in read if language[k] == row.language]
            naive.append(float(np.mean([prob[k] for k in lang_keys]))
                         + float(np.mean([truth[k] - prob[k] for k in sample])) - true_rate)
        gap = check.china_gap
        mirror = [k for k in keys if kind[k] == "mirror"]
        cn = np.mean([truth[k] for k in mirror if jur[k] == "CN"])
        others = np.mean([np.mean([truth[k] for k in mirror if jur[k] == g]) for g in govs[1:]])
        assert gap is not None and gap.ci_low is not None and gap.ci_high is not None
        hits_gap.append(gap.ci_low <= cn - others <= gap.ci_high)
    return (float(np.mean(hits_lang)), float(np.mean(hits_gap)), float(np.mean(errs)),
            float(np.mean(naive)))


def test_reading_by_kind_is_stratified_by_kind() -> None:
    """``review --blind --kind mirror`` after a uniform start reads mirror answers more than
    the rest: within each language each kind's answers read are still the first of their own
    order, so the check stratifies by kind (the language rate stays unbiased and covered) and
    estimates each government as a domain of the mirror strata (China's gap to the others'
    mean covered); taking the same reads as a uniform sample of the language would not be."""
    cov_lang, cov_gap, bias, naive = _kind_runs(21)
    # conservative (each stratum and domain carries its two pseudo-differences), not below 95%
    assert cov_lang >= 0.925 and cov_gap >= 0.925, (cov_lang, cov_gap)
    assert abs(bias) < 0.015, bias
    # the mirror answers' corrections (the classifier's misses) over-read: taking the reads as
    # a uniform sample of the language overstates the rate
    assert naive > 0.04, naive
