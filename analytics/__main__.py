"""Command line: ``python -m analytics report|synth ...`` (``--help`` for details).

Exit codes: 0 done, 2 unusable input or arguments (one ``error: ...`` line on
stderr), 1 an unexpected failure (one line too; set ``ANALYTICS_TRACEBACK=1``
to see the traceback).
"""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from .errors import AnalyticsError

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is a single ``error:`` line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_BAD_INPUT, f"error: {message} (see {self.prog} --help)\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _date(text: str) -> str:
    from .dates import as_day  # lazy: analytics.dates imports pandas; --help must stay fast

    try:
        as_day(text, "snapshot date")
    except AnalyticsError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _time_zone(text: str) -> str:
    from .dates import time_zone  # lazy: analytics.dates imports pandas; --help must stay fast

    try:
        return time_zone(text).key
    except AnalyticsError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m analytics", description="Customer analytics for retail transaction logs.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    report = commands.add_parser(
        "report", help="descriptive report of a transaction file (CSV, XLSX, Parquet)",
        description="Load, clean and describe a transaction log; write CSV tables and summary.json to --out.",
    )
    report.add_argument("input", help="transaction file (UCI Online Retail / II layout or canonical)")
    report.add_argument("--out", required=True, help="output folder (created)")
    report.add_argument("--snapshot-date", type=_date, default=None,
                        help="analyse as of this day, YYYY-MM-DD: exclusive, the first day NOT analysed "
                             "(lines dated on or after it are ignored; to analyse up to and including "
                             "1997-09-30 give 1997-10-01); default: the day after the last invoice")
    report.add_argument("--time-zone", type=_time_zone, default=None,
                        help="the shop's IANA time zone, e.g. Europe/London: dates with a UTC offset are "
                             "converted to it (without it they are refused; dates without one are shop-local)")
    report.add_argument("--mapping", default=None, metavar="FILE.json",
                        help="read any order export through this column mapping (JSON: {\"fields\": {field: "
                             "column}}; 'auto' = the proposed one); writes quality.json")
    report.add_argument("--lookback-days", type=_positive_int, default=90,
                        help="migration / new-customer / KPI window in days (default 90)")
    report.add_argument("--seed", type=int, default=0, help="seed of the clustering (default 0)")
    report.add_argument("--skip-models", action="store_true", help="descriptive tables only (no CLV/churn)")
    report.add_argument("--clv-model", choices=("auto", "bgnbd", "mbgnbd", "pnbd"), default="auto",
                        help="purchase model of the CLV: chosen on a holdout (auto, default) or forced "
                             "(BG/NBD, MBG/NBD, Pareto/NBD)")
    bar = report.add_mutually_exclusive_group()
    bar.add_argument("--progress", dest="progress", action="store_true", default=None,
                     help="always show the progress bar (default: only on a terminal)")
    bar.add_argument("--quiet", dest="progress", action="store_false", help="no progress bar")

    commands.add_parser(
        "glossary", help="print the glossary (the README's Definitions block) as Markdown",
        description="Print every definition of analytics/glossary.py as Markdown bullets.",
    )
    synth = commands.add_parser(
        "synth", help="write a synthetic transaction log",
        description="Generate a synthetic log in the UCI Online Retail layout (.csv, .csv.gz, .parquet, .xlsx).",
    )
    synth.add_argument("--customers", type=_positive_int, default=1000, help="number of customers (default 1000)")
    synth.add_argument("--months", type=_positive_int, default=24, help="months of history (default 24)")
    synth.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    synth.add_argument("out", help="output file; its suffix picks the format")
    return parser


def _report(args: argparse.Namespace) -> int:
    # per-command imports: a command loads only what it uses (--help imports no pandas)
    from tqdm import tqdm

    from .report import RUN_STEPS, run_report

    disable = None if args.progress is None else not args.progress
    with tqdm(total=len(RUN_STEPS), desc="report", unit="step", file=sys.stderr,
              disable=disable, leave=False) as bar:
        bar.set_postfix_str(RUN_STEPS[0])

        def tick(name: str) -> None:  # ``name`` is done; show the next step
            position = RUN_STEPS.index(name) + 1
            bar.set_postfix_str(RUN_STEPS[position] if position < len(RUN_STEPS) else "done")
            bar.update(1)

        paths = run_report(
            args.input, args.out, snapshot_date=args.snapshot_date, skip_models=args.skip_models,
            lookback_days=args.lookback_days, seed=args.seed, progress=tick, time_zone=args.time_zone,
            mapping=args.mapping,
            clv_model=args.clv_model,
        )
    print(f"wrote {len(paths)} files to {args.out}")
    return EXIT_OK


def _glossary(_args: argparse.Namespace) -> int:
    from .glossary import glossary_markdown  # per-command import: a command loads only what it uses

    sys.stdout.write(glossary_markdown())
    return EXIT_OK


def _synth(args: argparse.Namespace) -> int:
    from . import synthetic  # per-command import: a command loads only what it uses

    frame = synthetic.generate_transactions(n_customers=args.customers, n_months=args.months, seed=args.seed)
    path = synthetic.write_transactions(frame, args.out)
    print(f"wrote {len(frame)} rows to {path}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return {"report": _report, "synth": _synth, "glossary": _glossary}[args.command](args)
    except (AnalyticsError, ValueError, OSError) as exc:
        if os.environ.get("ANALYTICS_TRACEBACK"):
            raise
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"error: {message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as exc:
        if os.environ.get("ANALYTICS_TRACEBACK"):
            raise
        print(f"error: unexpected {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
