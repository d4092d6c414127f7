"""The date contract (analytics.dates): one normaliser, one policy everywhere.

* A date parameter is a calendar day: a time of day (or a time zone) is refused by
  every function that takes one, with the same message.
* Dates with UTC offsets (one, or mixed) and time zone-aware Parquet columns are
  converted to the shop's time zone by the loader, or refused with a one-line
  LoadError naming the column, row and value.  Expected wall times are worked out
  by hand in the comments (UK: GMT, BST = UTC+1 from 2011-03-27 01:00 UTC to
  2011-10-30 01:00 UTC; New York: EST = UTC-5, EDT = UTC-4 from 2011-03-13 to 2011-11-06).
"""
from __future__ import annotations

import datetime as dt
import io
import re

import numpy as np
import pandas as pd
import pytest
from descriptive_toys import RFM_EXPECTED, RFM_ROWS, make_log, toy_csv

from analytics import clean_transactions, load_transactions
from analytics.__main__ import main
from analytics.btyd import calibration_holdout_split, customer_summary, purchase_days
from analytics.churn import churn_features, churn_labels, suggest_churn_horizon, train_churn_model
from analytics.cleaning import lines_before
from analytics.clv import fit_clv, validate_clv
from analytics.cohorts import cohort_table, cohorts_between
from analytics.dates import as_day, day_after, time_zone, to_shop_local
from analytics.errors import AnalyticsError, LoadError
from analytics.geography import country_summary, country_summary_between
from analytics.migration import segment_history, segment_migration
from analytics.products import product_summary, returned_value
from analytics.recommend import evaluate_recommendations, recommend_products
from analytics.rfm import rfm_table, segmented_rfm
from analytics.selection import date_window_mask, select_customers, select_lines
from analytics.trends import business_kpis, kpi_change, monthly_summary, weekday_hour

UCI_HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"


def uci_csv(dates: list[str], customers: list[str] | None = None) -> bytes:
    """An Online Retail CSV with one line per date (invoice i, 1 x 2.50, customer c<i>)."""
    customers = customers or [f"c{i}" for i in range(1, len(dates) + 1)]
    rows = [f"{i},P1,Thing,1,{d},2.50,{c},United Kingdom"
            for i, (d, c) in enumerate(zip(dates, customers, strict=True), start=1)]
    return (UCI_HEADER + "\n".join(rows) + "\n").encode()


def stamps(frame: pd.DataFrame) -> list[pd.Timestamp]:
    return list(frame["invoice_date"])


# --------------------------------------------------------------------------
# as_day: the one normaliser


@pytest.mark.parametrize("value", [
    "2011-06-01", "2011-06-01 00:00", "2011-06-01T00:00:00", dt.date(2011, 6, 1), dt.datetime(2011, 6, 1),
    pd.Timestamp("2011-06-01"), np.datetime64("2011-06-01"), np.datetime64("2011-06-01T00:00:00.000000"),
])
def test_as_day_accepts_a_calendar_day_in_any_form(value):
    day = as_day(value, "snapshot_date")
    assert day == pd.Timestamp("2011-06-01") and day.tz is None and day.unit == "us"


@pytest.mark.parametrize(("value", "match"), [
    ("2011-06-01 15:00", "snapshot_date must be a calendar day .* with a time of day"),
    (pd.Timestamp("2011-06-01 00:00:01"), "with a time of day"),
    (dt.datetime(2011, 6, 1, 23, 59), "with a time of day"),
    ("2011-06-01T00:00:00+01:00", "without a time zone"),
    (pd.Timestamp("2011-06-01", tz="Europe/London"), "without a time zone"),
    ("1st of June", "not a date"),  # pd.Timestamp alone would read it as 1 June of this year
    ("12/9/2011", "not a date"),  # ambiguous day/month: parameters are ISO 8601
    (None, "not a date"),
    (20110601, "not a date"),
    (pd.NaT, "missing"),
])
def test_as_day_refuses_times_zones_and_non_dates(value, match):
    with pytest.raises(AnalyticsError, match=match):
        as_day(value, "snapshot_date")


def test_day_after_is_the_midnight_after_the_last_stamp():
    assert day_after(pd.Series([pd.Timestamp("2011-03-01 23:59"), pd.Timestamp("2011-02-01")])) == pd.Timestamp(
        "2011-03-02")
    assert day_after(pd.Series(pd.to_datetime(["2011-03-01 00:00"]))) == pd.Timestamp("2011-03-02")
    with pytest.raises(AnalyticsError, match="No transactions"):
        day_after(pd.Series([], dtype="datetime64[us]"))


def test_time_zone_names_and_conversion():
    assert time_zone(" Europe/London ").key == "Europe/London"
    with pytest.raises(AnalyticsError, match="unknown time zone 'Europe/Londn'"):
        time_zone("Europe/Londn")
    with pytest.raises(AnalyticsError, match="IANA"):
        time_zone("")
    utc = pd.DatetimeIndex(["2011-01-15 12:00", "2011-07-15 12:00"]).tz_localize("UTC")
    assert list(to_shop_local(utc, "Europe/London")) == [pd.Timestamp("2011-01-15 12:00"),
                                                         pd.Timestamp("2011-07-15 13:00")]  # GMT, BST
    with pytest.raises(AnalyticsError, match="naive times are already shop-local"):
        to_shop_local(pd.DatetimeIndex(["2011-01-15"]), "Europe/London")


# --------------------------------------------------------------------------
# one policy everywhere: a snapshot (or window end) with a time of day is refused


@pytest.fixture(scope="module")
def toy():
    """The RFM toy (see descriptive_toys): default snapshot 2011-03-01."""
    return make_log(RFM_ROWS)


def _callers(raw, lines, rfm):
    return {
        "clean_transactions": lambda d: clean_transactions(raw, d),
        "lines_before": lambda d: lines_before(lines, d),
        "rfm_table": lambda d: rfm_table(lines, d),
        "segmented_rfm": lambda d: segmented_rfm(lines, d),
        "cohort_table": lambda d: cohort_table(lines, d),
        "cohorts_between(start)": lambda d: cohorts_between(cohort_table(lines), start=d),
        "cohorts_between(end)": lambda d: cohorts_between(cohort_table(lines), end=d),
        "country_summary": lambda d: country_summary(lines, d),
        "country_summary_between": lambda d: country_summary_between(lines, "2011-01-01", d),
        "monthly_summary": lambda d: monthly_summary(lines, d),
        "weekday_hour": lambda d: weekday_hour(lines, d),
        "business_kpis": lambda d: business_kpis(lines, d, "2011-03-02"),
        "kpi_change": lambda d: kpi_change(lines, "2011-02-01", d),
        "product_summary": lambda d: product_summary(lines, d),
        "returned_value": lambda d: returned_value(lines, d),
        "segment_migration": lambda d: segment_migration(lines, d),
        "segment_history": lambda d: segment_history(lines, d),
        "date_window_mask": lambda d: date_window_mask(lines["invoice_date"], d, None),
        "select_lines": lambda d: select_lines(lines, end=d),
        "select_customers": lambda d: select_customers(rfm, lines=lines, start=d),
        "purchase_days": lambda d: purchase_days(lines, end=d),
        "customer_summary": lambda d: customer_summary(lines, d),
        "calibration_holdout_split": lambda d: calibration_holdout_split(lines, "2011-02-01", d),
        "fit_clv": lambda d: fit_clv(lines, d),
        "validate_clv": lambda d: validate_clv(lines, d),
        "churn_features": lambda d: churn_features(lines, d, with_p_alive=False),
        "churn_labels": lambda d: churn_labels(lines, d, 30),
        "suggest_churn_horizon": lambda d: suggest_churn_horizon(lines, d),
        "train_churn_model": lambda d: train_churn_model(lines, d),
        "recommend_products": lambda d: recommend_products(lines, snapshot_date=d),
        "evaluate_recommendations": lambda d: evaluate_recommendations(lines, d),
    }


CALLERS = [
    "clean_transactions", "lines_before", "rfm_table", "segmented_rfm", "cohort_table", "cohorts_between(start)",
    "cohorts_between(end)", "country_summary", "country_summary_between", "monthly_summary", "weekday_hour",
    "business_kpis", "kpi_change", "product_summary", "returned_value", "segment_migration", "segment_history",
    "date_window_mask", "select_lines", "select_customers", "purchase_days", "customer_summary",
    "calibration_holdout_split", "fit_clv", "validate_clv", "churn_features", "churn_labels",
    "suggest_churn_horizon", "train_churn_model", "recommend_products", "evaluate_recommendations",
]


@pytest.mark.parametrize("name", CALLERS)
@pytest.mark.parametrize(("bad", "match"), [
    ("2011-03-01 15:00", "must be a calendar day .* with a time of day"),
    (pd.Timestamp("2011-03-01 00:30"), "must be a calendar day .* with a time of day"),
    (pd.Timestamp("2011-03-01", tz="UTC"), "without a time zone"),
])
def test_a_time_of_day_is_refused_by_every_function(toy, name, bad, match):
    raw = load_transactions(toy_csv(RFM_ROWS), filename="toy.csv")
    callers = _callers(raw, toy.lines, rfm_table(toy.lines))
    assert set(callers) == set(CALLERS)
    with pytest.raises(AnalyticsError, match=match):
        callers[name](bad)


@pytest.mark.parametrize("name", CALLERS)
def test_time_zone_aware_lines_are_refused_by_every_function(toy, name):
    """Lines that skipped the loader with aware times: the same refusal everywhere
    (never a raw TypeError from comparing aware times with a day)."""
    raw = load_transactions(toy_csv(RFM_ROWS), filename="toy.csv")
    aware_raw = raw.assign(invoice_date=raw["invoice_date"].dt.tz_localize("UTC"))
    aware = toy.lines.assign(invoice_date=toy.lines["invoice_date"].dt.tz_localize("UTC"))
    callers = _callers(aware_raw, aware, rfm_table(toy.lines))
    with pytest.raises(AnalyticsError, match=r"invoice_date holds time zone-aware times \(UTC\)"):
        callers[name]("2011-03-01")


def test_midnight_in_any_form_is_the_same_day_everywhere(toy):
    """The same snapshot written four ways gives the same tables (and the day cuts
    B's order of 2011-02-28 17:00 from a 2011-02-28 snapshot: lines on or after it)."""
    lines = toy.lines
    forms = ["2011-02-28", dt.date(2011, 2, 28), pd.Timestamp("2011-02-28 00:00"), np.datetime64("2011-02-28")]
    first = rfm_table(lines, forms[0])
    assert "B" not in first.index and first.loc["A", "recency"] == 1  # A's last order 02-27 09:00
    for form in forms[1:]:
        pd.testing.assert_frame_equal(rfm_table(lines, form), first)
        pd.testing.assert_frame_equal(cohort_table(lines, form), cohort_table(lines, forms[0]))
        pd.testing.assert_frame_equal(customer_summary(lines, form), customer_summary(lines, forms[0]))
        assert clean_transactions(load_transactions(toy_csv(RFM_ROWS)), form).snapshot_date == pd.Timestamp(
            "2011-02-28")


# --------------------------------------------------------------------------
# loader: offsets converted with the shop's time zone, or refused


def test_offsets_become_new_york_wall_times():
    frame = load_transactions(uci_csv([
        "2011-07-01T23:30:00+00:00",  # 23:30 UTC in July = 19:30 EDT, same day
        "2011-12-02T03:30:00Z",  # 03:30 UTC in December = 22:30 EST the day BEFORE
        "2011-12-01 20:00:00-05:00",  # already New York winter time
    ]), time_zone="America/New_York")
    assert stamps(frame) == [pd.Timestamp("2011-07-01 19:30"), pd.Timestamp("2011-12-01 22:30"),
                             pd.Timestamp("2011-12-01 20:00")]
    assert frame["invoice_date"].dtype == "datetime64[us]"
    assert frame.attrs["source"]["time_zone"] == "America/New_York"


def test_mixed_offsets_and_naive_times_in_one_column():
    frame = load_transactions(uci_csv([
        "2011-03-27T00:30:00+00:00",  # before the UK change at 01:00 UTC: 00:30 GMT
        "2011-03-27T01:30:00+00:00",  # after it: 02:30 BST
        "2011-06-15T09:00:00+02:00",  # 07:00 UTC = 08:00 BST
        "2011-06-15 09:00:00 +0530",  # 03:30 UTC = 04:30 BST
        "2011-06-15 09:00",  # naive: shop-local as it is
        "2011-10-30T00:30:00Z",  # still BST: 01:30
        "2011-10-30T01:30:00Z",  # back to GMT at 01:00 UTC: 01:30 again (the repeated hour)
        "2011-12-09T12:50:00.250+01:00",  # 11:50:00.250 UTC = GMT
        "2011-12-09 12:50 UTC",  # 12:50 GMT
    ]), time_zone="Europe/London")
    assert stamps(frame) == [pd.Timestamp(s) for s in (
        "2011-03-27 00:30", "2011-03-27 02:30", "2011-06-15 08:00", "2011-06-15 04:30", "2011-06-15 09:00",
        "2011-10-30 01:30", "2011-10-30 01:30", "2011-12-09 11:50:00.250", "2011-12-09 12:50")]


def test_offsets_keep_the_column_day_month_order():
    """US dates with and without an offset: the text before the offset is read with the
    column's one format (month first here, since 12/13 cannot be day first)."""
    frame = load_transactions(uci_csv(["12/9/2011 12:50", "12/13/2011 08:00 -05:00"]), time_zone="Europe/London")
    assert stamps(frame) == [pd.Timestamp("2011-12-09 12:50"), pd.Timestamp("2011-12-13 13:00")]


@pytest.mark.parametrize(("dates", "row", "value"), [
    (["2011-06-15 09:00", "2011-06-15 10:00", "2011-06-15T11:00:00+01:00"], 3, "2011-06-15T11:00:00+01:00"),
    (["2011-06-15T09:00:00Z", "2011-06-15 10:00"], 1, "2011-06-15T09:00:00Z"),
    (["2011-06-15 10:00", "2011-06-15T09:00:00-04:00", "2011-06-15T09:00:00+02:00"], 2, "2011-06-15T09:00:00-04:00"),
])
def test_offsets_without_a_time_zone_are_refused_naming_column_row_and_value(dates, row, value):
    with pytest.raises(LoadError) as caught:
        load_transactions(uci_csv(dates), filename="shop.csv")
    error = caught.value
    assert (error.column, error.row, error.value) == ("InvoiceDate", row, value)
    message = str(error)
    assert message.startswith(f"Column 'InvoiceDate', row {row} (line {row + 1} of the file): ")
    assert repr(value) in message and "time_zone" in message and "--time-zone" in message
    assert "\n" not in message


def _parquet(invoice_dates) -> bytes:
    frame = pd.DataFrame({
        "invoice": ["1", "2"], "stock_code": ["P1", "P1"], "description": ["Thing", "Thing"], "quantity": [1, 1],
        "invoice_date": invoice_dates, "unit_price": [2.5, 2.5], "customer_id": ["c1", "c2"],
        "country": ["United Kingdom", "United Kingdom"],
    })
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def test_tz_aware_parquet_is_converted_to_the_shop_zone():
    utc = pd.DatetimeIndex(["2011-07-01 23:30", "2011-12-02 03:30"]).tz_localize("UTC")
    frame = load_transactions(_parquet(utc), time_zone="America/New_York")
    assert stamps(frame) == [pd.Timestamp("2011-07-01 19:30"), pd.Timestamp("2011-12-01 22:30")]  # EDT, EST
    tokyo = pd.DatetimeIndex(["2011-06-15 09:00", "2011-12-15 09:00"]).tz_localize("Asia/Tokyo")  # UTC+9
    frame = load_transactions(_parquet(tokyo), time_zone="Europe/London")
    assert stamps(frame) == [pd.Timestamp("2011-06-15 01:00"), pd.Timestamp("2011-12-15 00:00")]  # BST, GMT


def test_tz_aware_parquet_without_a_time_zone_is_refused():
    utc = pd.DatetimeIndex(["2011-07-01 23:30", "2011-12-02 03:30"]).tz_localize("UTC")
    with pytest.raises(LoadError) as caught:
        load_transactions(_parquet(utc), filename="shop.parquet")
    error = caught.value
    assert (error.column, error.row, error.value) == ("invoice_date", 1, "2011-07-01 23:30:00+00:00")
    assert str(error).startswith("Column 'invoice_date', row 1: a time zone-aware column (UTC) needs the shop's time zone")
    # a naive Parquet column is shop-local: unchanged with or without a zone
    naive = pd.DatetimeIndex(["2011-07-01 23:30", "2011-12-02 03:30"])
    assert stamps(load_transactions(_parquet(naive))) == list(naive)
    assert stamps(load_transactions(_parquet(naive), time_zone="America/New_York")) == list(naive)


def test_offset_strings_in_parquet_follow_the_same_policy():
    texts = ["2011-07-01T23:30:00+00:00", "2011-12-02T03:30:00+00:00"]
    with pytest.raises(LoadError, match="row 1: a time with a UTC offset"):
        load_transactions(_parquet(texts))
    assert stamps(load_transactions(_parquet(texts), time_zone="America/New_York")) == [
        pd.Timestamp("2011-07-01 19:30"), pd.Timestamp("2011-12-01 22:30")]


def test_unknown_time_zone_is_refused_before_reading():
    with pytest.raises(AnalyticsError, match="unknown time zone 'Mars/Olympus'"):
        load_transactions(uci_csv(["2011-06-15 09:00"]), time_zone="Mars/Olympus")


def test_local_days_drive_every_table_downstream():
    """A New York shop's UTC log: the order at 02:00 UTC on 1 December was placed on
    30 November at 21:00 local, so with a 2011-12-01 snapshot it is the customer's
    last order (recency 1), its cohort is November, its purchase day 30 November."""
    raw = load_transactions(uci_csv(
        ["2011-10-10T15:00:00Z", "2011-12-01T02:00:00Z", "2011-11-15T12:00:00Z"], ["a", "b", "a"],
    ), time_zone="America/New_York")
    cleaned = clean_transactions(raw, "2011-12-01")
    assert cleaned.report.removed["after_snapshot"] == 0
    rfm = rfm_table(cleaned.lines, "2011-12-01")
    assert rfm.loc["b", "recency"] == 1 and rfm.loc["b", "last_order"] == pd.Timestamp("2011-11-30 21:00")
    assert rfm.loc["a", "recency"] == 16  # 2011-11-15 07:00 EST -> 16 days to 2011-12-01
    cohorts = cohort_table(cleaned.lines, "2011-12-01")
    assert cohorts.loc[cohorts["period"] == 0].set_index("cohort")["cohort_size"].to_dict() == {
        pd.Timestamp("2011-10-01"): 1, pd.Timestamp("2011-11-01"): 1}
    days = purchase_days(cleaned.lines, end="2011-12-01")
    assert days.loc[days["customer_id"] == "b", "day"].tolist() == [pd.Timestamp("2011-11-30")]
    summary = customer_summary(cleaned.lines, "2011-12-01")
    assert summary.loc["a", "recency"] == 36  # 2011-10-10 (11:00 EDT) to 2011-11-15
    features = churn_features(cleaned.lines, "2011-12-01", with_p_alive=False)
    assert features.loc["b", "recency_days"] == 1 and features.loc["a", "recency_days"] == 16


# --------------------------------------------------------------------------
# command line


def test_cli_time_zone_option(tmp_path, capsys):
    """The RFM toy written in UTC with offsets; in London (GMT in Jan-Feb) the local
    times equal the naive toy's, so the report's RFM columns are the toy's."""
    utc_rows = [(*row[:4], f"{row[4]}:00+00:00", *row[5:]) for row in RFM_ROWS]
    path = tmp_path / "utc.csv"
    path.write_bytes(toy_csv(utc_rows))

    assert main(["report", str(path), "--out", str(tmp_path / "refused"), "--skip-models", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: Column 'invoice_date', row 1 (line 2 of the file): a time with a UTC offset")
    assert err.count("\n") == 1

    out = tmp_path / "london"
    assert main(["report", str(path), "--out", str(out), "--skip-models", "--quiet",
                 "--time-zone", "Europe/London"]) == 0
    customers = pd.read_csv(out / "customers.csv", dtype={"customer_id": str}).set_index("customer_id")
    for column in ("recency", "frequency", "monetary", "tenure", "country"):
        assert customers[column].tolist() == RFM_EXPECTED[column].tolist(), column


@pytest.mark.parametrize(("option", "match"), [
    (["--time-zone", "Mars/Olympus"], "unknown time zone 'Mars/Olympus'"),
    (["--snapshot-date", "2011-02-01 12:00"], "with a time of day"),
])
def test_cli_refuses_bad_zone_and_snapshot_with_a_time(tmp_path, capsys, option, match):
    path = tmp_path / "toy.csv"
    path.write_bytes(toy_csv(RFM_ROWS))
    with pytest.raises(SystemExit) as exit_:
        main(["report", str(path), "--out", str(tmp_path / "out"), "--quiet", *option])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert re.search(match, err)


def test_date_objects_with_zones_follow_the_same_policy():
    """An object column mixing aware and naive datetimes and text (as a workbook or a
    hand-built frame can give) goes through the same rule, value by value."""
    from analytics.parsing import RawTable, parse_table
    from analytics.schema import CANONICAL_COLUMNS

    def table(dates):
        n = len(dates)
        frame = pd.DataFrame({
            "invoice": [str(i) for i in range(1, n + 1)], "stock_code": ["P1"] * n, "description": ["x"] * n,
            "quantity": [1] * n, "invoice_date": pd.Series(dates, dtype=object), "unit_price": [2.5] * n,
            "customer_id": ["c1"] * n, "country": ["United Kingdom"] * n,
        })
        return RawTable(frame, "sheet 'Orders'", header_rows=1)

    dates = [dt.datetime(2011, 12, 1, 12, 0), dt.datetime(2011, 7, 1, 23, 30, tzinfo=dt.timezone.utc),
             "2011-12-02T03:30:00Z"]
    mapping = {c: c for c in CANONICAL_COLUMNS}
    parsed = parse_table(table(dates), mapping, "America/New_York")
    assert stamps(parsed) == [pd.Timestamp("2011-12-01 12:00"), pd.Timestamp("2011-07-01 19:30"),
                              pd.Timestamp("2011-12-01 22:30")]
    with pytest.raises(LoadError) as caught:
        parse_table(table(dates), mapping)
    assert (caught.value.column, caught.value.row) == ("invoice_date", 2)
    assert str(caught.value).startswith(
        "Column 'invoice_date', sheet 'Orders', row 2 (line 3 of the file): a time zone-aware time needs")
