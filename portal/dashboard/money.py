"""Money on screen, in the tenant's currency: the one helper every page uses.

``money_format(ctx)`` reads the tenant's ISO 4217 code from the context
(``ctx.currency``; GBP for a context that has none yet) and writes amounts,
axis settings, labels and hover templates with :mod:`analytics.units`, so no
page writes a currency symbol itself and no money axis shows SI prefixes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from analytics.units import currency_code, currency_decimals, currency_symbol, format_money, money_axis, money_label

DEFAULT_CURRENCY = "GBP"


@dataclass(frozen=True)
class MoneyFormat:
    code: str

    @property
    def symbol(self) -> str:
        return currency_symbol(self.code)

    @property
    def decimals(self) -> int:
        return currency_decimals(self.code)

    def __call__(self, value: float | None, decimals: int | None = None) -> str:
        """An amount for a card or a cell: in full; whole units from 1,000 up (``£1,234``, ``£12.50``)."""
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return format_money(None, self.code)
        if decimals is None and abs(float(value)) >= 1000:
            decimals = 0
        return format_money(float(value), self.code, decimals=decimals)

    def exact(self, value: float | None) -> str:
        """With the currency's minor units always (``£1,234.50``)."""
        return format_money(value, self.code)

    def label(self, title: str) -> str:
        """``"Net revenue (£)"``."""
        return money_label(title, self.code)

    def axis(self, **extra) -> dict:
        """Plotly axis settings: currency prefix, thousands separators, no SI prefixes."""
        return {**money_axis(self.code), **extra}

    def axis_cents(self, **extra) -> dict:
        """As :meth:`axis`, with the minor units (small amounts, e.g. a log axis reaching below 1)."""
        digits = self.decimals
        return {**money_axis(self.code), "tickformat": f",.{digits}f", **extra}

    def hover(self, field: str, decimals: int = 0) -> str:
        """A hover-template piece: ``£%{y:,.0f}``."""
        return f"{self.symbol}%{{{field}:,.{decimals}f}}"


def money_format(ctx: object) -> MoneyFormat:
    """The money writer of the context's tenant (``ctx.currency``, default GBP)."""
    code = getattr(ctx, "currency", None) or DEFAULT_CURRENCY
    try:
        return MoneyFormat(currency_code(code))
    except Exception:  # a stored code that is not ISO 4217 must not break a page
        return MoneyFormat(DEFAULT_CURRENCY)


#: The default writer (GBP), for figure builders called without a tenant (tests, the CLI).
GBP = MoneyFormat(DEFAULT_CURRENCY)
