"""Figures of the Churn risk page: ROC, precision-recall, confusion matrix, calibration, importances.

Built from analytics tables; the page module wires them to its callbacks."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from analytics.churn import FEATURES, baseline_rule_point

from .figures import SEQUENTIAL, percent, themed
from .palette import INK, MEASURE, REFERENCE


CURVE_HEIGHT = 380
MODEL_NAMES = {"logistic_regression": "Logistic regression", "gradient_boosting": "Gradient boosting",
               "baseline_recency": "Baseline: recency"}


def _legend_only(name: str, colour: str, dash_style: str = "dash") -> go.Scatter:
    return go.Scatter(x=[None], y=[None], mode="lines", name=name, line={"color": colour, "dash": dash_style},
                      hoverinfo="skip")


def _unit_axes(figure: go.Figure, x: str, y: str) -> go.Figure:
    figure.update_xaxes(title=x, range=[-0.01, 1.01], tickformat=".0%", constrain="domain")
    figure.update_yaxes(title=y, range=[-0.01, 1.02], tickformat=".0%")
    figure.update_layout(legend={"orientation": "v", "x": 0.99, "xanchor": "right", "y": 0.02, "yanchor": "bottom",
                                 "bgcolor": "rgba(255,255,255,0.85)", "bordercolor": "#dee2e6", "borderwidth": 1},
                         margin={"b": 50})
    return figure


def roc_figure(churn) -> go.Figure:
    metrics, chosen = churn.metrics, churn.chosen
    other = next(name for name in ("logistic_regression", "gradient_boosting") if name != chosen)
    roc = churn.roc_curve
    figure = go.Figure()
    figure.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="Chance · AUC 0.500",
                       line={"color": "#999999", "dash": "dot"}, hoverinfo="skip")
    figure.add_scatter(x=roc["fpr"], y=roc["tpr"], mode="lines", line={"color": MEASURE, "width": 3},
                       name=f"{MODEL_NAMES[chosen]} (chosen) · AUC {metrics[chosen]['roc_auc']:.3f}",
                       customdata=roc["threshold"].clip(upper=1.0),
                       hovertemplate="False positive rate %{x:.1%}<br>True positive rate %{y:.1%}"
                                     "<br>Threshold %{customdata:.3f}<extra></extra>")
    figure.add_trace(_legend_only(f"{MODEL_NAMES[other]} · AUC {metrics[other]['roc_auc']:.3f} (curve not stored)",
                                  REFERENCE))
    point = baseline_rule_point(churn)
    figure.add_scatter(x=[point["fpr"]], y=[point["tpr"]], mode="markers",
                       marker={"symbol": "diamond", "size": 12, "color": INK},
                       name=f"Baseline recency · AUC {metrics['baseline_recency']['roc_auc']:.3f}; "
                            f"◆ rule recency > {churn.horizon_days} d",
                       hovertemplate=f"Rule: {churn.baseline['rule']}<br>False positive rate %{{x:.1%}}"
                                     "<br>True positive rate %{y:.1%}<extra></extra>")
    return themed(_unit_axes(figure, "False positive rate (retained flagged)", "True positive rate (churners caught)"),
                  height=CURVE_HEIGHT)


def pr_figure(churn) -> go.Figure:
    metrics, chosen = churn.metrics, churn.chosen
    other = next(name for name in ("logistic_regression", "gradient_boosting") if name != chosen)
    pr = churn.pr_curve
    figure = go.Figure()
    figure.add_scatter(x=[0, 1], y=[churn.churn_rate_eval] * 2, mode="lines",
                       name=f"Chance (churn rate {percent(churn.churn_rate_eval)})",
                       line={"color": "#999999", "dash": "dot"}, hoverinfo="skip")
    figure.add_scatter(x=pr["recall"], y=pr["precision"], mode="lines", line={"color": MEASURE, "width": 3},
                       name=f"{MODEL_NAMES[chosen]} (chosen) · PR AUC {metrics[chosen]['pr_auc']:.3f}",
                       customdata=pr["threshold"],
                       hovertemplate="Recall %{x:.1%}<br>Precision %{y:.1%}<br>Threshold %{customdata:.3f}"
                                     "<extra></extra>")
    figure.add_trace(_legend_only(f"{MODEL_NAMES[other]} · PR AUC {metrics[other]['pr_auc']:.3f}", REFERENCE))
    figure.add_scatter(x=[churn.baseline["rule_recall"]], y=[churn.baseline["rule_precision"]], mode="markers",
                       marker={"symbol": "diamond", "size": 12, "color": INK},
                       name=f"Baseline recency · PR AUC {metrics['baseline_recency']['pr_auc']:.3f}; ◆ rule",
                       hovertemplate=f"Rule: {churn.baseline['rule']}<br>Recall %{{x:.1%}}"
                                     "<br>Precision %{y:.1%}<extra></extra>")
    return themed(_unit_axes(figure, "Recall (churners caught)", "Precision (flagged who churned)"),
                  height=CURVE_HEIGHT)


def confusion_figure(churn) -> go.Figure:
    matrix = churn.confusion_matrix
    values = matrix.to_numpy()
    row_share = values / np.maximum(values.sum(axis=1, keepdims=True), 1)
    labels = {"retained": "Retained", "churned": "Churned"}
    x = [f"Predicted {labels[c].lower()}" for c in matrix.columns]
    y = [f"Actually {labels[r].lower()}" for r in matrix.index]
    text = [[f"{values[i, j]:,}<br>({row_share[i, j]:.0%} of row)" for j in range(values.shape[1])]
            for i in range(values.shape[0])]
    figure = go.Figure(go.Heatmap(
        z=values, x=x, y=y, text=text, texttemplate="%{text}", textfont={"size": 15}, colorscale=SEQUENTIAL,
        showscale=False, customdata=row_share,
        hovertemplate="%{y}, %{x}: %{z:,} customers (%{customdata:.1%} of the row)<extra></extra>"))
    figure.update_yaxes(autorange="reversed")
    figure.add_annotation(
        text=f"Threshold {churn.threshold:.3f}: predicted churned if the churn probability >= it<br>"
             f"{int(values.sum()):,} customers at the evaluation cut-off {churn.cutoff_eval:%Y-%m-%d}",
        showarrow=False, xref="paper", yref="paper", x=0.5, y=-0.12, yanchor="top",
        font={"size": 11, "color": "#6c757d"})
    figure.update_layout(margin={"l": 120, "t": 20, "b": 80})
    return themed(figure, height=CURVE_HEIGHT)


def calibration_figure(churn) -> go.Figure:
    calibration = churn.calibration
    figure = go.Figure()
    figure.add_scatter(x=[0, 1], y=[0, 1], mode="lines", name="Perfect calibration",
                       line={"color": "#999999", "dash": "dot"}, hoverinfo="skip")
    figure.add_scatter(x=calibration["mean_predicted"], y=calibration["fraction_churned"], mode="lines+markers",
                       name=MODEL_NAMES[churn.chosen], line={"color": MEASURE, "width": 3},
                       marker={"size": 8},
                       hovertemplate="Mean predicted %{x:.1%}<br>Observed churn rate %{y:.1%}<extra></extra>")
    figure = _unit_axes(figure, "Mean predicted churn probability (bin)", "Observed churn rate (bin)")
    figure.update_layout(legend={"x": 0.99, "y": 0.02})
    return themed(figure, height=CURVE_HEIGHT)


def importance_figure(churn) -> go.Figure:
    table = churn.feature_importance.iloc[::-1]
    hover = [FEATURES.get(f, f) for f in table["feature"]]
    figure = go.Figure(go.Bar(
        x=table["importance"], y=table["feature"], orientation="h", marker_color=MEASURE,
        error_x={"type": "data", "array": table["std"], "color": "#555555", "thickness": 1},
        customdata=np.column_stack([hover, table["std"]]),
        hovertemplate="<b>%{y}</b>: %{customdata[0]}<br>AUC drop %{x:.4f} ± %{customdata[1]:.4f}"
                      "<extra></extra>"))
    figure.update_xaxes(title="Drop in ROC AUC when shuffled", zeroline=True, zerolinecolor="#888888")
    figure.update_yaxes(automargin=True)
    figure.update_layout(margin={"l": 140})
    return themed(figure, height=CURVE_HEIGHT + 40)
