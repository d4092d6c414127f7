"""CSV exports of named results: ``GET /export/<name>.csv`` (manager role).

The result comes from :func:`portal.results.get_result` for the caller's own
context; the export is written to the audit log with its row count.  Register
an exportable result with one line: ``EXPORTS["rfm"] = "rfm"`` (file name ->
result name; the result must be a DataFrame, or give a callable that turns the
result into one).
"""
from __future__ import annotations

from typing import Any, Callable

import pandas as pd
from flask import Flask, Response, abort

from .accounts import record
from .auth import client_ip
from .results import NoDataset, get_result
from .tenancy import check_role

#: export name -> result name, or callable(ctx) -> DataFrame
EXPORTS: dict[str, str | Callable[[Any], pd.DataFrame]] = {
    "orders": "orders",
    "transactions": "transactions",
}


def init_exports(app: Flask) -> None:
    @app.get("/export/<name>.csv")
    def export_csv(name: str):
        ctx = check_role("manager")
        source = EXPORTS.get(name)
        if source is None:
            abort(404)
        try:
            frame = source(ctx) if callable(source) else get_result(ctx, source)
        except NoDataset:
            abort(404, description="No data yet.")
        record("export", tenant_id=ctx.tenant_id, user_id=ctx.user_id, ip=client_ip(),
               detail={"export": name, "rows": int(len(frame)), "dataset_id": ctx.dataset_id})
        filename = f"{ctx.tenant_slug}-{name}-v{ctx.dataset_id}.csv"
        return Response(frame.to_csv(index=False), mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"'})
