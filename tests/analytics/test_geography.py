"""Country summary and ISO codes: toy by hand, naive recomputation and README figures."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from descriptive_toys import RFM_SNAPSHOT

from analytics import synthetic
from analytics.errors import AnalyticsError
from analytics.geography import (
    COUNTRY_CODES,
    MAPPING_NOTES,
    UNMAPPABLE_COUNTRIES,
    country_summary,
    country_summary_between,
    iso3,
    unmapped_countries,
)


def test_country_summary_by_hand(rfm_log):
    # UK: A 13 - 5 + 6, D -5, guest 5 -> 14; orders 1001, 1003, 1009 (guest) = 3;
    #     gross 13 + 6 + 5 = 24 -> AOV 8; customers: A only (D has no order)
    # France: B 20, C 5 -> 25; orders 1004, 1006; customers B, C; AOV 12.5
    # Germany: C 30; 1 order; customer C
    summary = country_summary(rfm_log.lines, RFM_SNAPSHOT, new_customer_days=30)
    assert list(summary.index) == ["Germany", "France", "United Kingdom"]
    assert summary["revenue"].tolist() == pytest.approx([30.0, 25.0, 14.0])
    assert summary["orders"].tolist() == [1, 2, 3]
    assert summary["customers"].tolist() == [1, 2, 1]
    assert summary["average_order_value"].tolist() == pytest.approx([30.0, 12.5, 8.0])
    assert summary["revenue_share"].sum() == pytest.approx(1.0)
    assert summary["iso3"].tolist() == ["DEU", "FRA", "GBR"]
    # first orders in the 30 days before 2011-03-01: B (02-28, France) only;
    # A and C started in January, C in Germany
    assert summary["new_customers"].tolist() == [0, 1, 0]
    assert summary.loc["Germany", "new_customers"] == 0
    wide = country_summary(rfm_log.lines, RFM_SNAPSHOT, new_customer_days=60)
    assert wide["new_customers"].tolist() == [1, 1, 1]  # C counted in Germany, its first order


def test_snapshot_cuts_and_empty_input(rfm_log):
    early = country_summary(rfm_log.lines, "2011-01-12")
    assert early["revenue"].to_dict() == pytest.approx({"Germany": 30.0, "United Kingdom": 13.0})
    empty = country_summary(rfm_log.lines.iloc[:0])
    assert empty.empty and empty.index.name == "country" and str(empty["orders"].dtype) == "int64"
    with pytest.raises(AnalyticsError, match="new_customer_days"):
        country_summary(rfm_log.lines, new_customer_days=0)


def test_iso_lookup_and_unmappable_list():
    assert iso3("EIRE") == "IRL" and iso3("RSA") == "ZAF" and iso3("USA") == "USA"
    assert iso3("  eire ") == "IRL" and iso3("Korea") == "KOR"
    assert iso3("Channel Islands") is None and iso3("Atlantis") is None and iso3(None) is None
    assert {k for k, v in COUNTRY_CODES.items() if v is None} == set(UNMAPPABLE_COUNTRIES)
    assert set(MAPPING_NOTES) <= set(COUNTRY_CODES)
    assert all(v is None or (len(v) == 3 and v.isupper()) for v in COUNTRY_CODES.values())
    summary = pd.DataFrame({"iso3": pd.array(["GBR", None, None], dtype="str")},
                           index=pd.Index(["United Kingdom", "Unspecified", "Atlantis"], name="country"))
    assert unmapped_countries(summary) == ["Unspecified", "Atlantis"]


def test_synthetic_country_mix_maps():
    names = list(synthetic.OTHER_COUNTRIES.index)
    assert all(name in COUNTRY_CODES for name in names)


@pytest.mark.realdata
def test_every_country_of_both_files_is_mapped_or_listed(online_retail_raw, online_retail_ii_raw):
    for raw in (online_retail_raw, online_retail_ii_raw):
        names = set(raw["country"].astype("str").unique())
        assert names <= set(COUNTRY_CODES), names - set(COUNTRY_CODES)
        unmapped = {name for name in names if iso3(name) is None}
        assert unmapped <= set(UNMAPPABLE_COUNTRIES)


@pytest.mark.realdata
def test_country_summary_matches_a_naive_computation(online_retail):
    lines, snapshot = online_retail.lines, online_retail.snapshot_date
    summary = country_summary(lines, snapshot)
    country = lines["country"].astype("str")
    sales = lines.loc[~lines["is_return"]]
    naive = pd.DataFrame({
        "revenue": lines.groupby(country)["revenue"].sum(),
        "orders": sales.groupby(sales["country"].astype("str"))["invoice"].nunique(),
        "gross": sales.groupby(sales["country"].astype("str"))["revenue"].sum(),
    })
    known = sales.loc[sales["customer_id"].notna()]
    naive["customers"] = known.groupby(known["country"].astype("str"))["customer_id"].nunique()
    naive = naive.fillna(0).reindex(summary.index)
    assert np.allclose(summary["revenue"], naive["revenue"])
    assert (summary["orders"] == naive["orders"]).all()
    assert (summary["customers"] == naive["customers"]).all()
    assert np.allclose(summary["average_order_value"], naive["gross"] / naive["orders"])
    assert summary["revenue"].sum() == pytest.approx(lines["revenue"].sum())


@pytest.mark.realdata
def test_readme_country_figures(online_retail_standard):
    summary = country_summary(online_retail_standard)
    assert summary["revenue"].sum() == pytest.approx(8_911_407.90, abs=0.01)
    assert summary.loc["United Kingdom", "revenue_share"] == pytest.approx(0.8201, abs=5e-5)
    assert summary.index[:5].tolist() == ["United Kingdom", "Netherlands", "EIRE", "Germany", "France"]
    assert summary.loc["Netherlands", "revenue"] == pytest.approx(285_446.34, abs=0.01)
    assert summary.loc["EIRE", "revenue"] == pytest.approx(265_545.90, abs=0.01)
    assert summary.loc["Germany", "revenue"] == pytest.approx(228_867.14, abs=0.01)
    assert summary.loc["France", "revenue"] == pytest.approx(209_024.05, abs=0.01)
    assert len(summary) == 37
    assert set(unmapped_countries(summary)) == {"Channel Islands", "Unspecified", "European Community"}


def test_country_summary_between_by_hand(rfm_log):
    # February: UK 1003 (A, +6), 1009 (guest, +5), C1008 (D, -5) -> 6, orders 2, gross 11, AOV 5.5,
    #   customers A; France 1004 (B, 20), 1006 (C, 5) -> 25, orders 2, customers B and C.
    # First orders ever in February: B only (A started 01-10, C 01-05 in Germany).
    february = country_summary_between(rfm_log.lines, "2011-02-01", "2011-03-01")
    assert list(february.index) == ["France", "United Kingdom"]
    assert february["revenue"].tolist() == pytest.approx([25.0, 6.0])
    assert february["orders"].tolist() == [2, 2]
    assert february["customers"].tolist() == [2, 1]
    assert february["average_order_value"].tolist() == pytest.approx([12.5, 5.5])
    assert february["new_customers"].tolist() == [1, 0]
    assert february["revenue_share"].sum() == pytest.approx(1.0)
    assert february["iso3"].tolist() == ["FRA", "GBR"]
    # 1 to 19 January: Germany 1005 (C, 30, new), UK 1001 (A, 13, new) and C1002 (-5)
    january = country_summary_between(rfm_log.lines, "2011-01-01", "2011-01-20")
    assert january["revenue"].to_dict() == pytest.approx({"Germany": 30.0, "United Kingdom": 8.0})
    assert january["new_customers"].to_dict() == {"Germany": 1, "United Kingdom": 1}
    assert country_summary_between(rfm_log.lines, "2012-01-01", "2012-02-01").empty
    with pytest.raises(AnalyticsError, match="must end after it starts"):
        country_summary_between(rfm_log.lines, "2011-02-01", "2011-02-01")
