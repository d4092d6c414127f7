"""Prometheus metrics (placeholder, filled in below)."""
from __future__ import annotations


def observe_job(kind: str, outcome: str, seconds: float) -> None:
    return None
