"""Honest churn evaluation: Kaplan-Meier horizon by hand, no choice or feature sees data after
its cut-off, calibration chosen when it lowers the Brier score."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import brier_score_loss
from sklearn.model_selection import StratifiedKFold
from test_churn import FR, SNAPSHOT, UK, make_lines, regular_rows

from analytics.calibration import CalibratedChurnModel, choose_calibration
from analytics.churn import churn_features, score_customers, train_churn_model
from analytics.churn_horizon import churn_horizon, gaps_before, kaplan_meier, km_horizon


def test_kaplan_meier_by_hand():
    """Durations 2, 3, 3+, 5, 8+ (+ = censored): S(2) = 4/5, S(3) = 4/5 x 3/4 = 0.6,
    S(5) = 0.6 x (1 - 1/2) = 0.3 (at risk at 5: the 5 and the 8+)."""
    km = kaplan_meier(np.array([2, 3, 3, 5, 8]), np.array([1, 1, 0, 1, 0], bool))
    assert km["time"].tolist() == [2, 3, 5]
    assert km["at_risk"].tolist() == [5, 4, 2]
    np.testing.assert_allclose(km["survival"], [0.8, 0.6, 0.3])


def test_km_horizon_by_hand():
    """A: days 0, 10, 30 (gaps 10, 20), running 70 at the cut-off day 100; B: days 50, 90
    (gap 40), running 10; C: day 95 only, running 5.  Events 10, 20, 40; censored 5, 10, 70.
    At risk: t=10: 5 (all but the 5) -> S = 4/5; t=20: 3 -> 8/15; t=40: 2 -> 4/15.
    F = 1/5, 7/15, 11/15; 90 % of 11/15 = 0.66 -> H = 40."""
    start = pd.Timestamp("2024-01-01")
    rows = [(f"i{c}{d}", c, (start + pd.Timedelta(days=d)).isoformat(), "P1", 1, 1.0, UK)
            for c, days in {"A": (0, 10, 30), "B": (50, 90), "C": (95,)}.items() for d in days]
    lines = make_lines(rows)
    cutoff = start + pd.Timedelta(days=100)
    durations, observed = gaps_before(lines, cutoff)
    assert sorted(durations[observed].tolist()) == [10, 20, 40]
    assert sorted(durations[~observed].tolist()) == [5, 10, 70]
    assert km_horizon(lines, cutoff) == 40


@pytest.fixture(scope="module")
def regular():
    return make_lines(regular_rows())


@pytest.fixture(scope="module")
def model(regular):
    return train_churn_model(regular, SNAPSHOT, seed=0)


def test_horizon_uses_only_gaps_before_the_evaluation_cut_off(regular, model):
    H = model.horizon_days
    assert model.cutoff_eval == SNAPSHOT - pd.Timedelta(days=H)
    assert min(model.horizon_path) == H and km_horizon(regular, SNAPSHOT - pd.Timedelta(days=H)) >= H
    assert churn_horizon(regular, SNAPSHOT)[0] == H


def perturbed_after(cutoff: pd.Timestamp) -> pd.DataFrame:
    """The regular log with every order on or after ``cutoff`` removed for customers of even
    number, and big new orders for others: the evaluation labels change, nothing before it."""
    rows = [row for row in regular_rows()
            if not (pd.Timestamp(row[2]) >= cutoff and int(row[1][1:]) % 2 == 0)]
    rows += [(f"X{i}", f"c{i}", (cutoff + pd.Timedelta(days=3 + i % 20)).isoformat(), "P1", 50, 9.99, FR)
             for i in range(1, 600, 4)]
    return make_lines(rows)


def test_no_choice_horizon_or_feature_uses_data_after_its_cut_off(regular, model):
    """Perturb everything on or after the evaluation cut-off T - H: the horizon, the chosen model,
    calibration, threshold, every cross-validated figure and the training features stay identical;
    only the evaluation figures move.  Any look-ahead (H from all gaps, a choice by evaluation AUC,
    a feature reading later lines) makes this fail."""
    cutoff = model.cutoff_eval
    changed = perturbed_after(cutoff)
    again = train_churn_model(changed, SNAPSHOT, seed=0)
    assert again.horizon_days == model.horizon_days and again.horizon_path == model.horizon_path
    assert again.chosen == model.chosen and again.calibration_method == model.calibration_method
    assert again.threshold == model.threshold and again.cv == model.cv
    assert again.metrics["chosen"] != model.metrics["chosen"]  # the perturbation does reach the evaluation
    pd.testing.assert_frame_equal(churn_features(changed, model.cutoff_train), churn_features(regular, model.cutoff_train))
    pd.testing.assert_frame_equal(churn_features(changed, cutoff), churn_features(regular, cutoff))
    # the scores at the snapshot come from the stored estimator (the recipe refitted up to T - H)
    scores = score_customers(model, regular)
    features = churn_features(regular, SNAPSHOT)[list(model.feature_names)]
    np.testing.assert_allclose(scores["churn_probability"], model.estimator.predict_proba(features)[:, 1])


def test_calibration_lowers_the_brier_score_on_a_miscalibrated_score():
    """True churn probabilities p ~ U(0.05, 0.95); the raw score is over-confident
    (logit x 3).  Platt or isotonic, chosen across folds, lowers the Brier score a lot;
    a score that is already calibrated keeps "none"."""
    rng = np.random.default_rng(0)
    p = rng.uniform(0.05, 0.95, 6000)
    y = (rng.random(6000) < p).astype(int)
    logit = np.log(p / (1 - p))
    raw = 1 / (1 + np.exp(-3 * logit))
    folds = list(StratifiedKFold(3, shuffle=True, random_state=0).split(raw, y))
    method, calibrated, briers = choose_calibration(raw, y, folds)
    assert method in ("platt", "isotonic")
    assert briers[method] < briers["none"] - 0.02
    assert brier_score_loss(y, calibrated) == pytest.approx(briers[method])
    assert briers["none"] == pytest.approx(brier_score_loss(y, raw))
    honest, _, honest_briers = choose_calibration(p, y, folds)
    assert honest == "none" or honest_briers[honest] < honest_briers["none"]
    assert min(honest_briers.values()) > honest_briers["none"] - 0.002


def test_calibrated_model_record_round_trip(model):
    record = model.to_record("ds-1")
    estimator, meta = model.estimator_from_record(record, "ds-1")
    assert isinstance(estimator, CalibratedChurnModel) and meta["calibration"] == model.calibration_method
    X = churn_features(make_lines(regular_rows(60, seed=3)), SNAPSHOT)[list(model.feature_names)]
    np.testing.assert_allclose(estimator.predict_proba(X), model.estimator.predict_proba(X))


def test_grouped_folds_keep_customers_together_and_stratify():
    from analytics.churn import grouped_folds

    rng = np.random.default_rng(1)
    groups = np.repeat([f"c{i}" for i in range(300)], 2)  # two cut-offs per customer
    y = (rng.random(600) < 0.3).astype(int)
    folds = grouped_folds(groups, y, 3, seed=0)
    seen = np.concatenate([test for _, test in folds])
    assert sorted(seen.tolist()) == list(range(600))
    for train, test in folds:
        assert not set(groups[train]) & set(groups[test])
        assert abs(y[test].mean() - y.mean()) < 0.03 and abs(len(test) - 200) <= 2
