"""Exceptions with messages meant for the people who upload and read the data."""
from __future__ import annotations


class AnalyticsError(ValueError):
    """Base class: the input cannot give the requested result; the message says why."""


class InsufficientDataError(AnalyticsError):
    """Too little (or too uniform) data for a model or a table, e.g. nobody repeats."""


class LoadError(AnalyticsError):
    """A transaction file that cannot be used; ``str(error)`` is for humans."""

    def __init__(self, message: str, *, column: str | None = None,
                 row: int | None = None, value: object = None) -> None:
        super().__init__(message)
        self.column, self.row, self.value = column, row, value
