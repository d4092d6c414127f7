"""RFM table, scores, segments, concentration: hand-computed toys, properties, real data."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from descriptive_toys import RFM_EXPECTED, RFM_ROWS, RFM_SNAPSHOT, make_log
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.errors import AnalyticsError, InsufficientDataError
from analytics.rfm import (
    SEGMENT_DESCRIPTIONS,
    SEGMENT_MAP,
    SEGMENT_ORDER,
    assign_segments,
    lorenz_curve,
    quintile_scores,
    revenue_concentration,
    rfm_scores,
    rfm_segment_grid,
    rfm_table,
    segment_summary,
    segmented_rfm,
)

# --- rfm_table ------------------------------------------------------------------------

def test_rfm_table_matches_hand_computation(rfm_log):
    rfm = rfm_table(rfm_log.lines, RFM_SNAPSHOT)
    assert rfm.index.dtype == "str" and rfm.index.name == "customer_id"
    pd.testing.assert_frame_equal(rfm[RFM_EXPECTED.columns], RFM_EXPECTED, check_dtype=False)
    assert rfm.loc["A", "first_order"] == pd.Timestamp("2011-01-10 10:00")
    assert rfm.loc["A", "last_order"] == pd.Timestamp("2011-02-27 09:00")
    assert str(rfm["recency"].dtype) == "int64" and str(rfm["frequency"].dtype) == "int64"


def test_return_nets_against_monetary_and_is_not_an_order(rfm_log):
    rfm = rfm_table(rfm_log.lines, RFM_SNAPSHOT)
    assert rfm.loc["A", "monetary"] == pytest.approx(13 - 5 + 6)
    assert rfm.loc["A", "frequency"] == 2  # the cancellation invoice is not an order


def test_return_only_customer_is_not_in_the_table(rfm_log):
    assert "D" not in rfm_table(rfm_log.lines, RFM_SNAPSHOT).index


def test_customer_with_one_order_on_the_last_day_has_recency_one(rfm_log):
    rfm = rfm_table(rfm_log.lines)  # default snapshot: day after the last line
    assert rfm.loc["B", ["recency", "frequency", "tenure"]].tolist() == [1, 1, 1]


def test_lines_after_the_snapshot_change_nothing():
    later = RFM_ROWS + [("1010", "P1", "Apple", 9, "2011-03-01 00:00", 5.0, "A", "Spain"),
                        ("1011", "P1", "Apple", 1, "2011-04-01 09:00", 5.0, "E", "Spain")]
    rfm = rfm_table(make_log(later).lines, RFM_SNAPSHOT)
    pd.testing.assert_frame_equal(rfm, rfm_table(make_log(RFM_ROWS).lines, RFM_SNAPSHOT))


def test_earlier_snapshot_reruns_history(rfm_log):
    rfm = rfm_table(rfm_log.lines, "2011-02-01")
    assert list(rfm.index) == ["A", "C"]
    assert rfm.loc["A", ["recency", "frequency", "monetary", "tenure"]].tolist() == [22, 1, 8.0, 22]


def test_empty_and_guest_only_inputs_give_empty_typed_tables(rfm_log):
    empty = rfm_table(rfm_log.lines.iloc[:0], RFM_SNAPSHOT)
    assert empty.empty and empty.index.dtype == "str" and str(empty["recency"].dtype) == "int64"
    guests = rfm_log.lines.loc[rfm_log.lines["customer_id"].isna()]
    assert rfm_table(guests).empty
    scored = segmented_rfm(rfm_log.lines.iloc[:0], RFM_SNAPSHOT)
    assert scored.empty and list(scored["segment"].cat.categories) == list(SEGMENT_ORDER)
    summary = segment_summary(scored)
    assert list(summary.index) == list(SEGMENT_ORDER) and summary["customers"].sum() == 0


def test_missing_columns_are_named():
    with pytest.raises(AnalyticsError, match="is_return"):
        rfm_table(pd.DataFrame({"invoice": [], "invoice_date": [], "customer_id": [], "country": [],
                                "quantity": [], "revenue": []}))


# --- scores -----------------------------------------------------------------------------

def test_distinct_values_give_exact_quintiles():
    assert quintile_scores(np.arange(10)).tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert quintile_scores(np.arange(10), higher_is_better=False).tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]


def test_ties_at_a_quintile_edge_share_one_score():
    # ranks 1-3 tied: mid-percentile (1+3-1)/20 = 15 % -> score 1 for all three
    # (rank(method="first") would have given the third one a 2)
    values = [1, 1, 1, 2, 3, 4, 5, 6, 7, 8]
    assert quintile_scores(values).tolist() == [1, 1, 1, 2, 3, 3, 4, 4, 5, 5]
    # ranks 2-5 tied straddle the 20 % and 40 % edges: mid-percentile 25 % -> 2
    assert quintile_scores([0, 5, 5, 5, 5, 6, 7, 8, 9, 10]).tolist() == [1, 2, 2, 2, 2, 3, 4, 4, 5, 5]


def test_all_tied_and_single_customer_score_three():
    assert quintile_scores([4, 4, 4]).tolist() == [3, 3, 3]
    assert quintile_scores([7]).tolist() == [3]
    assert quintile_scores([]).tolist() == []


def test_scores_are_independent_of_row_order():
    rng = np.random.default_rng(0)
    values = rng.integers(0, 6, 200)
    order = rng.permutation(200)
    assert (quintile_scores(values)[order] == quintile_scores(values[order])).all()


def test_float_noise_does_not_split_a_monetary_tie():
    rfm = pd.DataFrame({"recency": [1, 2, 3], "frequency": [1, 1, 1], "monetary": [0.1 + 0.2, 0.3, 5.0]})
    assert 0.1 + 0.2 != 0.3
    scores = rfm_scores(rfm)["m_score"].tolist()
    assert scores[0] == scores[1] < scores[2]


def test_rfm_scores_columns(rfm_log):
    scored = rfm_scores(rfm_table(rfm_log.lines, RFM_SNAPSHOT))
    # recency A 2, B 1, C 9 -> best B; frequency A 2, B 1, C 2 (A, C tied); monetary 14, 20, 35
    assert scored["r_score"].tolist() == [3, 5, 1]
    assert scored["f_score"].tolist() == [4, 1, 4]
    assert scored["m_score"].tolist() == [1, 3, 5]
    assert scored["rfm_score"].tolist() == ["341", "513", "145"]
    assert scored["fm_score"].tolist() == [3, 2, 5]  # (4+1+1)//2, (1+3+1)//2, (4+5+1)//2


# --- segments ---------------------------------------------------------------------------

EXPECTED_GRID = {  # r_score -> segments for f_score 1..5
    5: ["New Customers", "Potential Loyalists", "Potential Loyalists", "Champions", "Champions"],
    4: ["Promising", "Potential Loyalists", "Potential Loyalists", "Loyal Customers", "Loyal Customers"],
    3: ["About to Sleep", "About to Sleep", "Need Attention", "Loyal Customers", "Loyal Customers"],
    2: ["Hibernating", "Hibernating", "At Risk", "At Risk", "Can't Lose Them"],
    1: ["Lost", "Hibernating", "At Risk", "At Risk", "Can't Lose Them"],
}


def test_segment_map_is_the_documented_grid():
    cells = pd.DataFrame([(r, f) for r in range(1, 6) for f in range(1, 6)], columns=["r_score", "f_score"])
    segments = assign_segments(cells)
    for (r, f), segment in zip(cells.itertuples(index=False), segments):
        assert segment == EXPECTED_GRID[r][f - 1], (r, f)
        hits = [s for p, s in SEGMENT_MAP.itertuples(index=False) if re.fullmatch(p, f"{r}{f}")]
        assert hits == [segment]
    assert set(SEGMENT_DESCRIPTIONS) == set(SEGMENT_ORDER) == set(segments)


def test_assign_segments_rejects_scores_out_of_range():
    with pytest.raises(AnalyticsError, match="1 to 5"):
        assign_segments(pd.DataFrame({"r_score": [0], "f_score": [3]}))


def test_segment_summary_keeps_every_segment_in_order(rfm_log):
    scored = segmented_rfm(rfm_log.lines, RFM_SNAPSHOT)
    # (r, f): A (3, 4), B (5, 1), C (1, 4)
    assert scored["segment"].tolist() == ["Loyal Customers", "New Customers", "At Risk"]
    summary = segment_summary(scored)
    assert list(summary.index) == list(SEGMENT_ORDER)
    assert summary["customers"].sum() == 3 and summary.loc["Lost", "customers"] == 0
    assert np.isnan(summary.loc["Lost", "mean_recency"])
    assert summary.loc["New Customers", "revenue_share"] == pytest.approx(20 / 69)
    assert summary["share"].sum() == pytest.approx(1.0)


def test_segment_grid_counts(rfm_log):
    grid = rfm_segment_grid(rfm_scores(rfm_table(rfm_log.lines, RFM_SNAPSHOT)))
    assert grid.shape == (5, 5) and grid.to_numpy().sum() == 3
    assert grid.loc[3, 4] == 1 and grid.loc[5, 1] == 1 and grid.loc[1, 4] == 1


# --- concentration ------------------------------------------------------------------------

def test_concentration_and_gini_by_hand():
    # clipped and sorted: 0, 0, 10, 30, 60 (total 100);
    # gini = 2*(3*10 + 4*30 + 5*60)/(5*100) - 6/5 = 1.8 - 1.2 = 0.6
    # Lorenz at 0.8 is 0.4 -> top 20 % = 0.6; at 0.9 halfway to 1.0 -> 0.7 -> top 10 % = 0.3
    # at 0.99: 0.4 + 0.95 * 0.6 = 0.97 -> top 1 % = 0.03
    result = revenue_concentration(pd.Series([30.0, -5.0, 60.0, 0.0, 10.0]))
    assert result["gini"] == pytest.approx(0.6)
    assert result["top_20pct_share"] == pytest.approx(0.6)
    assert result["top_10pct_share"] == pytest.approx(0.3)
    assert result["top_1pct_share"] == pytest.approx(0.03)
    assert result["customers"] == 5 and result["non_positive_customers"] == 2


def test_equal_spend_has_zero_gini_and_a_diagonal_lorenz_curve():
    assert revenue_concentration([5.0] * 4)["gini"] == pytest.approx(0.0)
    curve = lorenz_curve([5.0] * 4, points=5)
    assert np.allclose(curve["customer_share"], curve["revenue_share"])


def test_lorenz_curve_by_hand():
    curve = lorenz_curve([0.0, 10.0, 30.0, 60.0, -1.0], points=6)
    assert curve["customer_share"].tolist() == pytest.approx([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    assert curve["revenue_share"].tolist() == pytest.approx([0, 0, 0, 0.1, 0.4, 1.0])


def test_concentration_without_positive_revenue_raises():
    with pytest.raises(InsufficientDataError, match="positive net revenue"):
        revenue_concentration([])
    with pytest.raises(InsufficientDataError):
        lorenz_curve([-3.0, 0.0])


# --- properties ---------------------------------------------------------------------------

line = st.tuples(
    st.sampled_from(["c1", "c2", "c3", "c4", "c5", "c6", "c7", ""]),  # "" = guest
    st.integers(0, 40),  # day offset
    st.integers(1, 5),  # quantity
    st.sampled_from([1.0, 2.5, 4.0]),
    st.booleans(),  # is a return
    st.integers(0, 6),  # invoice number within the day
)


def rows_from(draw_lines):
    rows = []
    for customer, day, quantity, price, is_return, slot in draw_lines:
        date = pd.Timestamp("2011-01-01") + pd.Timedelta(days=day, hours=9 + slot)
        invoice = f"{'C' if is_return else ''}{day:03d}{slot}{customer or 'g'}"
        rows.append((invoice, f"P{int(price)}", "thing", -quantity if is_return else quantity,
                     date.strftime("%Y-%m-%d %H:%M"), price, customer, "United Kingdom"))
    return rows


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(line, min_size=1, max_size=30), st.integers(0, 45))
def test_rfm_properties(drawn, cut):
    cleaned = make_log(rows_from(drawn))
    snapshot = pd.Timestamp("2011-01-01") + pd.Timedelta(days=cut)
    scored = segmented_rfm(cleaned.lines, snapshot)
    for column in ("r_score", "f_score", "m_score"):
        assert scored[column].between(1, 5).all()
    assert segment_summary(scored)["customers"].sum() == len(scored)
    before = cleaned.lines.loc[cleaned.lines["invoice_date"] < snapshot]
    customers_lines = before.loc[before["customer_id"].astype("str").isin(scored.index)]
    assert scored["monetary"].sum() == pytest.approx(customers_lines["revenue"].sum())
    # every identified customer with an order before the snapshot is in the table
    buyers = before.loc[~before["is_return"] & before["customer_id"].notna(), "customer_id"]
    assert set(scored.index) == set(buyers.astype("str"))
    assert (scored["recency"] >= 1).all() and (scored["tenure"] >= scored["recency"]).all()


# --- real data ------------------------------------------------------------------------------

@pytest.mark.realdata
def test_rfm_matches_a_naive_pandas_computation(online_retail):
    lines, snapshot = online_retail.lines, online_retail.snapshot_date
    rfm = rfm_table(lines, snapshot)
    known = lines.loc[lines["customer_id"].notna()].assign(customer_id=lambda d: d["customer_id"].astype("str"))
    sales = known.loc[~known["is_return"]]
    naive = pd.DataFrame({
        "last": sales.groupby("customer_id")["invoice_date"].max(),
        "first": sales.groupby("customer_id")["invoice_date"].min(),
        "frequency": sales.groupby("customer_id")["invoice"].nunique(),
    })
    naive["monetary"] = known.groupby("customer_id")["revenue"].sum()
    naive["recency"] = (snapshot - naive["last"].dt.normalize()).dt.days
    naive["tenure"] = (snapshot - naive["first"].dt.normalize()).dt.days
    naive = naive.sort_index()
    assert list(rfm.index) == list(naive.index)
    assert len(rfm) == online_retail.report.customers
    assert (rfm["recency"].to_numpy() == naive["recency"].to_numpy()).all()
    assert (rfm["tenure"].to_numpy() == naive["tenure"].to_numpy()).all()
    assert (rfm["frequency"].to_numpy() == naive["frequency"].to_numpy()).all()
    assert np.allclose(rfm["monetary"].to_numpy(), naive["monetary"].to_numpy())


@pytest.mark.realdata
def test_rfm_on_the_readme_standard_cleaning(online_retail_standard):
    rfm = rfm_table(online_retail_standard)
    assert len(rfm) == 4338  # README: customers after standard cleaning
    assert rfm["monetary"].sum() == pytest.approx(8_911_407.90, abs=0.01)
    assert rfm["frequency"].sum() == 18_532  # README: invoices
    scored = segmented_rfm(online_retail_standard)
    assert segment_summary(scored)["customers"].sum() == 4338
