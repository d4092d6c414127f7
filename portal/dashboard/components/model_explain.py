"""What a model page says in words: the plain-language summary at the top, the purchase
models' holdout comparison, the P(alive) verdict and the raw-parameter fold.

Every figure is read from the stored fit (:class:`analytics.clv.ClvResult`,
:class:`analytics.model_choice.ModelChoice`) or from analytics' summaries; nothing
here computes a model figure.
"""
from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
import numpy as np
from dash import dcc, html

from analytics.purchase_models import LABELS

from .tables import small_table

CHURN_PATH = "/churn"
UNINFORMATIVE = ("No purchase model finds customers leaving for good in this data, so P(alive) is about 1 for "
                 "everybody and says nothing about risk. The map is not shown; for who is slipping away, use "
                 "the churn model.")


def summary_box(summary: dict | None, box_id: str) -> Any:
    """The two or three sentences of :mod:`analytics.explain` at the top of a model page."""
    if not summary or not summary.get("text"):
        return html.Div(id=box_id)
    return dbc.Alert(summary["text"], color="light", className="border mb-3", id=box_id)


def details_fold(title: str, *children: Any, fold_id: str) -> html.Details:
    """Raw figures behind a closed fold (``<details>``)."""
    return html.Details([html.Summary(title, className="small fw-semibold"), *children],
                        className="mb-2", id=fold_id)


def uninformative_p_alive() -> dbc.Alert:
    """Said instead of the P(alive) map when no candidate finds dropout."""
    return dbc.Alert([UNINFORMATIVE, " ", dcc.Link("Open the churn page", href=CHURN_PATH,
                                                   className="alert-link")],
                     color="info", id="value-palive-uninformative")


def _fmt(value: float, spec: str) -> str:
    return "–" if value is None or not np.isfinite(value) else format(value, spec)


def candidates_view(clv) -> html.Div:
    """Every candidate's holdout figures (MAE per customer, total purchase days, calibration by
    repeat-purchase bucket), the chosen model, the rule, and boundary fits in plain words."""
    choice = clv.choice
    chosen_label = LABELS[clv.purchase_model]
    lead = [html.Strong(f"Model used: {chosen_label}"),
            " (forced by the shop's setting)." if clv.forced else "."]
    parts: list[Any] = [html.P(lead, className="small mb-1", id="value-choice-chosen")]
    if choice is None or choice.insufficient:
        reason = choice.insufficient if choice is not None else "no holdout comparison was made."
        parts.append(dbc.Alert(f"Not chosen on held-out time: {reason}", color="warning", className="small",
                               id="value-choice-insufficient"))
    else:
        parts.append(html.P([html.Strong("Rule: "), choice.rule + "."], className="small text-secondary mb-2",
                            id="value-choice-rule"))
        rows = [("Actual", "", f"{choice.total_actual:,.0f}", "", "")]
        for name, score in choice.candidates.items():
            mark = " (chosen)" if name == choice.chosen else ""
            if score.error:
                rows.append((LABELS[name] + mark, "not fitted", "", "", score.error))
                continue
            rows.append((LABELS[name] + mark, _fmt(score.mae, ".3f"), _fmt(score.total_predicted, ",.0f"),
                         "no" if score.no_dropout else "yes", f"{score.fitted_customers:,} customers"))
        parts.append(small_table(("Candidate", "MAE per customer", "Total purchase days", "Finds dropout",
                                  "Fitted on"), rows, table_id="value-candidates"))
        parts.append(html.P(
            f"Fitted on purchases before {choice.calibration_end:%Y-%m-%d}, scored on the next "
            f"{choice.holdout_days} days ({choice.n_customers:,} customers). MAE: mean absolute error of each "
            "customer's purchase days in the holdout.", className="small text-secondary mt-1 mb-2"))
        parts.append(_bucket_table(choice))
    boundary = [s.fit.boundary_note() for s in (clv,) if s.fit is not None and s.fit.boundary_note()]
    if boundary:
        parts.append(dbc.Alert(boundary[0], color="warning", className="small mt-2", id="value-boundary-note"))
    return html.Div(parts, id="value-candidates-view")


def _bucket_table(choice) -> html.Div:
    """Mean purchase days in the holdout per repeat-purchase bucket: actual and each candidate."""
    scored = {n: s for n, s in choice.candidates.items() if s.error is None and not s.buckets.empty}
    if not scored:
        return html.Div()
    first = next(iter(scored.values())).buckets
    rows = []
    for bucket in first.index:
        row = [bucket, f"{int(first.loc[bucket, 'customers']):,}", f"{first.loc[bucket, 'actual']:.2f}"]
        row += [_fmt(s.buckets["predicted"].get(bucket, np.nan), ".2f") for s in scored.values()]
        rows.append(tuple(row))
    table = small_table(("Repeat purchase days before", "Customers", "Actual",
                         *[LABELS[n] for n in scored]), rows, table_id="value-candidate-buckets")
    return html.Div([html.Div("Calibration by repeat-purchase bucket (mean purchase days in the holdout)",
                              className="small fw-semibold mt-2 mb-1"), table])


def agreement_view(agreement: dict | None) -> Any:
    """The rank correlation between P(alive) and churn probability, flagged when they disagree."""
    if not agreement:
        return html.Div(id="value-agreement")
    colour = "warning" if agreement.get("disagree") else "light"
    prefix = [html.Strong("The two models disagree. ")] if agreement.get("disagree") else []
    return dbc.Alert([*prefix, agreement["note"]], color=colour, className="small border mb-3",
                     id="value-agreement")
