"""What the model pages say about a fit, built once per dataset version and model fit.

The plain-language summaries (:func:`analytics.explain.purchase_model_summary`
simulates each one-time buyer's year) and the agreement between P(alive) and the
churn model are computed by analytics from the stored fit, once per fit (the
result's variant is the fit's stamp), never per request or per filter.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..data.results import get_result, register
from .view import ModelsState


@dataclass(frozen=True)
class ModelInsights:
    """``purchase`` / ``churn``: the analytics summaries (``text`` plus figures), or None
    when that part is missing; ``agreement``: :func:`analytics.risk.p_alive_churn_agreement`."""

    purchase: dict | None
    churn: dict | None
    agreement: dict | None


def insights(ctx, state: ModelsState) -> ModelInsights | None:
    """The insights of the stored fit of the context's dataset (None before a fit)."""
    if not state.ready:
        return None
    return get_result(ctx, "model_insights", variant=state.stamp)


def _build(r) -> ModelInsights:
    # Deliberate lazy loading: analytics.explain and analytics.risk load scipy / the model libraries.
    from analytics.explain import churn_model_summary, purchase_model_summary
    from analytics.risk import p_alive_churn_agreement

    fitted: Any = r("models")
    if fitted is None:
        return ModelInsights(None, None, None)
    clv, churn, scores = fitted.clv, fitted.churn, fitted.churn_scores
    seed = int(fitted.settings.get("seed", 0))
    purchase = purchase_model_summary(clv, seed=seed) if clv is not None else None
    churn_text = churn_model_summary(churn) if churn is not None else None
    agreement = None
    if clv is not None and scores is not None:
        agreement = p_alive_churn_agreement(clv.customers["p_alive"], scores["churn_probability"],
                                            clv.p_alive_informative,
                                            repeat=clv.customers["repeat_purchase_days"] > 0)
    return ModelInsights(purchase, churn_text, agreement)


register("model_insights", _build)
