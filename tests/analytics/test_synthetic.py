"""Tests of analytics.synthetic: layout, invariants, shares, and the BG/NBD simulator.

Expected values are computed here from the model's definitions (closed forms of
Fader, Hardie & Lee 2005), never by calling the code under test a second way.
Tolerances are stated next to each assertion, mostly as ~4 standard errors.
"""
from __future__ import annotations

import gzip
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.special import betaln, gammaln, hyp2f1

from analytics.synthetic import (
    SyntheticParams, generate_transactions, simulate_bgnbd, simulate_bgnbd_purchases,
    write_transactions,
)

COLUMNS = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate",
           "UnitPrice", "CustomerID", "Country"]
NON_PRODUCT_CODES = {"POST", "DOT", "M", "C2", "BANK CHARGES", "AMAZONFEE", "PADS", "S",
                     "CRUK"}
PRODUCT_CODE = r"^\d{5}[A-Z]?$"
# CDNOW estimates of Fader, Hardie & Lee (2005), time unit weeks.
R, ALPHA, A, B = 0.243, 4.414, 0.793, 2.426


@pytest.fixture(scope="module")
def medium() -> pd.DataFrame:
    """~310k rows: 3000 customers over 24 months with the default parameters."""
    return generate_transactions(3000, 24, seed=11)


def is_cancel(df: pd.DataFrame) -> pd.Series:
    return df["InvoiceNo"].str.startswith("C")


def monthly_revenue(df: pd.DataFrame) -> pd.Series:
    """Revenue by calendar month (1..12), pooled over the years of the log."""
    return (df["Quantity"] * df["UnitPrice"]).groupby(df["InvoiceDate"].dt.month).sum()


# --- layout and determinism ------------------------------------------------------

def test_same_seed_gives_identical_frame() -> None:
    pd.testing.assert_frame_equal(generate_transactions(300, 6, seed=5),
                                  generate_transactions(300, 6, seed=5))


def test_different_seed_gives_different_frame() -> None:
    a, b = generate_transactions(300, 6, seed=5), generate_transactions(300, 6, seed=6)
    assert not a.equals(b)
    assert a["InvoiceDate"].head(200).tolist() != b["InvoiceDate"].head(200).tolist()


def test_columns_and_dtypes(medium: pd.DataFrame) -> None:
    assert list(medium.columns) == COLUMNS
    for col in ("InvoiceNo", "StockCode", "Description", "Country"):
        assert medium[col].dtype == "str", col
        assert medium[col].notna().all() and (medium[col].str.len() > 0).all()
    assert medium["Quantity"].dtype == np.int64
    assert medium["UnitPrice"].dtype == np.float64
    assert medium["CustomerID"].dtype == np.float64
    assert pd.api.types.is_datetime64_dtype(medium["InvoiceDate"])
    dates = medium["InvoiceDate"]
    assert (dates == dates.dt.floor("min")).all()  # minute precision
    cents = medium["UnitPrice"] * 100
    assert np.allclose(cents, cents.round(), atol=1e-6)  # 2 decimals
    ids = medium["CustomerID"].dropna()
    assert (ids == ids.round()).all() and ids.min() >= 12346
    assert medium["CustomerID"].isna().any()


def test_dates_within_period_and_sorted() -> None:
    df = generate_transactions(400, 10, seed=2, start="2021-03-01")
    assert df["InvoiceDate"].min() >= pd.Timestamp("2021-03-01")
    assert df["InvoiceDate"].max() < pd.Timestamp("2022-01-01")
    ordered = df.sort_values(["InvoiceDate", "InvoiceNo"], kind="stable")
    assert (ordered.index == np.arange(len(df))).all()


def test_invoice_numbers(medium: pd.DataFrame) -> None:
    inv = medium["InvoiceNo"]
    assert inv.str.fullmatch(r"C?\d{6}").all()
    # each invoice is one contiguous block with one date, customer and country
    starts = inv.ne(inv.shift())
    assert starts.sum() == inv.nunique()
    per = medium.groupby("InvoiceNo", sort=False)
    assert (per["InvoiceDate"].nunique() == 1).all()
    assert (per["CustomerID"].nunique(dropna=False) == 1).all()
    assert (per["Country"].nunique() == 1).all()
    # numbers strictly increase in time order, never reused by a "C" invoice
    numbers = inv[starts].str.removeprefix("C").astype(int).to_numpy()
    assert (np.diff(numbers) > 0).all()


def test_cancellations_follow_an_earlier_order_of_the_same_customer(medium) -> None:
    c = is_cancel(medium)
    assert c.any()
    assert (medium.loc[c, "Quantity"] < 0).all()
    assert (medium.loc[~c, "Quantity"] > 0).all()
    assert medium.loc[c, "CustomerID"].notna().all()
    # every cancelled line matches an earlier normal line: customer, product, >= quantity
    cancelled = medium[c].reset_index()
    normal = medium[~c][["CustomerID", "StockCode", "InvoiceDate", "Quantity"]]
    m = cancelled.merge(normal, on=["CustomerID", "StockCode"], suffixes=("", "_order"))
    m = m[(m["InvoiceDate_order"] < m["InvoiceDate"]) & (m["Quantity_order"] >= -m["Quantity"])]
    assert m["index"].nunique() == len(cancelled)


# --- shares, mix and calendar ----------------------------------------------------

@pytest.mark.parametrize("params", [
    SyntheticParams(),
    SyntheticParams(anonymous_share=0.05, cancellation_rate=0.08, home_share=0.5,
                    non_product_rate=0.03),
])
def test_shares_follow_the_parameters(params: SyntheticParams) -> None:
    df = generate_transactions(3000, 24, seed=3, params=params)
    c = is_cancel(df)
    invoices = df.drop_duplicates("InvoiceNo")
    known_orders = (~is_cancel(invoices) & invoices["CustomerID"].notna()).sum()
    # lines without CustomerID: +-0.02 absolute (guest orders are whole invoices)
    assert df["CustomerID"].isna().mean() == pytest.approx(params.anonymous_share, abs=0.02)
    # cancellation invoices per customer order: ~4 binomial standard errors
    rate = params.cancellation_rate
    tol = 4 * np.sqrt(rate * (1 - rate) / known_orders)
    assert is_cancel(invoices).sum() / known_orders == pytest.approx(rate, abs=tol)
    # share of customers in the home market: +-0.03 (~4.5 standard errors at 3000)
    country = df.dropna(subset=["CustomerID"]).groupby("CustomerID")["Country"]
    assert (country.nunique() == 1).all()
    home = (country.first() == params.home_country).mean()
    assert home == pytest.approx(params.home_share, abs=0.03)
    # normal invoices carrying a non-product line: ~4 standard errors
    normal = df[~c]
    has_np = normal["StockCode"].isin(NON_PRODUCT_CODES).groupby(normal["InvoiceNo"]).any()
    rate = params.non_product_rate
    assert has_np.mean() == pytest.approx(rate, abs=4 * np.sqrt(rate / len(has_np)))


def test_codes_prices_countries(medium: pd.DataFrame) -> None:
    code = medium["StockCode"]
    is_product = code.str.fullmatch(PRODUCT_CODE)
    assert set(code[~is_product]) <= NON_PRODUCT_CODES
    assert code.str.fullmatch(r"\d{5}[A-Z]").any()  # codes such as 85123A
    assert (medium["Description"] == medium["Description"].str.upper())[is_product].all()
    assert medium.groupby("StockCode")["Description"].nunique().max() == 1
    price = medium.loc[is_product, "UnitPrice"]
    assert (((price >= 0.3) & (price <= 50)) | (price == 0)).all()
    assert (price == 0).any() and (price == 0).mean() < 0.005
    countries = medium["Country"].value_counts()
    assert countries.index[0] == "United Kingdom"
    assert {"EIRE", "Germany", "France"} <= set(countries.index)
    assert len(countries) >= 20


def test_country_mix_and_home_country() -> None:
    only = generate_transactions(200, 6, seed=1, country_mix={"France": 3, "Spain": 1})
    assert set(only["Country"]) == {"France", "Spain"}
    de = generate_transactions(500, 6, seed=1, params=SyntheticParams(home_country="Germany"))
    assert de["Country"].value_counts().index[0] == "Germany"


def test_exact_duplicates_follow_duplicate_rate() -> None:
    base = generate_transactions(1500, 12, seed=4, params=SyntheticParams(duplicate_rate=0))
    dup = generate_transactions(1500, 12, seed=4, params=SyntheticParams(duplicate_rate=0.05))
    # duplicating a share d of lines adds d / (1 + d) duplicated rows: +-0.01
    excess = dup.duplicated().mean() - base.duplicated().mean()
    assert excess == pytest.approx(0.05 / 1.05, abs=0.01)


def test_seasonality_peaks_in_november() -> None:
    seasonal = monthly_revenue(generate_transactions(3000, 24, seed=8))
    flat = monthly_revenue(generate_transactions(
        3000, 24, seed=8, params=SyntheticParams(seasonality=0.0)))
    # 1 + 0.6 cos(.) is ~1.59 in November against a mean of 1
    assert seasonal[11] / seasonal.mean() > 1.3
    assert seasonal[11] / seasonal[5] > 2.0
    assert flat[11] / flat.mean() == pytest.approx(1.0, abs=0.2)


def test_weekly_and_daily_pattern(medium: pd.DataFrame) -> None:
    invoices = medium.drop_duplicates("InvoiceNo")
    dates = invoices.loc[~is_cancel(invoices), "InvoiceDate"]
    assert (dates.dt.day_of_week == 5).mean() < 0.02  # almost no Saturdays
    assert dates.dt.hour.between(8, 17).mean() > 0.9  # office hours


def test_zipf_popularity(medium: pd.DataFrame) -> None:
    lines = medium.loc[medium["StockCode"].str.fullmatch(PRODUCT_CODE), "StockCode"]
    counts = lines.value_counts()
    top = counts.iloc[: 2000 // 10].sum() / counts.sum()
    p = SyntheticParams()
    w = (np.arange(1, p.n_products + 1) + p.zipf_offset) ** -p.zipf_s
    assert top == pytest.approx(w[: p.n_products // 10].sum() / w.sum(), abs=0.03)
    assert top > 0.5


def test_orders_customers_and_spend(medium: pd.DataFrame) -> None:
    normal = medium[~is_cancel(medium)]
    lines = normal.groupby("InvoiceNo").size()
    assert 15 <= lines.mean() <= 21  # UCI-like baskets (lines_mean = 18)
    known = normal.dropna(subset=["CustomerID"])
    orders = known.groupby("CustomerID")["InvoiceNo"].nunique()
    assert len(orders) == 3000
    assert (orders == 1).any() and orders.max() >= 20  # some buy once, some many times
    first = known.groupby("CustomerID")["InvoiceDate"].min().dt.to_period("M")
    new = first.value_counts()
    assert len(new) == 24 and new.iloc[0] == new.max() > 3 * new.median()
    # Gamma-Gamma: doubling spend_gamma doubles the mean line value (+-20%)
    dbl = generate_transactions(3000, 24, seed=11, params=SyntheticParams(spend_gamma=30))

    def line_value(df: pd.DataFrame) -> float:
        df = df[df["StockCode"].str.fullmatch(PRODUCT_CODE) & ~is_cancel(df)]
        return float((df["Quantity"] * df["UnitPrice"]).mean())

    assert line_value(dbl) / line_value(medium) == pytest.approx(2.0, rel=0.2)


@pytest.mark.parametrize("r,alpha,a,b", [(0.75, 40.0, 0.8, 2.5), (0.5, 10.0, 2.0, 1.0)])
def test_repeat_buying_follows_bgnbd(r: float, alpha: float, a: float, b: float) -> None:
    """Without seasonality the long-run rate is lambda, so per customer observed for
    T days after the first order, P(no repeat) = (alpha / (alpha + T)) ** r and the
    mean number of repeat orders is E[X(T)] (weekday thinning averages out)."""
    n = 20_000  # one line per order keeps this fast
    params = SyntheticParams(r=r, alpha=alpha, a=a, b=b, seasonality=0.0, lines_mean=1)
    df = generate_transactions(n, 24, seed=12, params=params)
    known = df[~is_cancel(df)].dropna(subset=["CustomerID"]).groupby("CustomerID")
    repeats = known["InvoiceNo"].nunique() - 1
    T = (pd.Timestamp("2024-01-01") - known["InvoiceDate"].min()) / pd.Timedelta(days=1)
    p0 = ((alpha / (alpha + T)) ** r).to_numpy()
    assert abs((repeats == 0).mean() - p0.mean()) < 4 * np.sqrt((p0 * (1 - p0)).sum()) / n
    expected = bgnbd_expected_x(T.to_numpy(), r, alpha, a, b).mean()
    assert abs(repeats.mean() - expected) < 4 * repeats.std() / np.sqrt(n)


def test_invalid_parameters_are_rejected() -> None:
    with pytest.raises(ValueError):
        SyntheticParams(anonymous_share=1.0)
    with pytest.raises(ValueError):
        SyntheticParams(r=0)
    with pytest.raises(ValueError):
        generate_transactions(0)


# --- BG/NBD simulator ------------------------------------------------------------

def bgnbd_expected_x(t: np.ndarray, r: float, alpha: float, a: float, b: float):
    """E[X(t)], FHL (2005) eq. 9."""
    return (a + b - 1) / (a - 1) * (
        1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t)))


def bgnbd_pmf(x: int, t: float, r: float, alpha: float, a: float, b: float) -> float:
    """P(X(t) = x), FHL (2005) eq. 8."""
    lt = np.log(t / (alpha + t))
    la = r * np.log(alpha / (alpha + t))
    p = np.exp(betaln(a, b + x) - betaln(a, b) + gammaln(r + x) - gammaln(r)
               - gammaln(x + 1) + la + x * lt)
    if x > 0:
        j = np.arange(x)
        tail = np.exp(gammaln(r + j) - gammaln(r) - gammaln(j + 1) + j * lt).sum()
        p += np.exp(betaln(a + 1, b + x - 1) - betaln(a, b)) * (1 - np.exp(la) * tail)
    return float(p)


@pytest.mark.parametrize("r,alpha,a,b", [(R, ALPHA, A, B), (0.8, 10.0, 2.5, 4.0)])
def test_bgnbd_mean_and_no_repeat_share(r: float, alpha: float, a: float, b: float) -> None:
    n = 20_000
    T = np.random.default_rng(99).uniform(20, 80, n)
    sim = simulate_bgnbd(n, T, r, alpha, a, b, seed=1)
    # mean frequency against E[X(T)] averaged over customers: 4 standard errors
    se = sim["frequency"].std() / np.sqrt(n)
    assert abs(sim["frequency"].mean() - bgnbd_expected_x(T, r, alpha, a, b).mean()) < 4 * se
    # P(X(T) = 0) = (alpha / (alpha + T)) ** r: 4 binomial standard errors
    p0 = (alpha / (alpha + T)) ** r
    se0 = np.sqrt((p0 * (1 - p0)).sum()) / n
    assert abs((sim["frequency"] == 0).mean() - p0.mean()) < 4 * se0


def test_bgnbd_frequency_distribution() -> None:
    n, t = 50_000, 52.0
    freq = simulate_bgnbd(n, t, R, ALPHA, A, B, seed=2)["frequency"]
    for x in range(6):
        p = bgnbd_pmf(x, t, R, ALPHA, A, B)
        assert abs((freq == x).mean() - p) < 4 * np.sqrt(p * (1 - p) / n), x
    assert sum(bgnbd_pmf(x, t, R, ALPHA, A, B) for x in range(400)) == pytest.approx(1, abs=1e-3)


def test_bgnbd_first_repeat_time() -> None:
    """No dropout before the first repeat: P(t_1 <= s) = 1 - (alpha / (alpha + s)) ** r."""
    n, T = 400_000, 52.0
    purchases = simulate_bgnbd_purchases(n, T, R, ALPHA, A, B, seed=4)
    first = purchases[purchases["t"] > 0].groupby("customer_id")["t"].min()
    for s in (1.0, 5.0, 20.0, 50.0):
        p = 1 - (ALPHA / (ALPHA + s)) ** R
        assert abs((first <= s).sum() / n - p) < 4 * np.sqrt(p * (1 - p) / n), s


def test_bgnbd_summary_matches_purchases() -> None:
    T = np.linspace(10, 60, 500)
    summary = simulate_bgnbd(500, T, R, ALPHA, A, B, seed=3)
    purchases = simulate_bgnbd_purchases(500, T, R, ALPHA, A, B, seed=3)
    assert list(summary.columns) == ["frequency", "recency", "T"]
    np.testing.assert_array_equal(summary["T"], T)
    g = purchases.groupby("customer_id")["t"]
    np.testing.assert_array_equal(g.size() - 1, summary["frequency"])
    np.testing.assert_allclose(g.max(), summary["recency"])
    assert (g.min() == 0).all() and (g.diff().dropna() > 0).all()
    assert (summary["recency"] <= summary["T"]).all()
    assert ((summary["recency"] == 0) == (summary["frequency"] == 0)).all()


def test_lifetimes_recovers_bgnbd_parameters() -> None:
    with warnings.catch_warnings():  # importing lifetimes installs a global filter
        import lifetimes
        sim = simulate_bgnbd(10_000, 78.0, R, ALPHA, A, B, seed=0)
        fitter = lifetimes.BetaGeoFitter(penalizer_coef=0.0)
        fitter.fit(sim["frequency"], sim["recency"], sim["T"])
    est = fitter.params_
    # r and alpha are well identified (+-15%); a and b less so (+-25%)
    assert est["r"] == pytest.approx(R, rel=0.15)
    assert est["alpha"] == pytest.approx(ALPHA, rel=0.15)
    assert est["a"] == pytest.approx(A, rel=0.25)
    assert est["b"] == pytest.approx(B, rel=0.25)


# --- writing ---------------------------------------------------------------------

@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".parquet", ".xlsx"])
def test_write_transactions_round_trip(tmp_path, suffix: str) -> None:
    df = generate_transactions(20, 3, seed=7)
    path = write_transactions(df, tmp_path / "sub" / f"retail{suffix}")
    assert path == tmp_path / "sub" / f"retail{suffix}" and path.exists()
    text = {c: "str" for c in ("InvoiceNo", "StockCode", "Description", "Country")}
    if suffix == ".parquet":
        back = pd.read_parquet(path)
    elif suffix == ".xlsx":
        back = pd.read_excel(path, dtype=text, engine="openpyxl")
    else:
        back = pd.read_csv(path, dtype=text, parse_dates=["InvoiceDate"])
    if suffix == ".csv.gz":
        with open(path, "rb") as fh:
            assert fh.read(2) == b"\x1f\x8b"
        with gzip.open(path, "rt") as fh:
            assert fh.readline().strip() == ",".join(COLUMNS)
    assert list(back.columns) == COLUMNS and len(back) == len(df)
    back["InvoiceDate"] = back["InvoiceDate"].astype(df["InvoiceDate"].dtype)
    pd.testing.assert_frame_equal(back.astype(df.dtypes.to_dict()), df)


def test_write_transactions_rejects_unknown_suffix(tmp_path) -> None:
    with pytest.raises(ValueError):
        write_transactions(generate_transactions(5, 1), tmp_path / "retail.json")
