"""Benchmarks of the predictive models: a script that prints figures, not a test.

    python benchmarks/bench_models.py                   # everything (a few minutes)
    python benchmarks/bench_models.py --section real    # one section

Sections (each in its own child process, so peak RSS is its own):

* ``clv``: BG/NBD + Gamma-Gamma fit and scoring (:func:`analytics.clv.fit_clv`,
  summary included) for 100k synthetic customers (target < 20 s), plus the
  holdout validation.
* ``churn``: churn features + training (:func:`train_churn_model`) + scoring for
  the same 100k customers (target < 30 s).
* ``recommend``: association rules, top-10 recommendations for every customer
  and the holdout evaluation on about 1M order lines (target < 30 s, < 2 GB).
* ``real``: :func:`analytics.models.fit_models` on the UCI Online Retail files:
  holdout figures of every model against its naive baseline.

Synthetic data: :func:`analytics.synthetic.generate_transactions` (seeded),
written once to a temporary Parquet file that the sections load; load and
cleaning times are reported apart from the model times.
"""
from __future__ import annotations

import argparse
import json
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


def timed(fn):
    start = time.perf_counter()
    value = fn()
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
    from analytics.clv import fit_clv, validate_clv

    cleaned, info = load(path)
    rss_before = peak_rss_mb()
    result, fit_s = timed(lambda: fit_clv(cleaned.lines, cleaned.snapshot_date))
    check, validate_s = timed(lambda: validate_clv(cleaned.lines, cleaned.snapshot_date))
    return {**info, "fit_and_score_s": fit_s, "validate_s": validate_s, "scored": len(result.customers),
            "bgnbd_params": result.bgnbd_params, "gg_params": result.gg_params, "notes": result.notes,
            "holdout_mae": check.metrics["bgnbd"]["mae"], "naive_mae": check.metrics["naive"]["mae"],
            "rss_before_mb": rss_before, "peak_rss_mb": peak_rss_mb()}


def section_churn(path: str) -> dict:
    from analytics.churn import score_customers, train_churn_model

    cleaned, info = load(path)
    model, train_s = timed(lambda: train_churn_model(cleaned.lines, cleaned.snapshot_date, seed=0))
    scores, score_s = timed(lambda: score_customers(model, cleaned.lines))
    return {**info, "train_s": train_s, "score_s": score_s, "total_s": train_s + score_s,
            "scored": len(scores), "horizon_days": model.horizon_days, "n_train": model.n_train,
            "n_eval": model.n_eval, "metrics": model.metrics, "chosen": model.chosen,
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
    if "clv_validation" in s:
        m = s["clv_validation"]["metrics"]
        out["clv"] = {"params": s["clv"]["bgnbd_params"] if "clv" in s else None,
                      "gg_params": s["clv"]["gg_params"] if "clv" in s else None,
                      "notes": s["clv"]["notes"] if "clv" in s else None,
                      "holdout_customers": s["clv_validation"]["customers"],
                      "mae": m["bgnbd"]["mae"], "naive_mae": m["naive"]["mae"],
                      "rmse": m["bgnbd"]["rmse"], "naive_rmse": m["naive"]["rmse"],
                      "corr": m["bgnbd"]["correlation"], "naive_corr": m["naive"]["correlation"],
                      "total_actual": s["clv_validation"]["total_actual"],
                      "total_predicted": m["bgnbd"]["total_predicted"],
                      "naive_total": m["naive"]["total_predicted"]}
    if "churn" in s:
        c = s["churn"]
        out["churn"] = {"horizon_days": c["horizon_days"], "cutoff_eval": c["cutoff_eval"],
                        "chosen": c["chosen"], "metrics": c["metrics"], "threshold": c["threshold"],
                        "churn_rate_eval": c["churn_rate_eval"]}
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
        print(f"CLV, {r['customers']:,} customers ({r['lines']:,} lines): fit + score {r['fit_and_score_s']:.1f} s "
              f"(target < 20 s), holdout validation {r['validate_s']:.1f} s, peak RSS {r['peak_rss_mb']:.0f} MB")
        print(f"  BG/NBD {fmt(r['bgnbd_params'])}; Gamma-Gamma {fmt(r['gg_params'])}")
        print(f"  90-day holdout MAE {r['holdout_mae']:.3f} vs naive {r['naive_mae']:.3f}")
    elif section == "churn":
        m = r["metrics"]
        print(f"Churn, {r['customers']:,} customers: train {r['train_s']:.1f} s + score {r['score_s']:.1f} s "
              f"= {r['total_s']:.1f} s (target < 30 s), peak RSS {r['peak_rss_mb']:.0f} MB")
        print(f"  horizon {r['horizon_days']} d; ROC AUC {r['chosen']} {m[r['chosen']]['roc_auc']:.3f} vs "
              f"recency baseline {m['baseline_recency']['roc_auc']:.3f}")
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
            print(f"  BG/NBD {fmt(c['params'])} (days); GG {fmt(c['gg_params'])}")
            print(f"  90-day holdout, {c['holdout_customers']:,} customers: MAE {c['mae']:.3f} vs naive "
                  f"{c['naive_mae']:.3f} ({1 - c['mae'] / c['naive_mae']:.0%} lower); RMSE {c['rmse']:.3f} vs "
                  f"{c['naive_rmse']:.3f}; corr {c['corr']:.3f} vs {c['naive_corr']:.3f}; total purchases "
                  f"actual {c['total_actual']:.0f}, BG/NBD {c['total_predicted']:.0f}, naive {c['naive_total']:.0f}")
        if "churn" in r:
            c, m = r["churn"], r["churn"]["metrics"]
            print(f"  churn (H = {c['horizon_days']} d, eval cut-off {c['cutoff_eval'][:10]}, churn rate "
                  f"{c['churn_rate_eval']:.2f}): ROC AUC {c['chosen']} {m[c['chosen']]['roc_auc']:.3f} vs recency "
                  f"{m['baseline_recency']['roc_auc']:.3f} (+{m[c['chosen']]['roc_auc'] - m['baseline_recency']['roc_auc']:.3f}); "
                  f"PR AUC {m[c['chosen']]['pr_auc']:.3f} vs {m['baseline_recency']['pr_auc']:.3f}")
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
