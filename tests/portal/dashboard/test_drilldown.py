"""portal.dashboard.drilldown: what a click selects, parsed from the URL leniently, and the
customers behind it through the export route (counts against analytics)."""
from __future__ import annotations

import io
from datetime import date

import pandas as pd
from dashboard_testlib import cleaned_log
from portal_testlib import logged_in

from analytics.cohorts import cohort_table
from analytics.products import product_summary
from portal.dashboard.drilldown import Drill, drill_link
from portal.dashboard.filters import Filters


def test_marks_are_parsed_leniently_and_written_back():
    drill = Drill.from_query("?cohort=2011-03&period=2&product=85123A&field=monetary&min=10&max=20.5&last=1&q=12")
    assert (drill.cohort, drill.period, drill.product, drill.field, drill.low, drill.high, drill.last, drill.search) \
        == (date(2011, 3, 1), 2, "85123A", "monetary", 10.0, 20.5, True, "12")
    assert drill.to_params() == {"cohort": "2011-03", "period": "2", "product": "85123A", "field": "monetary",
                                 "min": "10", "max": "20.5", "last": "1", "q": "12"}
    assert drill.slug().startswith("cohort2011-03-period2-product85123A")
    forged = Drill.from_query("?cohort=soon&period=-1&field=password&min=nan&cluster=x&q=" + "9" * 500)
    assert forged.cohort is None and forged.field is None and forged.cluster is None
    assert forged.search is None and Drill.from_query("?q=" + "9" * 120).search == "9" * 120  # an e-mail may be long
    assert Drill.from_query({"q": "9" * 200}).search is None  # over the URL parser's 128 characters: dropped
    assert Drill.from_query("").is_empty


def test_links_keep_the_filters_and_say_where_they_came_from():
    filters = Filters(countries=("France",), segments=("Lost",))
    assert drill_link(filters, "/segments", segment="Champions") == \
        "/customers?country=France&segment=Champions&from=%2Fsegments"
    assert drill_link(Filters(), "/value", field="net_clv_12m", min=1.5, max=None, last=None) == \
        "/customers?field=net_clv_12m&min=1.5&from=%2Fvalue"


def _exported(client, query: str) -> pd.DataFrame:
    response = client.get("/export/customers.csv?raw=1&" + query)
    assert response.status_code == 200, response.data[:200]
    return pd.read_csv(io.StringIO(response.get_data(as_text=True)), dtype={"customer_id": str})


def test_each_mark_lists_the_customers_analytics_puts_behind_it(dashboard_app, dashboard_logs, alpha_reference):
    cleaned, _, rfm = alpha_reference
    client = logged_in(dashboard_app, "manager@alpha.test")
    cohorts = cohort_table(cleaned.lines, cleaned.snapshot_date)
    cell = cohorts[(cohorts["period"] == 1) & (cohorts["active_customers"] > 0)].iloc[0]
    assert len(_exported(client, f"cohort={cell['cohort']:%Y-%m}")) == cell["cohort_size"]
    assert len(_exported(client, f"cohort={cell['cohort']:%Y-%m}&period=1")) == cell["active_customers"]
    french = cleaned.lines[cleaned.lines["country"] == "France"]
    french_cohorts = cohort_table(french, cleaned.snapshot_date)
    first = french_cohorts[french_cohorts["period"] == 0].iloc[0]
    assert len(_exported(client, f"country=France&cohort={first['cohort']:%Y-%m}")) == first["cohort_size"]
    products = product_summary(cleaned.lines, cleaned.snapshot_date)
    code = products.index[3]
    assert len(_exported(client, f"product={code}")) == products.loc[code, "customers"]
    band = rfm[(rfm["monetary"] >= 200) & (rfm["monetary"] < 800)]
    assert sorted(_exported(client, "field=monetary&min=200&max=800")["customer_id"]) == sorted(band.index)
    part = rfm.index[0][1:4]
    assert set(_exported(client, f"q={part}")["customer_id"]) == {c for c in rfm.index if part in c}
    # the file name says what was clicked
    name = client.get(f"/export/customers.csv?product={code}").headers["Content-Disposition"]
    assert f"product{code}" in name
    # another tenant's manager asking for alpha's cohort gets beta's customers only
    beta = logged_in(dashboard_app, "manager@beta.test")
    beta_ids = set(cleaned_log(dashboard_logs["beta"]).lines["customer_id"].dropna().astype(str))
    assert set(_exported(beta, f"cohort={cell['cohort']:%Y-%m}")["customer_id"]) <= beta_ids
    assert logged_in(dashboard_app, "viewer@alpha.test").get("/export/customers.csv").status_code == 403
