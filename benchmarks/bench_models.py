"""Benchmarks of the predictive models: a script that prints figures, not a test.

    python benchmarks/bench_models.py                   # everything (a few minutes)
    python benchmarks/bench_models.py --section real    # one section

Sections (each in its own child process, so peak RSS is its own):

* ``clv``: :func:`analytics.clv.fit_clv` for 100k synthetic customers -- the three
  candidates (BG/NBD, MBG/NBD, Pareto/NBD on a sample of at most 10,000) fitted on
  the calibration period and scored on the 90-day holdout, the chosen one refitted
  on all data, Gamma-Gamma, scoring (target < 8 s); then, timed apart, the per-customer
  80 % intervals (:func:`analytics.intervals.clv_intervals`, background job).
* ``churn``: horizon, features, grouped cross-validation, calibration, evaluation
  (:func:`train_churn_model`) + scoring for the same 100k customers (target <= 14 s of
  CPU, user + sys of the process: the wall time on a shared machine is mostly waiting).
* ``recommend``: association rules, top-10 recommendations for every customer
  and the holdout evaluation on about 1M order lines (target < 30 s, < 2 GB).
* ``real``: :func:`analytics.models.fit_models` on the UCI Online Retail files:
  each candidate's holdout MAE and the choice, P(alive) quantiles, the valuable
  customers at risk, churn ROC AUC on the untouched cut-off against recency alone,
  Brier score against the base rate, recommendations.

Synthetic data: :func:`analytics.synthetic.generate_transactions` (seeded),
written once to a temporary Parquet file that the sections load; load and
cleaning times are reported apart from the model times.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import analytics as A

DATA = REPO.parent / "shared" / "data"
REAL = ("online_retail.parquet", "online_retail_ii.parquet")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


CPU: dict[str, float] = {}


def timed(fn, name: str | None = None):
    """``fn()`` and its wall-clock seconds; its CPU seconds (this process) go to ``CPU[name]``:
    on a shared, overloaded machine the CPU time is the steadier figure."""
    start, cpu = time.perf_counter(), time.process_time()
    value = fn()
    if name:
        CPU[name] = time.process_time() - cpu
    return value, time.perf_counter() - start


def load(path: str):
    cleaned, seconds = timed(lambda: A.clean_transactions(A.load_transactions(path)))
    return cleaned, {"rows": cleaned.report.rows_in, "lines": len(cleaned.lines),
                     "customers": cleaned.report.customers, "load_clean_s": seconds}


# ---------------------------------------------------------------------------------
# sections (run in child processes)


def section_generate(path: str, customers: int, months: int, seed: int) -> dict:
    from analytics.synthetic import generate_transactions

    raw, seconds = timed(lambda: generate_transactions(n_customers=customers, n_months=months, seed=seed))
    raw.to_parquet(path)
    return {"rows": len(raw), "customers": customers, "months": months, "generate_s": seconds}


def section_clv(path: str) -> dict:
    from analytics.clv import fit_clv
    from analytics.intervals import clv_intervals

    cleaned, info = load(path)
    rss_before = peak_rss_mb()
    result, fit_s = timed(lambda: fit_clv(cleaned.lines, cleaned.snapshot_date), "fit")
    intervals, interval_s = timed(lambda: clv_intervals(result), "intervals")
    choice = result.choice
    return {**info, "fit_and_score_s": fit_s, "intervals_s": interval_s, "cpu": dict(CPU),
            "load_average": os.getloadavg()[0], "scored": len(result.customers),
            "chosen": result.purchase_model, "params": result.purchase_params, "gg_params": result.gg_params,
            "candidates": {k: {"mae": c.mae, "no_dropout": c.no_dropout, "fitted": c.fitted_customers}
                           for k, c in choice.candidates.items()},
            "holdout_customers": choice.n_customers, "insufficient": choice.insufficient,
            "unique_rows": int(result.customers[["repeat_purchase_days", "btyd_recency_days", "btyd_age_days"]]
                               .drop_duplicates().shape[0]),
            "interval_width_median": float((intervals.table["net_clv_12m_high"]
                                            - intervals.table["net_clv_12m_low"]).median()),
            "rss_before_mb": rss_before, "peak_rss_mb": peak_rss_mb()}


def section_churn(path: str) -> dict:
    from analytics.churn import score_customers, train_churn_model

    cleaned, info = load(path)
    model, train_s = timed(lambda: train_churn_model(cleaned.lines, cleaned.snapshot_date, seed=0), "train")
    scores, score_s = timed(lambda: score_customers(model, cleaned.lines), "score")
    return {**info, "train_s": train_s, "score_s": score_s, "total_s": train_s + score_s, "cpu": dict(CPU),
            "load_average": os.getloadavg()[0],
            "scored": len(scores), "horizon_days": model.horizon_days, "n_train": model.n_train,
            "n_eval": model.n_eval, "metrics": model.metrics, "chosen": model.chosen,
            "calibration": model.calibration_method, "cutoffs": len(model.training_cutoffs),
            "peak_rss_mb": peak_rss_mb()}


def section_recommend(path: str) -> dict:
    from analytics.recommend import association_rules, evaluate_recommendations, recommend_products

    cleaned, info = load(path)
    rss_before = peak_rss_mb()
    lines = cleaned.lines
    order_lines = int((~lines["is_return"]).sum())
    rules, rules_s = timed(lambda: association_rules(lines))
    recs, recs_s = timed(lambda: recommend_products(lines, n=10, snapshot_date=cleaned.snapshot_date))
    check, eval_s = timed(lambda: evaluate_recommendations(lines, cleaned.snapshot_date))
    return {**info, "order_lines": order_lines, "rules_s": rules_s, "rules": len(rules),
            "recommend_all_s": recs_s, "recommended_customers": int(recs["customer_id"].nunique()),
            "evaluate_s": eval_s, "total_s": rules_s + recs_s + eval_s,
            "hit_rate": check.hit_rate, "popularity_hit_rate": check.popularity_hit_rate,
            "rss_after_load_mb": rss_before, "peak_rss_mb": peak_rss_mb()}


def section_real(name: str) -> dict:
    from analytics.models import fit_models, model_summary

    cleaned, info = load(str(DATA / name))
    results, seconds = timed(lambda: fit_models(cleaned))
    s = model_summary(results)
    out = {**info, "file": name, "fit_models_s": seconds, "errors": results.errors}
    if "clv" in s:
        c = s["clv"]
        out["clv"] = {"chosen": c["purchase_model"], "params": c["purchase_params"], "rule": c["choice"]["rule"],
                      "candidates": {k: {"mae": v["holdout_mae"], "no_dropout": v["no_dropout"],
                                         "total": v["holdout_total_predicted"], "aic": v["aic"],
                                         "gap_se": v["mae_gap_se"]}
                                     for k, v in c["choice"]["candidates"].items()},
                      "total_actual": c["choice"]["total_actual"], "insufficient": c["choice"]["insufficient"],
                      "p_alive_quantiles": c["p_alive_quantiles"], "informative": c["p_alive_informative"],
                      "summary": c["summary"]["text"], "total_net_clv": c["total_net_clv"]}
    if "clv_validation" in s:
        m = s["clv_validation"]["metrics"]
        out["clv"]["naive_mae"] = m["naive"]["mae"]
    if "churn" in s:
        c = s["churn"]
        out["churn"] = {"horizon_days": c["horizon_days"], "cutoff_eval": c["cutoff_eval"],
                        "chosen": c["chosen"], "metrics": c["metrics"], "threshold": c["threshold"],
                        "calibration": c["calibration_method"], "churn_rate_eval": c["churn_rate_eval"],
                        "training_cutoffs": c["training_cutoffs"]}
    if "valuable_at_risk" in s:
        out["at_risk"] = s["valuable_at_risk"]
    if "p_alive_churn_agreement" in s:
        out["agreement"] = s["p_alive_churn_agreement"]
    if "recommendation_evaluation" in s:
        out["recommend"] = s["recommendation_evaluation"]
    return out


# ---------------------------------------------------------------------------------
# driver


def child(section: str, *args) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", section, *map(str, args)], check=False,
                          capture_output=True, text=True, cwd=REPO)
    if done.returncode != 0:
        raise RuntimeError(f"section {section} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(section: str, r: dict) -> None:
    if section == "clv":
        print(f"CLV, {r['customers']:,} customers ({r['lines']:,} lines, {r['unique_rows']:,} unique "
              f"(frequency, recency, T) rows): choice of 3 candidates + refit + Gamma-Gamma + scoring "
              f"{r['fit_and_score_s']:.1f} s wall / {r['cpu']['fit']:.1f} s CPU user+sys (target < 8 s); "
              f"80% intervals "
              f"{r['intervals_s']:.1f} s wall / {r['cpu']['intervals']:.1f} s CPU (background); peak RSS "
              f"{r['peak_rss_mb']:.0f} MB; load average {r['load_average']:.1f} on {os.cpu_count()} cores")
        for k, c in r["candidates"].items():
            print(f"  {k:7s} holdout MAE {c['mae']:.4f}{'  (no dropout)' if c['no_dropout'] else ''}"
                  f"  fitted on {c['fitted']:,} customers")
        print(f"  chosen {r['chosen']}: {fmt(r['params'])}; Gamma-Gamma {fmt(r['gg_params'])}"
              + (f"; {r['insufficient']}" if r["insufficient"] else ""))
    elif section == "churn":
        m = r["metrics"]
        print(f"Churn, {r['customers']:,} customers: train (incl. CV choice and calibration) {r['train_s']:.1f} s"
              f" + score {r['score_s']:.1f} s = {r['total_s']:.1f} s wall / "
              f"{r['cpu']['train'] + r['cpu']['score']:.1f} s CPU user+sys (target <= 14 s), peak RSS "
              f"{r['peak_rss_mb']:.0f} MB; load average {r['load_average']:.1f}")
        print(f"  horizon {r['horizon_days']} d, {r['cutoffs']} training cut-off(s); {r['chosen']}, calibration "
              f"{r['calibration']}; ROC AUC on the untouched cut-off {m['chosen']['roc_auc']:.3f} vs recency "
              f"{m['baseline_recency']['roc_auc']:.3f}; Brier {m['chosen']['brier']:.4f} vs base rate "
              f"{m['baseline_base_rate']['brier']:.4f}")
    elif section == "recommend":
        print(f"Recommendations, {r['order_lines']:,} order lines, {r['customers']:,} customers: rules "
              f"{r['rules_s']:.1f} s, top-10 for all {r['recommend_all_s']:.1f} s, evaluation "
              f"{r['evaluate_s']:.1f} s = {r['total_s']:.1f} s (target < 30 s); peak RSS "
              f"{r['peak_rss_mb']:.0f} MB (after load {r['rss_after_load_mb']:.0f} MB; target < 2048)")
        print(f"  hit rate@10 {r['hit_rate']:.3f} vs popularity {r['popularity_hit_rate']:.3f}")
    elif section == "real":
        print(f"{r['file']}: {r['customers']:,} customers, fit_models {r['fit_models_s']:.1f} s, errors {r['errors']}")
        if "clv" in r:
            c = r["clv"]
            print(f"  purchase models on the 90-day holdout (actual {c['total_actual']:.0f} purchase days"
                  f"{'; ' + c['insufficient'] if c['insufficient'] else ''}):")
            for k, v in c["candidates"].items():
                print(f"    {k:7s} MAE {v['mae']:.4f} (gap SE {v['gap_se']:.4f}), total {v['total']:.0f}, "
                      f"AIC {v['aic']:.1f}"
                      f"{'  (no dropout: boundary fit)' if v['no_dropout'] else ''}")
            print(f"    naive rate baseline MAE {c.get('naive_mae', float('nan')):.4f}")
            print(f"  chosen: {c['chosen']} ({fmt(c['params'])}, days); rule: {c['rule']}")
            q = c["p_alive_quantiles"]
            print(f"  P(alive) 10/50/90th percentiles {q['0.1']:.4f} / {q['0.5']:.4f} / {q['0.9']:.4f}; "
                  f"informative: {c['informative']}; total net CLV 12m {c['total_net_clv']:,.0f}")
            print(f"  summary: {c['summary']}")
        if "churn" in r:
            c, m = r["churn"], r["churn"]["metrics"]
            print(f"  churn (H = {c['horizon_days']} d, {len(c['training_cutoffs'])} training cut-off(s), untouched "
                  f"cut-off {c['cutoff_eval'][:10]}, churn rate {c['churn_rate_eval']:.3f}): {c['chosen']}, calibration "
                  f"{c['calibration']}; ROC AUC {m['chosen']['roc_auc']:.3f} vs recency alone "
                  f"{m['baseline_recency']['roc_auc']:.3f}; Brier {m['chosen']['brier']:.4f} vs base rate "
                  f"{m['baseline_base_rate']['brier']:.4f}")
        if "at_risk" in r:
            a = r["at_risk"]
            print(f"  valuable customers at risk: {a['customers']:,} of {a['valuable_customers']:,} valuable "
                  f"(base rate {a['base_rate']:.2f}, threshold {a['risk_threshold']:.2f}); net revenue at risk "
                  f"{a['net_revenue_at_risk']:,.0f}" + (f"; {a['reason']}" if a["reason"] else ""))
        if "agreement" in r:
            print(f"  P(alive) vs churn: {r['agreement']['note']}")
        if "recommend" in r:
            e = r["recommend"]
            print(f"  recommendations ({e['n_customers']:,} customers): hit rate@10 {e['hit_rate']:.3f} vs "
                  f"popularity {e['popularity_hit_rate']:.3f} (x{e['hit_rate'] / e['popularity_hit_rate']:.2f})")


def fmt(params: dict | None) -> str:
    return "n/a" if params is None else ", ".join(f"{k} = {v:.4g}" for k, v in params.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--section", choices=["clv", "churn", "recommend", "real"], action="append")
    parser.add_argument("--customers", type=int, default=100_000, help="synthetic customers for clv/churn")
    parser.add_argument("--rec-customers", type=int, default=10_000, help="synthetic customers, ~1M lines")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        name, *rest = args.child
        fn = globals()[f"section_{name}"]
        rest = [int(v) if v.isdigit() else v for v in rest]
        print(json.dumps(fn(*rest), default=str))
        return
    sections = args.section or ["clv", "churn", "recommend", "real"]
    with tempfile.TemporaryDirectory() as tmp:
        big, small = Path(tmp) / "customers.parquet", Path(tmp) / "lines.parquet"
        if {"clv", "churn"} & set(sections):
            g = child("generate", big, args.customers, 12, 5)
            print(f"[synthetic: {g['rows']:,} rows, {g['customers']:,} customers, {g['months']} months, "
                  f"generated in {g['generate_s']:.1f} s]")
        if "recommend" in sections:
            g = child("generate", small, args.rec_customers, 24, 7)
            print(f"[synthetic: {g['rows']:,} rows, {g['customers']:,} customers, {g['months']} months]")
        for section in sections:
            if section == "real":
                for name in REAL:
                    if (DATA / name).exists():
                        report("real", child("real", name))
                    else:
                        print(f"{name}: not found in {DATA}, skipped")
            else:
                result = child(section, big if section in ("clv", "churn") else small)
                report(section, result)


if __name__ == "__main__":
    main()
