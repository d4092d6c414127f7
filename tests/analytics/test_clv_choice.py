"""Candidate purchase models: published CDNOW figures through the CLI, Pareto/NBD, the choice
on simulated logs with and without dropout, tiers, records, intervals, too little data."""
from __future__ import annotations

import contextlib
import io
import json
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from btyd_sim import START, simulate_orders
from test_clv import cdnow

from analytics.__main__ import main
from analytics.btyd import customer_summary
from analytics.btyd_models import BgNbdFit, GammaGammaFit
from analytics.clv import fit_clv
from analytics.intervals import HORIZON_DAYS, ClvIntervals, clv_intervals, simulate_purchases
from analytics.model_choice import AIC_MARGIN, MIN_REPEAT_CUSTOMERS, TIE_TOLERANCE, choose_purchase_model, pick
from analytics.model_store import ModelRecordError, _pack, pack_arrays, read_header
from analytics.purchase_models import ParetoNbdFit, fit_purchase_model
from analytics.tiers import clv_tiers, in_tier, tier_counts

SNAPSHOT = START + pd.Timedelta(days=730)


def cdnow_as_online_retail(path: Path) -> Path:
    """The CDNOW 1/10 sample (2,357 customers) as an Online Retail file: one invoice per
    transaction, Quantity = CDs, UnitPrice = dollars / CDs.  Eight transactions of $0 get
    1 cent per CD: the cleaning removes free lines, but CDNOW counts them as purchases."""
    d = cdnow("CDNOW_sample.txt")
    dollars = d["revenue"].where(d["revenue"] > 0, 0.01 * d["cds"])
    pd.DataFrame({"InvoiceNo": [str(100000 + i) for i in range(len(d))], "StockCode": "CD",
                  "Description": "compact disc", "Quantity": d["cds"],
                  "InvoiceDate": d["invoice_date"].dt.strftime("%Y-%m-%d 12:00"),
                  "UnitPrice": (dollars / d["cds"]).round(6), "CustomerID": d["customer_id"].astype(int),
                  "Country": "United States"}).to_csv(path, index=False)
    return path


def test_cdnow_bgnbd_through_the_default_cli_path(tmp_path):
    """Fader, Hardie & Lee (2005): r = 0.2426, alpha = 4.4136 (weeks), a = 0.7929, b = 2.4259 on the
    39-week calibration 1997-01-01..1997-09-30.  The CLI's snapshot is exclusive (the day after the
    last day observed), so the calibration through 09-30 is ``--snapshot-date 1997-10-01``."""
    source = cdnow_as_online_retail(tmp_path / "cdnow.csv")
    out = tmp_path / "out"
    # in this process: the command line as a process is tested in test_report_cli.py
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
        code = main(["report", str(source), "--out", str(out), "--snapshot-date", "1997-10-01",
                     "--clv-model", "bgnbd", "--quiet"])
    assert code == 0, stderr.getvalue()
    models = json.loads((out / "models.json").read_text())
    clv = models["clv"]
    assert clv["purchase_model"] == "bgnbd" and clv["forced"] and clv["penalizer"] == 0.0
    assert clv["customers"] == 2357
    params = dict(clv["purchase_params"], alpha=clv["purchase_params"]["alpha"] / 7)  # days -> weeks
    for name, value in {"r": 0.2426, "alpha": 4.4136, "a": 0.7929, "b": 2.4259}.items():
        assert params[name] == pytest.approx(value, rel=0.01), name
    assert set(clv["choice"]["candidates"]) == {"bgnbd", "mbgnbd", "pnbd"}  # still scored when forced
    table = pd.read_csv(out / "clv.csv", dtype={"customer_id": str}).set_index("customer_id")
    assert {"btyd_recency_days", "expected_purchase_days_90d", "net_clv_12m", "net_clv_12m_low"} <= set(table)


def test_cdnow_pareto_nbd_reproduces_the_published_figures():
    """Fader & Hardie, "A note on deriving the Pareto/NBD model" (2005) for the CDNOW sample:
    r = 0.5534, alpha = 10.5776, s = 0.6061, beta = 11.6692 (weeks), LL = -9595.0 (the same
    figures, to three decimals, are the CDNOW Pareto/NBD parameters of lifetimes' own test suite,
    TestParetoNBDGeneration: 0.553, 10.578, 0.606, 11.669).  Second methods: lifetimes'
    independent likelihood (its closed form, not our quadrature) at our parameters, and its P(alive)."""
    summary = customer_summary(cdnow("CDNOW_sample.txt"), "1997-10-01", time_unit="W")
    fit = fit_purchase_model(summary, "pnbd")
    for name, value in {"r": 0.5534, "alpha": 10.5776, "s": 0.6061, "beta": 11.6692}.items():
        assert fit.params[name] == pytest.approx(value, rel=0.002), name
    assert fit.log_likelihood == pytest.approx(-9595.0, abs=0.1)
    # a second method: lifetimes' own closed form of P(alive) at our parameters
    from analytics.btyd_models import _lifetimes

    theirs_ll = -_lifetimes().ParetoNBDFitter._negative_log_likelihood(
        [fit.params[k] for k in ("r", "alpha", "s", "beta")], *(summary[c].to_numpy(float) for c in
                                                                ("frequency", "recency", "T")),
        np.ones(len(summary)), 0.0)
    assert theirs_ll == pytest.approx(fit.log_likelihood, abs=0.05)
    fitter = _lifetimes().ParetoNBDFitter()
    fitter.params_ = pd.Series(fit.params)
    x, tx, T = (summary[c].to_numpy(float) for c in ("frequency", "recency", "T"))
    theirs = np.asarray(fitter.conditional_probability_alive(x, tx, T), dtype=float)
    ok = np.isfinite(theirs)
    np.testing.assert_allclose(fit.p_alive(summary)[ok], theirs[ok], rtol=1e-8)


CASES = {
    "pnbd": dict(r=0.8, alpha=20.0, s=1.0, beta=120.0),
    "nbd": dict(r=0.8, alpha=20.0),
    "bgnbd": dict(r=0.8, alpha=20.0, a=1.0, b=3.0),
}


@pytest.fixture(scope="module")
def choices():
    return {name: choose_purchase_model(simulate_orders(4000, name, params, seed=1), SNAPSHOT, 90)
            for name, params in CASES.items()}


def test_choice_with_continuous_dropout_picks_pareto_nbd(choices):
    choice = choices["pnbd"]
    assert choice.chosen == "pnbd"
    assert all(not c.no_dropout for c in choice.candidates.values())
    pnbd = choice.candidates["pnbd"]
    assert pnbd.aic < min(c.aic for k, c in choice.candidates.items() if k != "pnbd") - AIC_MARGIN
    assert pnbd.params["s"] / pnbd.params["beta"] == pytest.approx(1.0 / 120.0, rel=0.25)


def test_choice_with_dropout_after_purchases_picks_bg_nbd_and_recovers_its_dropout(choices):
    """Generated by BG/NBD (a = 1, b = 3): Pareto/NBD has the lowest holdout MAE (MAE rewards its
    shrunk forecasts) but within the tie tolerance; the calibration likelihood then picks BG/NBD,
    whose dropout parameters are the generating ones (4,000 customers: within 15 %)."""
    choice = choices["bgnbd"]
    assert choice.chosen == "bgnbd" and choice.dropout_found
    best = min(c.mae for c in choice.candidates.values())
    assert choice.candidates["bgnbd"].mae <= best * (1 + TIE_TOLERANCE)
    fit = choice.candidates["bgnbd"]
    assert not fit.no_dropout
    for name, value in CASES["bgnbd"].items():
        assert fit.params[name] == pytest.approx(value, rel=0.15), name


def test_choice_without_dropout_finds_the_boundary(choices):
    """Generated with nobody leaving: every family fits on its no-dropout boundary (the same NBD
    model, equal likelihoods), the tie goes to BG/NBD, and P(alive) is declared uninformative."""
    choice = choices["nbd"]
    assert all(c.no_dropout for c in choice.candidates.values())
    assert not choice.dropout_found and choice.chosen == "bgnbd"
    aics = [c.aic for c in choice.candidates.values()]
    assert max(aics) - min(aics) < AIC_MARGIN


def test_fit_clv_without_dropout_says_p_alive_is_uninformative():
    orders = simulate_orders(1500, "nbd", CASES["nbd"], seed=2)
    clv = fit_clv(orders, SNAPSHOT)
    assert not clv.p_alive_informative
    assert clv.customers["p_alive"].min() > 0.999
    assert any("carries no information" in note for note in clv.notes)
    assert "no sign of customers leaving" in clv.fit.boundary_note()


def test_choice_rule_by_hand(choices):
    """MAE first, with a tolerance of 5 % or two paired standard errors; AIC among the tied;
    AIC within 2 goes to the first of BG/NBD, MBG/NBD, Pareto/NBD."""
    from dataclasses import replace

    scores = dict(choices["pnbd"].candidates)

    def set_(name, mae, ll, se=0.0):
        return replace(scores[name], mae=mae, log_likelihood=ll, mae_gap_se=se)

    base = {"bgnbd": set_("bgnbd", 1.00, -1000.0), "mbgnbd": set_("mbgnbd", 1.04, -990.0),
            "pnbd": set_("pnbd", 1.10, -900.0)}
    assert pick(base) == "mbgnbd"  # pnbd is 10 % worse: out, however good its likelihood
    assert pick({**base, "pnbd": set_("pnbd", 1.10, -900.0, se=0.06)}) == "pnbd"  # within 2 SE: in
    assert pick({**base, "mbgnbd": set_("mbgnbd", 1.06, -990.0)}) == "bgnbd"  # 6 % > 5 %: out
    assert pick({**base, "mbgnbd": set_("mbgnbd", 1.04, -999.5)}) == "bgnbd"  # AIC 1 lower: equal, first wins
    assert pick({**base, "bgnbd": set_("bgnbd", 1.00, float("nan"))}) == "mbgnbd"
    assert pick({k: replace(v, error="failed") for k, v in base.items()}) is None
    # the paired standard errors of the real choice are those of the per-customer differences
    assert all(c.mae_gap_se > 0 for k, c in scores.items() if k != choices["pnbd"].chosen)


def test_too_little_data_for_a_holdout_is_a_clear_message_and_clv_still_works():
    orders = simulate_orders(150, "bgnbd", CASES["bgnbd"], seed=3)
    choice = choose_purchase_model(orders, SNAPSHOT, 90)
    assert choice.chosen is None and f"needs at least {MIN_REPEAT_CUSTOMERS}" in choice.insufficient
    short = orders.loc[orders["invoice_date"] >= SNAPSHOT - pd.Timedelta(days=150)]
    assert "at least 2 holdout windows" in choose_purchase_model(short, SNAPSHOT, 90).insufficient
    clv = fit_clv(orders, SNAPSHOT)
    assert clv.purchase_model == "bgnbd" and "was not chosen on a holdout" in " ".join(clv.notes)


def test_cumulative_tiers_by_hand():
    """20 customers, values 20..1 with a tie at the 2nd place: rank/n <= 1 % -> nobody alone
    but rank 1 (1/20 = 5 % > 1 %, so top 1% is empty), <= 10 % -> ranks 1-2 (tie shares rank 2:
    3 customers), <= 20 % -> ranks <= 4."""
    values = pd.Series([20, 19, 19, 17, 16] + list(range(15, 0, -1)), index=[f"c{i}" for i in range(20)],
                       dtype=float)
    tiers = clv_tiers(values)
    assert tiers.loc[["c0", "c1", "c2"]].tolist() == ["top 10%"] * 3
    assert tiers.loc["c3"] == "top 20%" and tiers.loc["c4"] == "rest"
    assert tier_counts(tiers) == {"top 1%": 0, "top 10%": 3, "top 20%": 4, "rest": 16}
    hundred = clv_tiers(pd.Series(np.arange(100, 0, -1.0)))
    assert tier_counts(hundred) == {"top 1%": 1, "top 10%": 10, "top 20%": 20, "rest": 80}
    assert hundred.iloc[0] == "top 1%" and in_tier(hundred, "top 10%").iloc[0]  # top 10% includes the top 1%
    assert in_tier(hundred, "top 20%").sum() == 20 and not in_tier(hundred, "rest").iloc[0]


EXPLODED: list[bool] = []


def _explode() -> None:
    EXPLODED.append(True)


class Bomb:
    """An old-style pickle whose loading would run code."""

    def __reduce__(self):
        return (_explode, ())


def test_records_round_trip_and_refuse_old_or_foreign_ones():
    fit = BgNbdFit({"r": 0.24, "alpha": 4.4, "a": 0.79, "b": 2.4}, 0.0, 2357, -9582.4)
    assert BgNbdFit.from_record(fit.to_record("v1"), "v1") == fit
    with pytest.raises(ModelRecordError, match="dataset version"):
        BgNbdFit.from_record(fit.to_record("v1"), "v2")
    with pytest.raises(ModelRecordError, match="holds a 'bgnbd' model"):
        ParetoNbdFit.from_record(fit.to_record())
    gg = GammaGammaFit({"p": 6.25, "q": 3.74, "v": 15.44}, 0.0, 946, None, 0.11)
    assert GammaGammaFit.from_record(gg.to_record()) == gg

    with pytest.raises(ModelRecordError, match="old unversioned pickle"):
        BgNbdFit.from_record(pickle.dumps(Bomb()))
    assert not EXPLODED  # never unpickled
    old = fit.to_record().replace(b'"format_version": 1', b'"format_version": 0')
    with pytest.raises(ModelRecordError, match="format 0 is not the current format 1"):
        BgNbdFit.from_record(old)
    header, payload = read_header(pack_arrays("bgnbd", fit.params))
    header["libraries"]["lifetimes"] = "0.2.0"
    with pytest.raises(ModelRecordError, match="lifetimes 0.2.0 != installed 0.11.3"):
        BgNbdFit.from_record(_pack(header, payload))


def test_churn_estimator_record_refuses_a_tampered_payload():
    from sklearn.linear_model import LogisticRegression

    from analytics.model_store import pack_estimator, unpack_estimator

    model = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    record = pack_estimator("churn", model)
    loaded, _ = unpack_estimator(record, "churn")
    np.testing.assert_allclose(loaded.coef_, model.coef_)
    with pytest.raises(ModelRecordError, match="checksum"):
        unpack_estimator(record[:-3] + b"xyz", "churn")


def test_interval_coverage_on_simulated_customers():
    """BG/NBD customers observed for 730 days, then 365 more.  Counts are whole numbers, so an 80 %
    interval holds at least 80 % of a customer's predictive distribution (often more: [0, 0] for the
    likely gone).  The share of customers whose actual count falls inside must match the share the
    model promises (its own probability of [low, high], by a fresh simulation), and be >= 80 %."""
    orders = simulate_orders(3000, "bgnbd", CASES["bgnbd"], days=730 + 365, entry=365, seed=5)
    past = orders.loc[orders["invoice_date"] < SNAPSHOT]
    clv = fit_clv(past, SNAPSHOT, model="bgnbd", monthly_discount=0.0)
    intervals = clv_intervals(clv, draws=400, seed=0)
    future = orders.loc[orders["invoice_date"] >= SNAPSHOT]
    days = future.assign(day=future["invoice_date"].dt.normalize()).groupby("customer_id")["day"].nunique()
    actual = days.reindex(intervals.table.index, fill_value=0)
    low, high = intervals.table["purchase_days_12m_low"], intervals.table["purchase_days_12m_high"]
    coverage = float(((actual >= low) & (actual <= high)).mean())
    summary = pd.DataFrame({"frequency": clv.customers["repeat_purchase_days"].to_numpy(),
                            "recency": clv.customers["btyd_recency_days"].to_numpy(),
                            "T": clv.customers["btyd_age_days"].to_numpy()})
    draws = simulate_purchases(clv.fit, summary, HORIZON_DAYS, 1000, np.random.default_rng(9))
    promised = float(((draws >= low.to_numpy()[:, None]) & (draws <= high.to_numpy()[:, None])).mean())
    assert promised >= 0.8
    assert coverage == pytest.approx(promised, abs=0.03), (coverage, promised)
    # not a bootstrap of population parameters: widths vary with each customer's history
    width = high - low
    assert width.max() >= 4 and (width == 0).any()
    # money: the value of the repeat purchases actually made (undiscounted, no returns: net = gross)
    repeat = future.groupby("customer_id")["revenue"].sum().reindex(low.index, fill_value=0.0)
    money_low, money_high = intervals.table["net_clv_12m_low"], intervals.table["net_clv_12m_high"]
    money_coverage = float(((repeat >= money_low - 1e-9) & (repeat <= money_high + 1e-9)).mean())
    assert 0.8 <= money_coverage <= promised + 0.03, money_coverage
    again = ClvIntervals.from_record(intervals.to_record())
    pd.testing.assert_frame_equal(again.table, intervals.table, check_index_type=False)


def test_tier_filter_of_the_selection_is_cumulative():
    from analytics.selection import select_customers

    customers = pd.DataFrame({"clv_tier": pd.Categorical(["top 1%", "top 10%", "top 20%", "rest"])},
                             index=pd.Index(["a", "b", "c", "d"], name="customer_id"))
    assert list(select_customers(customers, {"clv_tier": ["top 10%"]}).index) == ["a", "b"]
    assert list(select_customers(customers, {"clv_tier": ["top 20%"]}).index) == ["a", "b", "c"]
    assert list(select_customers(customers, {"clv_tier": ["rest"]}).index) == ["d"]
    assert list(select_customers(customers, {"clv_tier": ["top 1%"]}).index) == ["a"]
