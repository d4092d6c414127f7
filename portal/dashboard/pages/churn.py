"""Churn risk: who is likely to stop ordering, how much revenue that puts at risk,
and the model card that says how far to trust the scores.

The at-risk list and the summary cards follow the filters (they are the
filtered customers' scores at the snapshot); the model card describes the
fitted model itself (trained and evaluated on all customers at two past
cut-offs, :mod:`analytics.churn`) and does not change with the filters.
"""
from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import Output, dcc, html

from analytics.churn import RISK_BANDS, risk_band_summary
from portal.dashboard.components.cards import graph, kpi_card, panel
from portal.dashboard.components.customerlist import customer_list_view, profile_form
from portal.dashboard.components.figures import count, message_figure, percent
from portal.dashboard.components.page import canonical_query, open_view, page_callback, page_frame
from portal.dashboard.components.states import NO_MATCH
from portal.dashboard.components.tables import small_table
from portal.dashboard.components.churn_figures import (
    CURVE_HEIGHT,
    MODEL_NAMES,
    calibration_figure,
    confusion_figure,
    importance_figure,
    pr_figure,
    roc_figure,
)
from portal.dashboard.components.help import help_points
from portal.dashboard.components.model_explain import summary_box
from portal.dashboard.model_insights import insights
from portal.dashboard.customer_lists import Column, customer_list
from portal.dashboard.view import RISK_BANDS as BAND_ORDER
from portal.dashboard.view import View
from portal.platform.tenancy import current_context

PAGE_ID = "churn"
PATH = "/churn"

dash.register_page(__name__, path=PATH, name="Churn risk", title="Churn risk · Customer analytics", order=50)

_HIGH, _MEDIUM = (cut for _, cut in RISK_BANDS)


def _scored(view: View):
    """The filtered customers that have a churn score."""
    customers = view.selected_customers
    if "churn_probability" not in customers.columns:
        return customers.iloc[:0]
    return customers.loc[customers["churn_probability"].notna()]


CHURN_LIST = customer_list(
    "churn", "Customers at risk of churning",
    (Column("churn_probability", "Churn prob.", "pct"), Column("risk_band", "Risk band"),
     Column("net_revenue_at_risk", "Revenue at risk", "money"), Column("net_clv_12m", "CLV 12m", "money"),
     Column("last_order", "Last order", "date"), Column("recency", "Recency (days)", "int"),
     Column("frequency", "Orders", "int"), Column("segment", "Segment"), Column("country", "Country")),
    rows=_scored, default_sort=(("net_revenue_at_risk", "desc"),), needs_models=True,
)

#: "How to read this": the points of churn.md beside this module.
HOW_TO = help_points(__file__, _HIGH=_HIGH, _MEDIUM=_MEDIUM)


def layout(**query):
    view = open_view(current_context(), query)
    return page_frame(view, title="Churn risk", page_id=PAGE_ID, path=PATH, how_to=HOW_TO, body=_body,
                      needs_models=True)


def _body(view: View) -> html.Div:
    churn = view.models.results.churn
    explained = insights(view.ctx, view.models)
    return html.Div([
        summary_box(explained.churn if explained else None, "churn-summary"),
        html.Div(id="churn-cards", className="mb-2"),
        panel("Customers at risk", customer_list_view("churn", view, canonical_query(view)),
              actions=profile_form("churn"),
              subtitle="Sorted by revenue at risk; sort, filter and page in the grid. Filters apply."),
        html.H3("Model card", className="h5 mt-4 mb-1"),
        html.P("About the churn model itself, evaluated on all customers: the filters above do not change it.",
               className="text-secondary small mb-2", id="churn-model-scope"),
        _model_card(view) if churn is not None else dbc.Alert(
            "The churn model could not be trained: " + view.models.results.errors.get("churn", "unknown reason"),
            color="warning", id="churn-model-missing"),
    ])


# --------------------------------------------------------------------------
# summary cards (filtered)


@page_callback(PAGE_ID, Output("churn-cards", "children"))
def update_cards(view: View):
    if not view.models.ready:
        return dbc.Alert("The models are not fitted yet.", color="warning")
    if view.models.results.churn_scores is None:
        reason = view.models.results.errors.get("churn_scores", "unknown reason")
        return dbc.Alert(f"Churn scores are not available: {reason}", color="warning", id="churn-scores-missing")
    scored = _scored(view)
    if scored.empty:
        return dbc.Alert(NO_MATCH, color="secondary", id="churn-no-match")
    summary = risk_band_summary(scored)

    def col(card) -> dbc.Col:
        return dbc.Col(card, xs=12, sm=6, lg=3, className="mb-3")

    people = [col(kpi_card(f"{band} risk customers", count(summary.loc[band, "customers"]),
                           card_id=f"churn-card-{band}",
                           note=f"{percent(summary.loc[band, 'share'])} of scored · mean churn probability "
                                f"{percent(summary.loc[band, 'mean_churn_probability'])}"))
              for band in BAND_ORDER]
    people.append(col(kpi_card("Scored customers", count(len(scored)), card_id="churn-card-scored",
                               note="with a churn probability at the snapshot")))
    at_risk = [col(kpi_card(f"Revenue at risk: {band}", view.money(summary.loc[band, "net_revenue_at_risk"]),
                            card_id=f"churn-card-{band}-revenue",
                            note=f"{percent(summary.loc[band, 'net_revenue_at_risk_share'])} of the total"))
               for band in BAND_ORDER]
    at_risk.append(col(kpi_card("Revenue at risk: total", view.money(summary["net_revenue_at_risk"].sum()),
                                card_id="churn-card-revenue-at-risk",
                                note="net: sum over the scored customers above of churn probability x net "
                                     "12-month CLV")))
    return [dbc.Row(people), dbc.Row(at_risk)]


# --------------------------------------------------------------------------
# model card (not filtered)


def _model_card(view: View) -> html.Div:
    churn = view.models.results.churn
    metrics = churn.metrics
    other = next(name for name in ("logistic_regression", "gradient_boosting") if name != churn.chosen)
    chosen_auc, other_auc = metrics[churn.chosen]["roc_auc"], metrics[other]["roc_auc"]
    base_auc = metrics["baseline_recency"]["roc_auc"]
    h = churn.horizon_days
    definition = [
        (f"**Definition.** {churn.definition} *H* = **{h} days**, chosen as the "
        f"{churn.horizon_rule}: nine in ten repeat orders come sooner, so a longer silence is unusual."),
        (f"**Training**: customers active before **{churn.cutoff_train:%Y-%m-%d}**, features from their orders "
        f"before it, labelled by orders in the next {h} days ({churn.n_train:,} customers, "
        f"{percent(churn.churn_rate_train)} churned). **Evaluation**: the same at **{churn.cutoff_eval:%Y-%m-%d}**, "
        f"labelled up to the snapshot {churn.snapshot_date:%Y-%m-%d} ({churn.n_eval:,} customers, "
        f"{percent(churn.churn_rate_eval)} churned). No random split: the model is judged on a later period."),
        (f"**Chosen model: {MODEL_NAMES[churn.chosen]}**, by customer-grouped cross-validation on the training "
        f"rows only (ROC AUC {churn.cv[churn.chosen]['roc_auc']:.3f} there); on the untouched evaluation cut-off "
        f"it scores ROC AUC {chosen_auc:.3f} against {other_auc:.3f} for {MODEL_NAMES[other].lower()}. It was then "
        "refitted on the later cut-offs and scores every customer at the snapshot."),
        calibration_sentence(churn),
        (f"**Baseline**: recency alone as the score has ROC AUC {base_auc:.3f}; the rule "
        f"\"{churn.baseline['rule']}\" has precision {percent(churn.baseline['rule_precision'])}, recall "
        f"{percent(churn.baseline['rule_recall'])}, accuracy {percent(churn.baseline['rule_accuracy'])}."),
        (f"**Threshold** {churn.threshold:.3f} (a customer is predicted to churn at or above it): it "
        f"{churn.threshold_rule}. **Risk bands**: high >= {_HIGH:.0%}, medium >= {_MEDIUM:.0%}, low below "
        "(fixed cut-offs on the churn probability, independent of the threshold)."),
    ]
    if base_auc > chosen_auc:
        definition.append(
            f"**Caution**: on this data the recency baseline ranks customers better than the model "
            f"(AUC {base_auc:.3f} vs {chosen_auc:.3f}); treat the probabilities as a rough ordering.")
    definition += [f"Note: {note}" for note in churn.notes]
    metrics_table = small_table(
        ("Model", "ROC AUC", "PR AUC", "Brier", "Role"),
        [(MODEL_NAMES[churn.chosen] + " as scored", *_figures(metrics["chosen"]),
          f"chosen, calibration: {churn.calibration_method}"),
         *[(MODEL_NAMES[name], *_figures(metrics[name]), role)
           for name, role in ((churn.chosen, "chosen, uncalibrated"), (other, "not chosen"),
                              ("baseline_recency", "naive score"))],
         ("Base rate for everyone", "–", "–", f"{metrics['baseline_base_rate']['brier']:.3f}", "naive probability")],
        table_id="churn-metrics")
    return html.Div([
        panel("How the model works", dcc.Markdown("\n".join(f"- {p}" for p in definition), className="small mb-2",
                                                  id="churn-model-definition"),
              html.Div(metrics_table, style={"maxWidth": "40rem"}), subtitle="Scores on the evaluation cut-off"),
        dbc.Row([
            dbc.Col(panel("ROC curve", graph("churn-roc", height=CURVE_HEIGHT),
                          subtitle="Chosen model on the evaluation cut-off; AUCs of all in the legend"), lg=4),
            dbc.Col(panel("Precision-recall curve", graph("churn-pr", height=CURVE_HEIGHT),
                          subtitle="Chosen model; PR AUC = average precision"), lg=4),
            dbc.Col(panel("Reliability curve", graph("churn-calibration", height=CURVE_HEIGHT),
                          subtitle=f"Brier {metrics['chosen']['brier']:.3f} (base rate "
                                   f"{metrics['baseline_base_rate']['brier']:.3f}); calibration: "
                                   f"{churn.calibration_method}; 10 equal-sized bins", panel_id="churn-reliability"),
                    lg=4),
        ]),
        dbc.Row([
            dbc.Col(panel("Confusion matrix", graph("churn-confusion", height=CURVE_HEIGHT),
                          subtitle=f"Evaluation cut-off, threshold {churn.threshold:.3f} "
                                   "(F1-optimal on the training rows)"), lg=6),
        ]),
        dbc.Row([
            dbc.Col(panel("Feature importance", graph("churn-importance", height=CURVE_HEIGHT + 40),
                          subtitle="Drop in ROC AUC when the feature is shuffled (permutation, 3 repeats)"), lg=7),
            dbc.Col(panel("Classification report", html.Div(id="churn-report"),
                          subtitle="Evaluation cut-off, at the threshold"), lg=5),
        ]),
    ], id="churn-model-card")


@page_callback(PAGE_ID, Output("churn-roc", "figure"), Output("churn-pr", "figure"),
               Output("churn-confusion", "figure"), Output("churn-calibration", "figure"),
               Output("churn-importance", "figure"), Output("churn-report", "children"))
def update_model_card(view: View):
    churn = view.models.results.churn if view.models.ready else None
    if churn is None:
        empty = message_figure("The churn model is not available.", height=CURVE_HEIGHT)
        return empty, empty, empty, empty, empty, None
    return (roc_figure(churn), pr_figure(churn), confusion_figure(churn), calibration_figure(churn),
            importance_figure(churn), report_table(churn))


def _figures(scores: dict) -> tuple[str, str, str]:
    return tuple(f"{scores[k]:.3f}" if k in scores else "–" for k in ("roc_auc", "pr_auc", "brier"))


def calibration_sentence(churn) -> str:
    """Which calibration was done, and the cross-validated Brier scores it was chosen on."""
    briers = churn.cv.get("calibration_brier", {}) if churn.cv else {}
    tried = ", ".join(f"{name} {value:.4f}" for name, value in briers.items())
    done = ("none: recalibrating did not lower the Brier score" if churn.calibration_method == "none"
            else f"**{churn.calibration_method}**, kept because it lowered the Brier score")
    return (f"**Calibration**: {done} (cross-validated Brier on the training rows: {tried or 'not recorded'}). "
            f"On the evaluation cut-off the probabilities score Brier {churn.metrics['chosen']['brier']:.3f}, "
            f"against {churn.metrics['baseline_base_rate']['brier']:.3f} for the base rate given to everyone.")


def report_table(churn) -> html.Div:
    report = churn.classification_report
    names = {"retained": "Retained", "churned": "Churned", "macro avg": "Macro average",
             "weighted avg": "Weighted average"}
    rows = [(names[name], percent(report[name]["precision"]), percent(report[name]["recall"]),
             f"{report[name]['f1-score']:.3f}", f"{int(report[name]['support']):,}")
            for name in names if name in report]
    table = small_table(("Class", "Precision", "Recall", "F1", "Customers"), rows, table_id="churn-report-table")
    accuracy = report.get("accuracy")
    return html.Div([table, html.P(
        f"Accuracy {percent(accuracy)} on {churn.n_eval:,} customers. Precision: of those predicted in the class, "
        "the share who were; recall: of those in the class, the share predicted.",
        className="small text-secondary mt-2 mb-0", id="churn-accuracy")])
