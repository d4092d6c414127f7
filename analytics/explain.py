"""Two or three sentences per model about this shop, in a manager's words.

:func:`purchase_model_summary` (from a :class:`~analytics.clv.ClvResult`):

* "a typical repeat customer orders every N days": the median, over customers
  with at least one repeat purchase day, of their mean gap (first to last
  purchase day / repeat purchase days);
* "X % of one-time buyers order again within a year": the model's probability
  of at least one repeat purchase day in 365 days, averaged over customers
  with a single purchase day (by simulation from each one's posterior,
  :func:`analytics.intervals.simulate_purchases`, 400 draws per unique row);
* "the model is right within Y orders per customer on the last 90 days": the
  chosen model's holdout MAE (purchase days per customer).

:func:`churn_model_summary` (from a :class:`~analytics.churn.ChurnModel`):
the churn rate, how often the model ranks a churner above a returning customer
(ROC AUC) against recency alone, and the Brier score against the base rate.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .btyd_models import unique_rows
from .intervals import simulate_purchases
from .purchase_models import LABELS


def purchase_model_summary(clv, seed: int = 0) -> dict:
    """``text`` (plain sentences) and the figures behind it (``typical_gap_days``,
    ``one_time_return_within_year``, ``holdout_mae``, ``holdout_days``)."""
    table = clv.customers
    repeat = table["repeat_purchase_days"] > 0
    gaps = table.loc[repeat, "btyd_recency_days"] / table.loc[repeat, "repeat_purchase_days"]
    typical = float(gaps.median()) if len(gaps) else float("nan")
    once = table.loc[~repeat]
    share = float("nan")
    if len(once):
        summary = pd.DataFrame({"frequency": once["repeat_purchase_days"].to_numpy(),
                                "recency": once["btyd_recency_days"].to_numpy(), "T": once["btyd_age_days"].to_numpy()})
        uniq, inverse = unique_rows(summary)
        draws = simulate_purchases(clv.fit, uniq, 365.0, 400, np.random.default_rng(seed))
        share = float((draws > 0).mean(axis=1)[inverse].mean())
    choice = clv.choice
    scored = None if choice is None else choice.candidates.get(clv.purchase_model)
    mae = None if scored is None or scored.error is not None else float(scored.mae)
    sentences = []
    if np.isfinite(typical):
        sentences.append(f"A typical repeat customer orders every {typical:.0f} days.")
    if np.isfinite(share):
        sentences.append(f"{share:.0%} of one-time buyers are expected to order again within a year.")
    if mae is not None:
        sentences.append(f"On the last {choice.holdout_days} days the {LABELS[clv.purchase_model]} model was right "
                         f"within {mae:.2f} orders (purchase days) per customer on average.")
    elif choice is not None and choice.insufficient:
        sentences.append("The forecast could not be checked on held-out time: " + choice.insufficient)
    if not clv.p_alive_informative:
        sentences.append("The data shows no sign of customers leaving for good, so P(alive) is not a risk measure "
                         "here; see the churn model.")
    return {"text": " ".join(sentences), "typical_gap_days": typical, "one_time_return_within_year": share,
            "holdout_mae": mae, "holdout_days": None if choice is None else choice.holdout_days}


def churn_model_summary(model) -> dict:
    """``text`` and figures: churn rate at the evaluation cut-off, ROC AUC vs recency, Brier vs base rate."""
    chosen = model.metrics["chosen"]
    recency = model.metrics["baseline_recency"]["roc_auc"]
    base = model.metrics["baseline_base_rate"]["brier"]
    text = (f"{model.churn_rate_eval:.0%} of the customers active on {model.cutoff_eval.date()} did not order in "
            f"the next {model.horizon_days} days. Given a customer who left and one who came back, the model "
            f"ranks the leaver higher {chosen['roc_auc']:.0%} of the time (days since the last order alone: "
            f"{recency:.0%}). Its probabilities score a Brier of {chosen['brier']:.3f} against {base:.3f} for "
            f"the shop's base rate ({'calibrated: ' + model.calibration_method if model.calibration_method != 'none' else 'not recalibrated'}).")
    return {"text": text, "churn_rate": model.churn_rate_eval, "roc_auc": chosen["roc_auc"],
            "roc_auc_recency": recency, "brier": chosen["brier"], "brier_base_rate": base}
