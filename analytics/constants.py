"""Constants shared by several modules, each defined here and nowhere else.

Data, not logic: a module that needs one imports it from here, and the portal
imports the same objects (never a copy).  Constants used by one module only
stay in that module (e.g. :data:`analytics.cleaning.CLEANING_RULES`).
"""
from __future__ import annotations

#: Mean length of a calendar month in days (a Julian year / 12 = 30.4375).
DAYS_PER_MONTH: float = 365.25 / 12

#: Churn risk bands, highest first: ``(label, lowest churn probability in the band)``.
#: churn_probability >= 0.7 -> "high", >= 0.4 -> "medium", otherwise :data:`LOWEST_RISK_BAND`.
RISK_BANDS: tuple[tuple[str, float], ...] = (("high", 0.7), ("medium", 0.4))

#: The band of every probability below the last cut of :data:`RISK_BANDS`.
LOWEST_RISK_BAND = "low"

#: All band labels in display order, highest risk first.
RISK_BAND_LABELS: tuple[str, ...] = tuple(label for label, _ in RISK_BANDS) + (LOWEST_RISK_BAND,)
