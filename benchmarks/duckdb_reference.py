"""DuckDB reference of ``python -m analytics report INPUT --out DIR --skip-models``.

    python benchmarks/duckdb_reference.py INPUT --out DIR [--no-kmeans]

Equal scope, written the way a DuckDB user would: one SQL engine over the file,
the same cleaning rules as :mod:`analytics.cleaning` (canonical text, exact
duplicates, after-snapshot, non-positive price, non-product codes, invalid
quantity; guests and returns kept), then RFM + quintile scores (ties never
split) + segments, segment migration over 90 days, monthly cohorts, countries
(with ISO3), monthly trends, weekday x hour, KPIs, products + Pareto, revenue
concentration, and the same eight files (CSV written by DuckDB's ``COPY``).

k-means stays in Python (``analytics.clusters.cluster_customers`` on the RFM
table, as the issue allows); its imports (pandas, scikit-learn) and run are
timed apart and printed on stderr as ``timing {...}`` with the SQL part, so a
runner can report both.  ``--no-kmeans`` skips it (cluster columns empty).

Constants (segment grid, descriptions, non-product codes, ISO3 codes) are
copied here as data rather than imported from ``analytics``, so the SQL part
does not pay for importing pandas.  ``bench_report_vs_duckdb.py`` checks that
this script's files agree with the library's (row counts, totals, every cell).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

START = time.perf_counter()

import duckdb  # noqa: E402

LOOKBACK_DAYS = 90

SEGMENT_ORDER = (
    "Champions", "Loyal Customers", "Potential Loyalists", "New Customers", "Promising",
    "Need Attention", "About to Sleep", "At Risk", "Can't Lose Them", "Hibernating", "Lost",
)
NOT_YET = "Not yet a customer"
# (R, F) -> segment: the 5 x 5 grid of analytics.rfm.SEGMENT_MAP, rows R = 5..1, columns F = 1..5
GRID = {
    5: ("New Customers", "Potential Loyalists", "Potential Loyalists", "Champions", "Champions"),
    4: ("Promising", "Potential Loyalists", "Potential Loyalists", "Loyal Customers", "Loyal Customers"),
    3: ("About to Sleep", "About to Sleep", "Need Attention", "Loyal Customers", "Loyal Customers"),
    2: ("Hibernating", "Hibernating", "At Risk", "At Risk", "Can't Lose Them"),
    1: ("Lost", "Hibernating", "At Risk", "At Risk", "Can't Lose Them"),
}
DESCRIPTIONS = {
    "Champions": "Bought very recently and most often. Reward them; ask for reviews; early access to new lines.",
    "Loyal Customers": "Buy often and fairly recently. Upsell higher-value items; loyalty programme.",
    "Potential Loyalists": "Recent, a few orders. Offer membership or bundles to build the habit.",
    "New Customers": "First order very recently. Onboard well: welcome series, second-order incentive.",
    "Promising": "Recent but a single order. Build awareness of the range; a small time-limited offer.",
    "Need Attention": "Average recency and frequency. Personalised recommendations, limited offers.",
    "About to Sleep": "Fading recency, few orders. Reactivate with popular products and discounts.",
    "At Risk": "Used to buy regularly, not for a long time. Win-back e-mails, personal outreach.",
    "Can't Lose Them": "Among the most frequent buyers, but gone quiet. Call them; win them back at cost.",
    "Hibernating": "Long ago, few orders. Offer other relevant products; low-cost reactivation only.",
    "Lost": "Lowest recency and frequency. Ignore in campaigns or try one last low-cost revival.",
}
NON_PRODUCT = ("POST", "DOT", "C2", "C3", "M", r"ADJUST\d*", "B", "D", "S", "PADS", "BANK CHARGES",
               "AMAZONFEE", "CRUK", r"TEST\d*", r"GIFT_\d+_\d+")
ISO3 = {
    "Australia": "AUS", "Austria": "AUT", "Bahrain": "BHR", "Belgium": "BEL", "Bermuda": "BMU",
    "Brazil": "BRA", "Canada": "CAN", "Cyprus": "CYP", "Czech Republic": "CZE", "Denmark": "DNK",
    "EIRE": "IRL", "Finland": "FIN", "France": "FRA", "Germany": "DEU", "Greece": "GRC",
    "Hong Kong": "HKG", "Iceland": "ISL", "Israel": "ISR", "Italy": "ITA", "Japan": "JPN",
    "Korea": "KOR", "Lebanon": "LBN", "Lithuania": "LTU", "Malta": "MLT", "Netherlands": "NLD",
    "Nigeria": "NGA", "Norway": "NOR", "Poland": "POL", "Portugal": "PRT", "RSA": "ZAF",
    "Saudi Arabia": "SAU", "Singapore": "SGP", "Spain": "ESP", "Sweden": "SWE", "Switzerland": "CHE",
    "Thailand": "THA", "USA": "USA", "United Arab Emirates": "ARE", "United Kingdom": "GBR",
}
RULES = {
    "duplicate": "exact duplicate of an earlier line (all eight columns equal); the first is kept",
    "after_snapshot": "invoice dated on or after the snapshot date",
    "non_positive_price": "unit price zero or negative (free samples, bad-debt adjustments)",
    "non_product": "stock code of a non-product line (postage, fees, adjustments: NON_PRODUCT_CODES)",
    "invalid_quantity": "quantity zero, negative on a sale or positive on a cancellation",
    "no_customer": "no customer id: kept for business revenue, excluded from customer analytics",
    "return": "line of a cancellation invoice: nets against revenue, never an order",
}


def _source(path: str) -> str:
    head = Path(path).read_bytes()[:4]
    if head == b"PAR1":
        return f"read_parquet('{path}')"
    return (f"read_csv('{path}', header=true, all_varchar=false, "
            "types={'Invoice': 'VARCHAR', 'StockCode': 'VARCHAR', 'Description': 'VARCHAR', "
            "'Customer ID': 'VARCHAR', 'Country': 'VARCHAR', 'InvoiceDate': 'TIMESTAMP'})")


def _values(rows) -> str:
    return ", ".join("(" + ", ".join(_sql(v) for v in row) + ")" for row in rows)


def _sql(value) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return str(value)


def run(path: str, out: Path, kmeans: bool) -> dict:
    timing = {}
    con = duckdb.connect()
    if os.environ.get("DUCKDB_THREADS"):  # default: DuckDB's own choice (all cores)
        con.execute(f"SET threads = {int(os.environ['DUCKDB_THREADS'])}")
    out.mkdir(parents=True, exist_ok=True)
    q = con.execute
    seg_rows = [(i, name) for i, name in enumerate(SEGMENT_ORDER)]
    q(f"CREATE TEMP TABLE seg(pos INT, segment VARCHAR); INSERT INTO seg VALUES {_values(seg_rows)}")
    q(f"CREATE TEMP TABLE grid(r INT, f INT, segment VARCHAR); INSERT INTO grid VALUES "
      f"{_values([(r, f + 1, s) for r, row in GRID.items() for f, s in enumerate(row)])}")
    q(f"CREATE TEMP TABLE iso(country VARCHAR, iso3 VARCHAR); INSERT INTO iso VALUES {_values(ISO3.items())}")

    # ---- load + canonical text (analytics.parsing) ------------------------------------
    t = time.perf_counter()
    q(f"""CREATE TEMP TABLE raw AS SELECT
            trim("Invoice"::VARCHAR) AS invoice,
            upper(trim("StockCode"::VARCHAR)) AS stock_code,
            nullif(trim("Description"), '') AS description,
            "Quantity"::INTEGER AS quantity,
            "InvoiceDate"::TIMESTAMP AS invoice_date,
            "Price"::DOUBLE AS unit_price,
            nullif(regexp_replace(trim("Customer ID"::VARCHAR), '\\.0+$', ''), '') AS customer_id,
            coalesce(nullif(trim("Country"), ''), 'Unspecified') AS country
          FROM {_source(path)}""")
    rows_in, last = q("SELECT count(*), max(invoice_date) FROM raw").fetchone()
    snapshot = q("SELECT date_trunc('day', ?::TIMESTAMP) + INTERVAL 1 DAY", [last]).fetchone()[0]
    timing["load"] = time.perf_counter() - t

    # ---- cleaning (analytics.cleaning), rules in order -----------------------------------
    t = time.perf_counter()
    pattern = "|".join(f"(?:{p})" for p in NON_PRODUCT)
    q("CREATE TEMP TABLE dedup AS SELECT DISTINCT * FROM raw")
    duplicates = rows_in - q("SELECT count(*) FROM dedup").fetchone()[0]
    q(f"""CREATE TEMP TABLE flagged AS SELECT *, starts_with(invoice, 'C') AS is_return,
            CASE WHEN invoice_date >= TIMESTAMP '{snapshot}' THEN 'after_snapshot'
                 WHEN unit_price <= 0 THEN 'non_positive_price'
                 WHEN regexp_full_match(stock_code, '{pattern}') THEN 'non_product'
                 WHEN quantity = 0 OR (starts_with(invoice, 'C') AND quantity > 0)
                      OR (NOT starts_with(invoice, 'C') AND quantity < 0) THEN 'invalid_quantity'
            END AS rule FROM dedup""")
    removed = dict(q("SELECT rule, count(*) FROM flagged WHERE rule IS NOT NULL GROUP BY rule").fetchall())
    q("""CREATE TEMP TABLE lines AS SELECT invoice, stock_code, description, quantity, invoice_date,
            unit_price, customer_id, country, quantity * unit_price AS revenue, is_return,
            CAST(invoice_date AS DATE) AS day, date_trunc('month', invoice_date) AS month
          FROM flagged WHERE rule IS NULL""")
    # orders: non-cancellation invoices; customer / country the largest of their lines
    q("""CREATE TEMP TABLE orders AS SELECT invoice, min(invoice_date) AS time, max(customer_id) AS customer_id,
            max(country) AS country, sum(revenue) AS gross
          FROM lines WHERE NOT is_return GROUP BY invoice""")
    cleaning = dict(zip(
        ("rows_out", "rows_without_customer", "return_lines", "first_date", "last_date"),
        q("""SELECT count(*), count(*) FILTER (customer_id IS NULL), count(*) FILTER (is_return),
                    min(invoice_date), max(invoice_date) FROM lines""").fetchone()))
    customers_n, orders_n = q("SELECT count(DISTINCT customer_id), count(*) FROM orders").fetchone()
    timing["clean"] = time.perf_counter() - t

    # ---- RFM + scores + segments at a date (analytics.rfm) --------------------------------
    t = time.perf_counter()

    def rfm_at(name: str, cutoff: str) -> None:
        q(f"""CREATE TEMP TABLE {name} AS
          WITH o AS (SELECT * FROM orders WHERE time < TIMESTAMP '{cutoff}' AND customer_id IS NOT NULL),
          c AS (SELECT customer_id, count(*) AS frequency, min(time) AS first_order, max(time) AS last_order,
                       max_by(country, (time, invoice)) AS country
                FROM o GROUP BY customer_id),
          m AS (SELECT customer_id, sum(revenue) AS monetary FROM lines
                WHERE invoice_date < TIMESTAMP '{cutoff}' AND customer_id IS NOT NULL GROUP BY customer_id),
          b AS (SELECT c.customer_id, date_diff('day', CAST(last_order AS DATE), DATE '{cutoff[:10]}') AS recency,
                       frequency, m.monetary, date_diff('day', CAST(first_order AS DATE), DATE '{cutoff[:10]}')
                       AS tenure, first_order, last_order, country, round(m.monetary, 6) AS m6
                FROM c JOIN m USING (customer_id)),
          s AS (SELECT *, count(*) OVER () AS n,
                 rank() OVER (ORDER BY recency DESC) AS r1, count(*) OVER (ORDER BY recency DESC) AS r2,
                 rank() OVER (ORDER BY frequency) AS f1, count(*) OVER (ORDER BY frequency) AS f2,
                 rank() OVER (ORDER BY m6) AS m1, count(*) OVER (ORDER BY m6) AS m2 FROM b),
          q AS (SELECT * EXCLUDE (m6, n, r1, r2, f1, f2, m1, m2),
                 1 + (5 * (r1 + r2 - 1)) // (2 * n) AS r_score, 1 + (5 * (f1 + f2 - 1)) // (2 * n) AS f_score,
                 1 + (5 * (m1 + m2 - 1)) // (2 * n) AS m_score FROM s)
          SELECT q.*, (r_score * 100 + f_score * 10 + m_score)::VARCHAR AS rfm_score,
                 (f_score + m_score + 1) // 2 AS fm_score, grid.segment
          FROM q JOIN grid ON grid.r = q.r_score AND grid.f = q.f_score""")

    snap = str(snapshot)
    previous = str(q(f"SELECT TIMESTAMP '{snap}' - INTERVAL {LOOKBACK_DAYS} DAY").fetchone()[0])
    rfm_at("rfm", snap)
    q(f"CREATE TEMP TABLE descr(segment VARCHAR, description VARCHAR); INSERT INTO descr VALUES "
      f"{_values(DESCRIPTIONS.items())}")
    q("""CREATE TEMP TABLE segments AS SELECT seg.segment, count(rfm.customer_id) AS customers,
            count(rfm.customer_id) / (SELECT count(*) FROM rfm) AS share, coalesce(sum(monetary), 0) AS revenue,
            coalesce(sum(monetary), 0) / (SELECT sum(monetary) FROM rfm) AS revenue_share,
            avg(recency) AS mean_recency, avg(frequency) AS mean_frequency, avg(monetary) AS mean_monetary,
            any_value(descr.description) AS description
          FROM seg LEFT JOIN rfm USING (segment) JOIN descr USING (segment)
          GROUP BY seg.pos, seg.segment ORDER BY seg.pos""")
    q(f"COPY segments TO '{out / 'segments.csv'}'")
    counts = dict(q("SELECT segment, customers FROM segments").fetchall())
    monetary = [row[0] for row in q("SELECT monetary FROM rfm").fetchall()]
    concentration = _concentration(monetary)
    timing["rfm"] = time.perf_counter() - t

    # ---- migration (analytics.migration) ---------------------------------------------
    t = time.perf_counter()
    rfm_at("rfm_prev", previous)
    q(f"""CREATE TEMP TABLE mig AS SELECT rfm.customer_id, coalesce(p.segment, '{NOT_YET}') AS previous,
            rfm.segment AS current, coalesce(w.revenue, 0) AS window_revenue
          FROM rfm LEFT JOIN rfm_prev p USING (customer_id)
          LEFT JOIN (SELECT customer_id, sum(revenue) AS revenue FROM lines
                     WHERE invoice_date >= TIMESTAMP '{previous}' GROUP BY customer_id) w USING (customer_id)""")
    q(f"CREATE TEMP TABLE prev_seg AS SELECT * FROM seg UNION ALL SELECT {len(SEGMENT_ORDER)}, '{NOT_YET}'")
    q(f"""COPY (SELECT p.segment AS previous, c.segment AS current, count(m.customer_id) AS customers,
                   coalesce(sum(m.window_revenue), 0) AS revenue
             FROM prev_seg p CROSS JOIN seg c LEFT JOIN mig m ON m.previous = p.segment AND m.current = c.segment
             GROUP BY p.pos, p.segment, c.pos, c.segment ORDER BY p.pos, c.pos) TO '{out / "migration.csv"}'""")
    stayed = q(f"""SELECT count(*) FILTER (previous = current) / count(*) FROM mig
                   WHERE previous <> '{NOT_YET}'""").fetchone()[0]
    timing["migration"] = time.perf_counter() - t

    # ---- customer first orders, used by cohorts, countries and trends -------------------
    q("""CREATE TEMP TABLE firsts AS SELECT customer_id, min(time) AS first_time,
            date_trunc('month', min(time)) AS first_month, min_by(country, (time, invoice)) AS first_country
          FROM orders WHERE customer_id IS NOT NULL GROUP BY customer_id""")

    # ---- cohorts (analytics.cohorts) ---------------------------------------------------
    t = time.perf_counter()
    last_month = f"date_trunc('month', TIMESTAMP '{snap}' - INTERVAL 1 DAY)"
    q(f"""COPY (
          WITH sizes AS (SELECT first_month AS cohort, count(*) AS size FROM firsts GROUP BY 1),
          cells AS (SELECT cohort, size, p AS period, cohort + to_months(p::INTEGER) AS month FROM sizes,
                    range(0, date_diff('month', cohort, {last_month}) + 1) r(p)),
          active AS (SELECT f.first_month AS cohort, date_diff('month', f.first_month, date_trunc('month', o.time))
                            AS period, count(DISTINCT o.customer_id) AS active
                     FROM orders o JOIN firsts f USING (customer_id) GROUP BY 1, 2),
          rev AS (SELECT f.first_month AS cohort,
                         greatest(date_diff('month', f.first_month, l.month), 0) AS period, sum(l.revenue) AS revenue
                  FROM lines l JOIN firsts f USING (customer_id) GROUP BY 1, 2)
          SELECT cells.cohort, cells.period, cells.month, size AS cohort_size, coalesce(active, 0) AS active_customers,
                 coalesce(active, 0) / size AS retention, coalesce(revenue, 0) AS revenue,
                 coalesce(revenue, 0) / size AS revenue_per_customer
          FROM cells LEFT JOIN active USING (cohort, period) LEFT JOIN rev USING (cohort, period)
          ORDER BY cohort, period) TO '{out / "cohort_retention.csv"}'""")
    timing["cohorts"] = time.perf_counter() - t

    # ---- countries (analytics.geography) -----------------------------------------------
    t = time.perf_counter()
    q(f"""CREATE TEMP TABLE countries AS
          WITH r AS (SELECT country, sum(revenue) AS revenue FROM lines GROUP BY country),
          o AS (SELECT country, count(*) AS orders, sum(gross) AS gross,
                       count(DISTINCT customer_id) AS customers FROM orders GROUP BY country),
          n AS (SELECT first_country AS country, count(*) AS new_customers FROM firsts
                WHERE first_time >= TIMESTAMP '{previous}' GROUP BY 1)
          SELECT r.country, iso.iso3, r.revenue, r.revenue / sum(r.revenue) OVER () AS revenue_share,
                 coalesce(o.orders, 0) AS orders, coalesce(o.customers, 0) AS customers,
                 coalesce(n.new_customers, 0) AS new_customers, o.gross / o.orders AS average_order_value
          FROM r LEFT JOIN o USING (country) LEFT JOIN n USING (country) LEFT JOIN iso USING (country)
          ORDER BY r.revenue DESC, r.country""")
    q(f"COPY countries TO '{out / 'countries.csv'}'")
    unmapped = [r[0] for r in q("SELECT country FROM countries WHERE iso3 IS NULL").fetchall()]
    timing["geography"] = time.perf_counter() - t

    # ---- trends (analytics.trends): monthly, weekday x hour, KPIs ---------------------------
    t = time.perf_counter()
    q(f"""COPY (
          WITH months AS (SELECT unnest(generate_series(min(month), max(month), INTERVAL 1 MONTH)) AS month
                          FROM lines),
          l AS (SELECT l.month, sum(revenue) AS revenue,
                       sum(revenue) FILTER (l.customer_id IS NOT NULL AND f.first_month = l.month) AS revenue_new,
                       sum(revenue) FILTER (l.customer_id IS NOT NULL) AS revenue_known,
                       sum(revenue) FILTER (l.customer_id IS NULL) AS revenue_guests
                FROM lines l LEFT JOIN firsts f USING (customer_id) GROUP BY l.month),
          o AS (SELECT date_trunc('month', time) AS month, count(*) AS orders, sum(gross) AS gross,
                       count(DISTINCT customer_id) AS active FROM orders GROUP BY 1),
          n AS (SELECT first_month AS month, count(*) AS new FROM firsts GROUP BY 1)
          SELECT m.month, coalesce(revenue, 0) AS revenue, coalesce(gross, 0) AS gross_revenue,
                 coalesce(orders, 0) AS orders, gross / orders AS average_order_value,
                 coalesce(active, 0) AS active_customers, coalesce(new, 0) AS new_customers,
                 coalesce(active, 0) - coalesce(new, 0) AS returning_customers,
                 coalesce(revenue_new, 0) AS revenue_new,
                 coalesce(revenue_known, 0) - coalesce(revenue_new, 0) AS revenue_returning,
                 coalesce(revenue_guests, 0) AS revenue_guests
          FROM months m LEFT JOIN l USING (month) LEFT JOIN o USING (month) LEFT JOIN n USING (month)
          ORDER BY m.month) TO '{out / "monthly.csv"}'""")
    q("""SELECT isodow(invoice_date) - 1 AS weekday, hour(invoice_date) AS hour, sum(revenue)
         FROM lines GROUP BY ALL""").fetchall()
    q("SELECT isodow(time) - 1, hour(time), count(*) FROM orders GROUP BY ALL").fetchall()
    before_start = str(q(f"SELECT TIMESTAMP '{previous}' - INTERVAL {LOOKBACK_DAYS} DAY").fetchone()[0])
    kpis_now = _kpis(q, previous, snap)
    kpis_before = _kpis(q, before_start, previous)
    timing["trends"] = time.perf_counter() - t

    # ---- products (analytics.products) + Pareto ------------------------------------------
    t = time.perf_counter()
    q("""CREATE TEMP TABLE products AS
          WITH d AS (SELECT stock_code, arg_min(description, (-n, description)) AS description
                     FROM (SELECT stock_code, description, count(*) AS n FROM lines
                           WHERE description IS NOT NULL GROUP BY ALL) GROUP BY stock_code),
          p AS (SELECT stock_code, sum(revenue) AS revenue,
                       coalesce(sum(quantity) FILTER (NOT is_return), 0) AS quantity,
                       coalesce(-sum(quantity) FILTER (is_return), 0) AS returned_quantity,
                       count(DISTINCT customer_id) FILTER (NOT is_return) AS customers,
                       count(DISTINCT invoice) FILTER (NOT is_return) AS orders
                FROM lines GROUP BY stock_code)
          SELECT p.stock_code, d.description, revenue, quantity, returned_quantity,
                 CASE WHEN quantity > 0 THEN returned_quantity / quantity END AS return_rate, customers, orders
          FROM p LEFT JOIN d USING (stock_code) ORDER BY revenue DESC, stock_code""")
    q(f"COPY products TO '{out / 'products.csv'}'")
    revenue = [r[0] for r in q("SELECT greatest(revenue, 0) FROM products").fetchall()]
    pareto = _pareto(revenue)
    timing["products"] = time.perf_counter() - t
    sql_done = time.perf_counter()

    # ---- k-means in Python (timed apart, imports included) ----------------------------------
    clusters = None
    if kmeans:
        t = time.perf_counter()
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        from analytics.clusters import cluster_customers  # pandas + scikit-learn, imported here

        frame = q("SELECT customer_id, recency, frequency, monetary, tenure FROM rfm ORDER BY customer_id").df()
        result = cluster_customers(frame.set_index("customer_id"), seed=0)
        q("CREATE TEMP TABLE clusters(customer_id VARCHAR, cluster BIGINT, cluster_label VARCHAR)")
        labels = result.labels
        con.register("cl", frame.assign(cluster=labels.to_numpy(), cluster_label=result.cluster_labels.to_numpy())
                     [["customer_id", "cluster", "cluster_label"]])
        q("INSERT INTO clusters SELECT * FROM cl")
        clusters = {
            "k": result.k, "silhouette": result.silhouette, "features": list(result.features),
            "sample_size": result.sample_size, "curves": result.curves.to_dict(orient="records"),
            "labels": result.profiles["label"].tolist(),
        }
        timing["kmeans"] = time.perf_counter() - t
    else:
        q("CREATE TEMP TABLE clusters(customer_id VARCHAR, cluster BIGINT, cluster_label VARCHAR)")

    # ---- the remaining files ----------------------------------------------------------
    t = time.perf_counter()
    q(f"""COPY (SELECT rfm.customer_id, recency, frequency, monetary, tenure, first_order, last_order, country,
                   r_score, f_score, m_score, rfm_score, fm_score, rfm.segment, mig.previous AS previous_segment,
                   cluster, cluster_label
             FROM rfm JOIN mig USING (customer_id) LEFT JOIN clusters USING (customer_id)
             ORDER BY rfm.customer_id) TO '{out / "customers.csv"}'""")
    summary = {
        "snapshot_date": snap[:10], "lookback_days": LOOKBACK_DAYS,
        "cleaning": {
            "rows_in": rows_in,
            "removed": {"duplicate": duplicates, **{r: removed.get(r, 0) for r in
                        ("after_snapshot", "non_positive_price", "non_product", "invalid_quantity")}},
            "rows_out": cleaning["rows_out"], "rows_without_customer": cleaning["rows_without_customer"],
            "return_lines": cleaning["return_lines"], "customers": customers_n, "orders": orders_n,
            "first_date": cleaning["first_date"].isoformat(), "last_date": cleaning["last_date"].isoformat(),
            "snapshot_date": snapshot.isoformat(), "rules": RULES,
        },
        "customers": len(monetary),
        "kpis": {"window": [previous[:10], snap[:10]], "previous_window": [before_start[:10], previous[:10]],
                 **{k: _change(kpis_now[k], kpis_before[k]) for k in kpis_now}},
        "segment_counts": {name: counts[name] for name in SEGMENT_ORDER},
        "segment_stayed_share": stayed, "concentration": concentration, "clusters": clusters, "pareto": pareto,
        "unmapped_countries": unmapped, "notes": [],
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str) + "\n", encoding="utf-8")
    timing["write"] = time.perf_counter() - t
    timing["sql_total"] = sql_done - START
    return timing


def _kpis(q, start: str, end: str) -> dict:
    revenue = q(f"""SELECT coalesce(sum(revenue), 0) FROM lines
                    WHERE invoice_date >= TIMESTAMP '{start}' AND invoice_date < TIMESTAMP '{end}'""").fetchone()[0]
    orders, gross = q(f"""SELECT count(*), sum(gross) FROM orders
                          WHERE time >= TIMESTAMP '{start}' AND time < TIMESTAMP '{end}'""").fetchone()
    customers, new, repeat = q(f"""
        WITH upto AS (SELECT customer_id, count(*) AS n, min(time) AS first,
                             bool_or(time >= TIMESTAMP '{start}') AS active
                      FROM orders WHERE time < TIMESTAMP '{end}' AND customer_id IS NOT NULL GROUP BY customer_id)
        SELECT count(*), count(*) FILTER (first >= TIMESTAMP '{start}'), avg((n >= 2)::INT)
        FROM upto WHERE active""").fetchone()
    return {"revenue": revenue, "orders": orders, "customers": customers, "new_customers": new,
            "average_order_value": gross / orders if orders else None, "repeat_customer_rate": repeat}


def _change(value, previous) -> dict:
    change = None
    if value is not None and previous:
        change = 100 * (value - previous) / abs(previous)
    return {"value": None if value is None else float(value),
            "previous": None if previous is None else float(previous), "change_pct": change}


def _concentration(monetary: list[float]) -> dict | None:
    values = sorted(max(v, 0.0) for v in monetary)
    n, total = len(values), sum(values)
    if not n or total <= 0:
        return None
    cumulative, running = [0.0], 0.0
    for v in values:
        running += v
        cumulative.append(running / total)

    def top(share: float) -> float:
        position = share * n
        i = min(int(position), n - 1)
        return 1 - (cumulative[i] + (position - i) * (cumulative[i + 1] - cumulative[i]))

    gini = 2 * sum((i + 1) * v for i, v in enumerate(values)) / (n * total) - (n + 1) / n
    return {"customers": n, "non_positive_customers": sum(v <= 0 for v in values), "positive_revenue": total,
            "top_1pct_share": top(0.99), "top_10pct_share": top(0.90), "top_20pct_share": top(0.80),
            "gini": gini}


def _pareto(revenue: list[float]) -> dict | None:
    total = sum(revenue)
    if not revenue or total <= 0:
        return None
    running, needed = 0.0, len(revenue)
    for i, v in enumerate(sorted(revenue, reverse=True)):
        running += v
        if running / total >= 0.8 - 1e-12:
            needed = i + 1
            break
    return {"products": len(revenue), "products_for_80pct_revenue": needed,
            "product_share_for_80pct_revenue": needed / len(revenue)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input")
    parser.add_argument("--out", required=True)
    parser.add_argument("--no-kmeans", action="store_true")
    args = parser.parse_args()
    timing = run(args.input, Path(args.out), kmeans=not args.no_kmeans)
    timing["total"] = time.perf_counter() - START
    print("timing " + json.dumps(timing), file=sys.stderr)


if __name__ == "__main__":
    main()
