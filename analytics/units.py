"""Money: ISO 4217 currency codes and the one way a money figure is written.

Every money value the package computes is a plain float in the shop's
currency (the currency of the unit prices in its log); the package never
converts between currencies.  A figure shown to people goes through
:func:`format_money` with the shop's ISO 4217 code, so the symbol and the
number of decimals come from the currency (CLDR data via Babel: ``GBP`` ->
``£`` and 2 decimals, ``JPY`` -> ``¥`` and 0), never from a hard-coded
"£".  Figures are written in full with thousands separators, never with
SI prefixes (no "£1.2k", "£3G"): a manager compares them digit by digit.

Rounding is half to even on the decimal value of the float (Babel's
default), e.g. 0.125 GBP -> "£0.12" (0.125 is exactly representable).
"""
from __future__ import annotations

import math
from functools import lru_cache

from babel.numbers import format_currency, get_currency_precision, get_currency_symbol, list_currencies

from .errors import AnalyticsError

#: Locale of symbols and separators: CLDR English ("$" for USD, "CA$" for CAD, "£", "€", "¥").
DEFAULT_LOCALE = "en"

#: No-break space between a letter symbol and the digits ("CHF 12.50").
NBSP = "\u00a0"

#: Written for a missing or non-finite amount (NaN, None, inf).
MISSING = "–"


@lru_cache(maxsize=None)
def _known_currencies() -> frozenset[str]:
    return frozenset(list_currencies())


def currency_code(code: str) -> str:
    """``code`` as an upper-case ISO 4217 code; AnalyticsError if it is not one ("GBP", "usd")."""
    if not isinstance(code, str) or code.strip().upper() not in _known_currencies():
        raise AnalyticsError(
            f"unknown currency {code!r}: use an ISO 4217 code such as 'GBP', 'EUR' or 'USD'.")
    return code.strip().upper()


def currency_decimals(code: str) -> int:
    """Decimals (ISO 4217 minor units) of a currency: 2 for GBP, USD, EUR; 0 for JPY."""
    return int(get_currency_precision(currency_code(code)))


def currency_symbol(code: str, locale: str = DEFAULT_LOCALE) -> str:
    """Symbol of a currency in ``locale``: "£" for GBP, "$" for USD, "€", "¥" for JPY, "CHF"."""
    return get_currency_symbol(currency_code(code), locale=locale)


def format_money(value: float | None, currency: str, *, decimals: int | None = None,
                 locale: str = DEFAULT_LOCALE) -> str:
    """``value`` (an amount in ``currency``) written in full: ``-£1,234.50``, ``¥1,235``.

    ``decimals`` defaults to the currency's minor units (:func:`currency_decimals`);
    give 0 for whole amounts on a dense table.  A missing or non-finite value
    gives :data:`MISSING`.  No SI prefixes, whatever the size.
    """
    code = currency_code(currency)
    if value is None or not math.isfinite(float(value)):
        return MISSING
    if decimals is None:
        text = format_currency(float(value), code, locale=locale, currency_digits=True)
    elif not isinstance(decimals, int) or isinstance(decimals, bool) or not 0 <= decimals <= 6:
        raise AnalyticsError(f"decimals must be a whole number from 0 to 6, got {decimals!r}.")
    else:
        pattern = "¤#,##0" + ("." + "0" * decimals if decimals else "")
        text = format_currency(float(value), code, format=pattern, locale=locale, currency_digits=False)
    if text.startswith("-") and not any(ch in "123456789" for ch in text):
        text = text[1:]  # -0.004 GBP is "£0.00", not "-£0.00"
    symbol = get_currency_symbol(code, locale=locale)
    if symbol[-1:].isalpha():  # CLDR currency spacing: "CHF 12.50", not "CHF12.50"
        text = text.replace(symbol, symbol + NBSP, 1)
    return text


def money_label(title: str, currency: str, locale: str = DEFAULT_LOCALE) -> str:
    """An axis title or column header with its unit: ``money_label("Net revenue", "GBP")`` ->
    ``"Net revenue (£)"``."""
    return f"{title} ({currency_symbol(currency, locale)})"


def money_axis(currency: str, locale: str = DEFAULT_LOCALE) -> dict[str, str]:
    """Plotly axis (or colour bar) settings for amounts in ``currency``: the symbol as a
    tick prefix and whole numbers with thousands separators (d3 ``",.0f"``), never the
    SI prefixes Plotly uses by default ("2G", "1.5M")."""
    return {"tickprefix": currency_symbol(currency, locale), "tickformat": ",.0f"}
