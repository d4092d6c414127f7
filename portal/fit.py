"""Fit the models of one dataset in this process: ``python -m portal.fit DATASET_ID``.

The detached child that :func:`portal.data.jobs.spawn_fit` starts in the embedded
mode (no Celery): it builds the portal from the environment (``DATABASE_URL``,
``DATA_DIR``...) and runs :func:`portal.data.jobs.fit_dataset_models` in its app
context.  Exit code 0 when the models are ready (or another live job fits them),
1 when fitting failed, 2 for a usage error.
"""
from __future__ import annotations

import sys

from . import create_app
from .data.background import lower_job_priority
from .data.jobs import fit_dataset_models


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not args[0].isdigit():
        print("usage: python -m portal.fit DATASET_ID", file=sys.stderr)
        return 2
    lower_job_priority()
    with create_app().app_context():
        status = fit_dataset_models(int(args[0]))
    return 0 if status in ("ready", "running") else 1


if __name__ == "__main__":
    sys.exit(main())
