"""Apply an AG Grid filter and sort model to a DataFrame, on the server.

Customer lists can hold 100k rows, so their grids use AG Grid's infinite row
model: the browser asks for a block of rows with the user's column filters and
sort, and the server answers with that block and the total count.  Exports run
the same function over the same models, so a CSV holds exactly the rows the
table shows (all of them, not one page).

Models come from the browser: unknown columns, filter types and malformed
entries are ignored, never trusted and never raised on.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

MAX_BLOCK = 1000

_NUMBER_TESTS = {
    "equals": lambda s, a, b: s == a,
    "notEqual": lambda s, a, b: s != a,
    "lessThan": lambda s, a, b: s < a,
    "lessThanOrEqual": lambda s, a, b: s <= a,
    "greaterThan": lambda s, a, b: s > a,
    "greaterThanOrEqual": lambda s, a, b: s >= a,
    "inRange": lambda s, a, b: (s >= a) & (s <= b),
}
_TEXT_TESTS = {
    "equals": lambda s, v: s == v,
    "notEqual": lambda s, v: s != v,
    "contains": lambda s, v: s.str.contains(v, regex=False),
    "notContains": lambda s, v: ~s.str.contains(v, regex=False),
    "startsWith": lambda s, v: s.str.startswith(v),
    "endsWith": lambda s, v: s.str.endswith(v),
}


def parse_model(raw: str | None) -> dict[str, Any]:
    """The ``grid`` query parameter (JSON of filterModel and sortModel) -> dict."""
    if not raw or len(raw) > 20_000:
        return {}
    try:
        model = json.loads(raw)
    except ValueError:
        return {}
    return model if isinstance(model, dict) else {}


def apply_filter_model(frame: pd.DataFrame, filter_model: Mapping[str, Any] | None) -> pd.DataFrame:
    """Rows that pass every column filter of ``filter_model`` (AG Grid's format)."""
    if not isinstance(filter_model, Mapping) or not filter_model:
        return frame
    mask = np.ones(len(frame), dtype=bool)
    for column, spec in filter_model.items():
        if column not in frame.columns or not isinstance(spec, Mapping):
            continue
        column_mask = _column_mask(frame[column], spec)
        if column_mask is not None:
            mask &= column_mask
    return frame.loc[mask]


def apply_sort_model(frame: pd.DataFrame, sort_model: Any) -> pd.DataFrame:
    """Sorted by the columns of ``sort_model`` (``[{"colId": ..., "sort": "asc"|"desc"}]``), stable."""
    if not isinstance(sort_model, list):
        return frame
    keys = [
        (entry["colId"], entry.get("sort") != "desc")
        for entry in sort_model
        if isinstance(entry, Mapping) and entry.get("colId") in frame.columns
    ]
    if not keys:
        return frame
    return frame.sort_values([k for k, _ in keys], ascending=[a for _, a in keys], kind="stable",
                             na_position="last")


def query_frame(frame: pd.DataFrame, model: Mapping[str, Any] | None) -> pd.DataFrame:
    """Filter then sort with a ``{"filterModel": ..., "sortModel": ...}`` dict."""
    model = model or {}
    return apply_sort_model(apply_filter_model(frame, model.get("filterModel")), model.get("sortModel"))


def rows_block(frame: pd.DataFrame, request: Mapping[str, Any] | None) -> dict[str, Any]:
    """Answer an infinite-row-model ``getRowsRequest``: one block of records and the row count."""
    request = request or {}
    selected = query_frame(frame, request)
    start = _as_int(request.get("startRow"), 0)
    end = min(_as_int(request.get("endRow"), start + 100), start + MAX_BLOCK)
    block = selected.iloc[max(start, 0):max(end, 0)]
    return {"rowData": records(block), "rowCount": int(len(selected))}


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-safe records: dates as ISO days, NaN as None."""
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].dt.strftime("%Y-%m-%d")
    out = out.astype(object).where(out.notna(), None)
    return out.to_dict("records")


def _column_mask(values: pd.Series, spec: Mapping[str, Any]) -> np.ndarray | None:
    conditions = spec.get("conditions")
    if isinstance(conditions, list) and conditions:
        masks = [m for m in (_condition_mask(values, {**spec, **c}) for c in conditions[:4]
                             if isinstance(c, Mapping)) if m is not None]
        if not masks:
            return None
        combine = np.logical_or if spec.get("operator") == "OR" else np.logical_and
        return combine.reduce(masks)
    return _condition_mask(values, spec)


def _condition_mask(values: pd.Series, spec: Mapping[str, Any]) -> np.ndarray | None:
    kind, test = spec.get("filterType"), spec.get("type")
    if test == "blank":
        return values.isna().to_numpy()
    if test == "notBlank":
        return values.notna().to_numpy()
    if kind == "number" and test in _NUMBER_TESTS:
        low, high = _as_float(spec.get("filter")), _as_float(spec.get("filterTo"))
        if low is None or (test == "inRange" and high is None):
            return None
        numbers = pd.to_numeric(values, errors="coerce")
        return _NUMBER_TESTS[test](numbers, low, high).fillna(False).to_numpy(dtype=bool)
    if kind == "text" and test in _TEXT_TESTS and isinstance(spec.get("filter"), (str, int, float)):
        text = values.astype("str").str.lower()
        return _TEXT_TESTS[test](text, str(spec["filter"]).lower()).fillna(False).to_numpy(dtype=bool)
    if kind == "date" and test in _NUMBER_TESTS:
        low, high = _as_date(spec.get("dateFrom")), _as_date(spec.get("dateTo"))
        if low is None or (test == "inRange" and high is None):
            return None
        days = pd.to_datetime(values, errors="coerce").dt.normalize()
        return _NUMBER_TESTS[test](days, low, high).fillna(False).to_numpy(dtype=bool)
    return None


def _as_float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if np.isfinite(number) else None


def _as_int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _as_date(value: Any) -> pd.Timestamp | None:
    if not isinstance(value, str):
        return None
    try:
        return pd.Timestamp(value[:10])
    except ValueError:
        return None
