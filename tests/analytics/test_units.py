"""Money formatting (analytics.units): expected strings written by hand from the
ISO 4217 minor units (GBP, USD, EUR: 2 decimals; JPY: 0; KWD: 3) and the English
symbols, plus a second method (Python's own grouping) on many amounts."""
from __future__ import annotations

import math

import numpy as np
import pytest

from analytics.errors import AnalyticsError
from analytics.units import (
    MISSING,
    NBSP,
    currency_code,
    currency_decimals,
    currency_symbol,
    format_money,
    money_axis,
    money_label,
)


@pytest.mark.parametrize(("value", "currency", "decimals", "expected"), [
    (1234.5, "GBP", None, "£1,234.50"),
    (-1234567.891, "USD", None, "-$1,234,567.89"),
    (0.5, "EUR", None, "€0.50"),
    (1234.4, "EUR", 0, "€1,234"),
    (1234.4, "JPY", None, "¥1,234"),  # yen have no minor unit
    (98765.6, "JPY", None, "¥98,766"),
    (1_000_000, "JPY", None, "¥1,000,000"),
    (98765.4321, "JPY", 2, "¥98,765.43"),  # decimals given win over the currency's
    (2.5e9, "GBP", None, "£2,500,000,000.00"),  # in full: no "£2.5G" or "£2.5bn"
    (0.125, "GBP", None, "£0.12"),  # an exact half rounds to even
    (0.375, "GBP", None, "£0.38"),
    (-0.004, "GBP", None, "£0.00"),  # no "-£0.00"
    (12.5, "CHF", None, f"CHF{NBSP}12.50"),  # a letter symbol is spaced from the digits
    (1234.567, "KWD", None, f"KWD{NBSP}1,234.567"),  # three decimals
    (7, "usd", None, "$7.00"),  # codes are case-insensitive
    (7, "CAD", None, "CA$7.00"),
])
def test_format_money_by_hand(value, currency, decimals, expected):
    assert format_money(value, currency, decimals=decimals) == expected


def test_format_money_agrees_with_python_grouping():
    """Whole cents (no ties at 2 decimals) and whole yen, against f-string grouping."""
    rng = np.random.default_rng(7)
    for cents in rng.integers(-10**11, 10**11, size=300):
        cents = int(cents)
        sign = "-" if cents < 0 else ""
        assert format_money(cents / 100, "GBP") == f"{sign}£{abs(cents) / 100:,.2f}"
        assert format_money(cents, "JPY") == f"{sign}¥{abs(cents):,d}"
        whole = abs(round(cents / 100))  # Python rounds halves (exact in binary) to even, as format_money does
        assert format_money(cents / 100, "EUR", decimals=0) == (f"{sign}€{whole:,d}" if whole else "€0")


@pytest.mark.parametrize("value", [None, math.nan, math.inf, -math.inf, np.float64("nan")])
def test_missing_amounts(value):
    assert format_money(value, "GBP") == MISSING


@pytest.mark.parametrize("code", ["XYZ", "£", "", "GB", None, "pounds"])
def test_unknown_currencies_are_refused(code):
    with pytest.raises(AnalyticsError, match="ISO 4217"):
        format_money(1.0, code)
    with pytest.raises(AnalyticsError, match="ISO 4217"):
        currency_symbol(code)


@pytest.mark.parametrize("decimals", [-1, 7, 1.5, True])
def test_bad_decimals_are_refused(decimals):
    with pytest.raises(AnalyticsError, match="decimals"):
        format_money(1.0, "GBP", decimals=decimals)


def test_currency_facts():
    assert [currency_decimals(c) for c in ("GBP", "USD", "EUR", "JPY", "KWD")] == [2, 2, 2, 0, 3]
    assert [currency_symbol(c) for c in ("GBP", "USD", "EUR", "JPY")] == ["£", "$", "€", "¥"]
    assert currency_code(" eur ") == "EUR"


def test_labels_and_axes_carry_the_currency():
    assert money_label("Net revenue", "GBP") == "Net revenue (£)"
    assert money_label("Predicted 12-month CLV", "USD") == "Predicted 12-month CLV ($)"
    assert money_axis("JPY") == {"tickprefix": "¥", "tickformat": ",.0f"}  # d3: grouped, never SI
