"""JSON-ready values for summary files (private helper shared by report and models)."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd


def jsonable(value: object) -> object:
    """Plain JSON types, recursively: numpy scalars and arrays -> Python, NaN/inf/NaT/NA -> None,
    timestamps -> ISO strings, anything else unknown -> ``str``."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        return None if pd.isna(value) else pd.Timestamp(value).isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if value is pd.NaT or value is pd.NA:
        return None
    return str(value)
