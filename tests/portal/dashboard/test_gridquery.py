"""portal.dashboard.gridquery: AG Grid filter and sort models applied on the server, checked by hand."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from portal.dashboard.gridquery import (
    MAX_BLOCK,
    apply_filter_model,
    apply_sort_model,
    parse_model,
    records,
    rows_block,
)


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": ["a1", "b2", "c3", "d4", "e5"],
        "segment": ["Champions", "Lost", "Champions", "At Risk", None],
        "monetary": [500.0, 20.0, 120.0, np.nan, 75.5],
        "last_order": pd.to_datetime(["2011-12-01", "2011-01-15", "2011-11-30", "2011-06-01", "2011-09-09"]),
    })


def ids(frame):
    return frame["customer_id"].tolist()


def test_number_filters(frame):
    assert ids(apply_filter_model(frame, {"monetary": {"filterType": "number", "type": "greaterThan", "filter": 75.5}})) == ["a1", "c3"]
    assert ids(apply_filter_model(frame, {"monetary": {"filterType": "number", "type": "inRange", "filter": 20,
                                                       "filterTo": 120}})) == ["b2", "c3", "e5"]
    assert ids(apply_filter_model(frame, {"monetary": {"filterType": "number", "type": "blank"}})) == ["d4"]
    either = {"monetary": {"filterType": "number", "operator": "OR", "conditions": [
        {"filterType": "number", "type": "lessThan", "filter": 50},
        {"filterType": "number", "type": "greaterThanOrEqual", "filter": 500}]}}
    assert ids(apply_filter_model(frame, either)) == ["a1", "b2"]


def test_text_and_date_filters_combine_with_and(frame):
    model = {
        "segment": {"filterType": "text", "type": "contains", "filter": "champ"},
        "last_order": {"filterType": "date", "type": "greaterThan", "dateFrom": "2011-11-30 00:00:00"},
    }
    assert ids(apply_filter_model(frame, model)) == ["a1"]
    assert ids(apply_filter_model(frame, {"segment": {"filterType": "text", "type": "notBlank"}})) == [
        "a1", "b2", "c3", "d4"]


def test_hostile_models_are_ignored(frame):
    for model in (None, [], "x", {"nope": {"filterType": "text", "type": "contains", "filter": "a"}},
                  {"monetary": {"filterType": "number", "type": "greaterThan", "filter": "1e999"}},
                  {"monetary": {"filterType": "number", "type": "eval", "filter": 1}},
                  {"segment": {"filterType": "text", "type": "contains", "filter": {"$ne": 1}}}):
        assert ids(apply_filter_model(frame, model)) == ids(frame)
    assert ids(apply_sort_model(frame, [{"colId": "__class__", "sort": "desc"}, "junk"])) == ids(frame)
    assert parse_model("{not json") == {} and parse_model("[1]") == {} and parse_model("x" * 30000) == {}
    assert parse_model(json.dumps({"sortModel": []})) == {"sortModel": []}


def test_sort_is_stable_with_missing_last(frame):
    sorted_frame = apply_sort_model(frame, [{"colId": "segment", "sort": "asc"}, {"colId": "monetary", "sort": "desc"}])
    assert ids(sorted_frame) == ["d4", "a1", "c3", "b2", "e5"]


def test_rows_block_pages_and_counts(frame):
    block = rows_block(frame, {"startRow": 1, "endRow": 3, "sortModel": [{"colId": "monetary", "sort": "desc"}],
                               "filterModel": {}})
    assert block["rowCount"] == 5
    assert [r["customer_id"] for r in block["rowData"]] == ["c3", "e5"]
    assert block["rowData"][0]["last_order"] == "2011-11-30"
    big = pd.DataFrame({"x": range(5000)})
    assert len(rows_block(big, {"startRow": 0, "endRow": 10**9})["rowData"]) == MAX_BLOCK
    assert rows_block(frame, {"startRow": "x", "endRow": None})["rowCount"] == 5


def test_records_are_json_safe(frame):
    rows = records(frame)
    assert rows[3]["monetary"] is None and rows[4]["segment"] is None
    json.dumps(rows)
