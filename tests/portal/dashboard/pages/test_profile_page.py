"""Customer profile page: one customer's figures against the log computed by hand,
segment history against analytics, recommendations, and tenant isolation of the id."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import pytest
from dashboard_testlib import as_user, cleaned_log, components_by_id, page_module

from analytics import segment_migration, segmented_rfm
from portal.dashboard.components.figures import money


@pytest.fixture(scope="module")
def alpha(dashboard_logs):
    cleaned = cleaned_log(dashboard_logs["alpha"])
    return cleaned, segmented_rfm(cleaned.lines, cleaned.snapshot_date)


@pytest.fixture
def profile(dashboard_app):
    return page_module("profile")




def _text(node) -> str:
    """All the text under a component."""
    if isinstance(node, (list, tuple)):
        return " ".join(_text(n) for n in node)
    if isinstance(node, (str, int, float)):
        return str(node)
    if node is None or not hasattr(node, "to_plotly_json"):
        return ""
    return _text(getattr(node, "children", None))


def _rows(table) -> list[dict[str, str]]:
    """A product table's rows as header -> cell text."""
    head, body = table.children
    names = [cell.children for cell in head.children.children]
    return [dict(zip(names, (cell.children for cell in row.children))) for row in body.children]


def _busiest(lines: pd.DataFrame) -> str:
    """The customer with the most orders who also returned something (ties: smallest id)."""
    known = lines[lines["customer_id"].notna()]
    orders = known[~known["is_return"]].groupby("customer_id", observed=True)["invoice"].nunique()
    returners = set(known.loc[known["is_return"], "customer_id"].astype(str))
    orders.index = orders.index.astype(str)
    orders = orders[orders.index.isin(returners)]
    return orders[orders == orders.max()].index.min()


def test_known_customer_matches_the_log_by_hand(dashboard_app, alpha, profile):
    cleaned, _ = alpha
    lines = cleaned.lines
    cid = _busiest(lines)
    mine = lines[lines["customer_id"].astype(str) == cid]
    sales = mine[~mine["is_return"]]
    n_orders = sales["invoice"].nunique()
    revenue = mine["revenue"].sum()
    first, last = sales["invoice_date"].min(), sales["invoice_date"].max()
    gross_per_order = sales["revenue"].sum() / n_orders
    with as_user(dashboard_app, "viewer@alpha.test"):
        page = components_by_id(profile.update_profile(f"?customer={cid}"))
    assert page["profile-title"].children == f"Customer {cid}"
    assert page["profile-kpi-orders"].children == f"{n_orders:,}"
    assert page["profile-kpi-revenue"].children == money(revenue)
    assert page["profile-kpi-first-order"].children == f"{first:%Y-%m-%d}"
    assert page["profile-kpi-last-order"].children == f"{last:%Y-%m-%d}"
    assert page["profile-kpi-aov"].children == money(gross_per_order)
    assert page["profile-kpi-tenure"].children == f"{(cleaned.snapshot_date - first.normalize()).days:,} days"
    assert page["profile-kpi-country"].children == str(mine.sort_values("invoice_date")["country"].iloc[-1])
    assert page["profile-kpi-returns"].children == f"{mine.loc[mine['is_return'], 'invoice'].nunique():,}"
    # the timeline: one dot per order (sized by value), one x per return
    figure = {t.name: t for t in go.Figure(page["profile-timeline"].figure).data}
    assert len(figure["Orders"].x) == n_orders
    assert sorted(figure["Orders"].y) == pytest.approx(sorted(sales.groupby("invoice", observed=True)["revenue"]
                                                              .sum().to_numpy()))
    assert sum(figure["Returns"].y) == pytest.approx(mine.loc[mine["is_return"], "revenue"].sum())


def test_model_figures_and_segment_history(dashboard_app, alpha, profile):
    cleaned, rfm = alpha
    cid = _busiest(cleaned.lines)
    with as_user(dashboard_app, "viewer@alpha.test"):
        from portal.dashboard.view import View
        from portal.platform.tenancy import current_context

        stored = View(current_context(), "").customers.loc[cid]
        page = components_by_id(profile.update_profile(f"?customer={cid}"))
    assert page["profile-segment"].children == str(rfm.loc[cid, "segment"])
    assert _text(page["profile-segment-0"]).split()[-len(str(rfm.loc[cid, "segment"]).split()):] == \
        str(rfm.loc[cid, "segment"]).split()
    before = segment_migration(cleaned.lines, cleaned.snapshot_date, 90).customers.loc[cid, "previous"]
    assert _text(page["profile-segment-90"]).endswith(str(before))
    assert page["profile-kpi-clv"].children == money(stored["net_clv_12m"])
    assert page["profile-kpi-p-alive"].children == f"{stored['p_alive'] * 100:.1f}%"
    assert page["profile-kpi-churn"].children == f"{stored['churn_probability'] * 100:.1f}%"
    assert str(stored["risk_band"]) in page["profile-kpi-churn-change"].children[0].children


def test_recommendations_exclude_what_was_bought(dashboard_app, alpha, profile):
    cleaned, _ = alpha
    lines = cleaned.lines
    cid = _busiest(lines)
    bought = set(lines.loc[(lines["customer_id"].astype(str) == cid) & ~lines["is_return"], "stock_code"]
                 .astype(str))
    with as_user(dashboard_app, "viewer@alpha.test"):
        page = components_by_id(profile.update_profile(f"?customer={cid}"))
    recommended = _rows(page["profile-recommendations"])
    assert len(recommended) == 10
    assert [r["#"] for r in recommended] == [str(i) for i in range(1, 11)]
    assert not {r["Product"] for r in recommended} & bought
    assert {r["Source"] for r in recommended} <= {"co-purchase", "popularity"}
    assert all(r["Description"] for r in recommended)
    top = _rows(page["profile-top-products"])
    assert {r["Product"] for r in top} <= bought
    mine = lines[lines["customer_id"].astype(str) == cid]
    by_product = mine.groupby(mine["stock_code"].astype(str), observed=True)["revenue"].sum()
    assert top[0]["Product"] == by_product.idxmax()
    assert top[0]["Net revenue"] == money(by_product.max())


def test_unknown_and_other_tenants_ids_show_nothing(dashboard_app, dashboard_logs, alpha, profile):
    _, rfm = alpha
    beta = cleaned_log(dashboard_logs["beta"])
    beta_rfm = segmented_rfm(beta.lines, beta.snapshot_date)
    # the synthetic logs number customers alike (every beta id is also an alpha id): take one beta lacks
    alpha_only = max(set(rfm.index) - set(beta_rfm.index))
    with as_user(dashboard_app, "manager@beta.test"):
        foreign = profile.update_profile(f"?customer={alpha_only}")
        unknown = profile.update_profile("?customer=no-such-id")
        shared = components_by_id(profile.update_profile(f"?customer={beta_rfm.index[0]}"))
        layout = components_by_id(profile.layout(customer=alpha_only))
    for state in (foreign, unknown):
        assert state.id == "profile-no-customer" and state.children == "No customer with this id."
    # an id both tenants use: beta's user gets beta's customer, never alpha's
    assert shared["profile-kpi-orders"].children == f"{beta_rfm.iloc[0]['frequency']:,}"
    suggestions = {o.value for o in layout["profile-customer-ids"].children}
    assert suggestions <= set(beta_rfm.index) and alpha_only not in suggestions
    assert f"customer={alpha_only}" in layout["profile-query"].data  # the URL keeps what was typed


def test_prompt_without_an_id(dashboard_app, profile):
    with as_user(dashboard_app, "viewer@alpha.test"):
        state = profile.update_profile("")
    assert state.id == "profile-prompt"


def test_profile_works_before_the_models_are_fitted(app, profile):
    from portal.dashboard.view import View
    from portal.platform.tenancy import current_context

    with as_user(app, "viewer@alpha.test"):
        cid = View(current_context(), "").customers.index[0]
        page = components_by_id(page_module("profile").update_profile(f"?customer={cid}"))
    assert page["profile-title"].children == f"Customer {cid}"
    assert page["profile-kpi-clv"].children == "–"
    assert "profile-recommendations-pending" in page and "profile-timeline" in page
