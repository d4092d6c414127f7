"""The digest e-mail: HTML with a plain-text part, PNG charts and the CSV attachment.

Imported only by the sending side (the ``send-digests`` command and the Celery
worker), never by the web process: the charts are drawn by kaleido in the
system's headless Chromium, which must not run on a web dyno.

Numbers come from the same :class:`portal.dashboard.View` results the Overview
shows (its KPI table, its freshness facts) and the CSV from the portal's own
exporter (:func:`portal.dashboard.exports.export_rows` + :func:`portal.dashboard.exports.csv_blocks`),
so a change of the export format reaches the digests unchanged.
"""
from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import dash
import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape

from analytics.trends import kpi_change
from portal.dashboard.components.figures import count, money, percent
from portal.dashboard.customer_lists import EXPORTS, display_header, list_rows
from portal.dashboard.exports import as_on_screen, csv_blocks, export_filename, export_rows
from portal.dashboard.links import safe_page_link
from portal.dashboard.view import View
from portal.platform.mail_settings import MailSettings
from portal.platform.tenancy import PortalContext

from . import charts

log = logging.getLogger(__name__)
for _chatty in ("kaleido", "choreographer", "logistro"):  # one line per browser step otherwise
    logging.getLogger(_chatty).setLevel(logging.WARNING)

TOP_N = 10
TOP_COLUMNS = 6
#: The customer list a page's digest shows (pages without a list of their own: the RFM list).
PAGE_LISTS = {"/churn": "churn", "/value": "value", "/segments": "segments", "/clusters": "clusters",
              "/geography": "geography"}
DEFAULT_LIST = "segments"
#: The Overview's KPI cards, in its order: (name in the KPI table, title, formatter).
KPIS = (("revenue", "Revenue", money), ("orders", "Orders", count), ("customers", "Customers", count),
        ("average_order_value", "Average order value", money),
        ("repeat_customer_rate", "Repeat-customer rate", percent), ("new_customers", "New customers", count))

_TEMPLATES = Environment(loader=FileSystemLoader(str(Path(__file__).parent / "templates")),
                         autoescape=select_autoescape(["html"]), trim_blocks=False)


@dataclass
class Kpi:
    name: str
    title: str
    value: str
    previous: str
    change: str
    raw_value: float | None


@dataclass
class Chart:
    cid: str
    title: str
    alt: str
    figure: object
    png: bytes | None = None


@dataclass
class Digest:
    subject: str
    tenant_name: str
    view_name: str
    page_title: str
    filters_text: str
    schedule: str
    freshness: str
    window_text: str
    previous_text: str
    kpis: list[Kpi]
    list_name: str
    list_title: str
    list_rows: int
    top_headers: list[str]
    top_rows: list[list[str]]
    view_url: str
    unsubscribe_url: str
    owner_text: str
    list_note: str = ""
    csv_name: str | None = None
    csv_bytes: bytes | None = None
    csv_note: str = ""
    charts: list[Chart] = field(default_factory=list)


def kpi_table(view: View) -> pd.DataFrame:
    """The Overview's KPI table for a view (the report's KPIs without filters, else
    :func:`analytics.trends.kpi_change` over the view's lines), as its KPI cards use it."""

    start, end = view.window
    return view.report.kpis if view.filters.is_empty else kpi_change(view.scoped_lines, start, end)


def _model_kpis(view: View) -> list[Kpi]:
    """The Overview's two model cards (sums over the view's customers at the snapshot), when fitted."""
    if not view.models.ready:
        return []
    customers = view.selected_customers
    at_risk = customers["net_revenue_at_risk"].sum(min_count=1)
    clv = customers["net_clv_12m"].sum(min_count=1)
    return [Kpi("revenue_at_risk", "Revenue at risk", money(at_risk), "–", "at snapshot",
                None if pd.isna(at_risk) else float(at_risk)),
            Kpi("clv_12m", "Predicted 12-month CLV", money(clv), "–", "at snapshot",
                None if pd.isna(clv) else float(clv))]


def _change(value: float | None) -> str:
    if value is None or pd.isna(value):
        return "–"
    return f"{value:+.1f}%"


def _cell(value, kind: str) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "–"
    if kind == "money":
        return money(float(value))
    if kind == "pct":
        return percent(float(value))
    if kind == "int":
        return count(float(value))
    if kind == "float":
        return f"{float(value):,.2f}"
    if kind == "date":
        return f"{pd.Timestamp(value):%Y-%m-%d}"
    return str(value)


def _ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "at an unknown time"
    days = (now - moment).days
    return "today" if days <= 0 else ("yesterday" if days == 1 else f"{days} days ago")


def page_title(path: str) -> str:

    for page in dash.page_registry.values():
        if page.get("path") == path:
            return str(page.get("name"))
    return path


def build_digest(ctx: PortalContext, *, view_name: str, page: str, query: str, schedule_text: str,
                 owner_text: str, unsubscribe_url: str, settings: MailSettings, now: datetime,
                 with_charts: bool | None = None) -> Digest:
    """Everything the e-mail shows, computed for ``ctx`` (the SUBSCRIBER's context at send time):
    viewers get the numbers and the top customers but no CSV."""

    view = View(ctx, query)
    table = kpi_table(view)
    kpis = []
    for name, title, fmt in KPIS:
        row = table.loc[name]
        kpis.append(Kpi(name, title, fmt(row["value"]), fmt(row["previous"]),
                        _change(row["change_pct"]), None if pd.isna(row["value"]) else float(row["value"])))
    kpis += _model_kpis(view)
    start, end = view.window
    last_day = end - pd.Timedelta(days=1)
    previous_start = start - (end - start)
    cleaning = view.report.cleaning
    last = f"{cleaning.last_date:%Y-%m-%d}" if cleaning.last_date is not None else "?"
    info = view.dataset
    freshness = (f"Data up to {last}, imported {_ago(info.created_at, now)} "
                 f"(version {info.version}, snapshot {view.snapshot:%Y-%m-%d}).")

    list_name = PAGE_LISTS.get(page, DEFAULT_LIST)
    note = ""
    export = EXPORTS[list_name]
    if export.needs_models and not view.models.ready:
        note = f"{export.title}: the models of this dataset are not fitted yet; showing customers by revenue."
        export = EXPORTS[DEFAULT_LIST]
    frame = list_rows(export, view)
    shown = export.columns[:TOP_COLUMNS]
    top = frame.head(TOP_N)
    top_rows = [[_cell(value, c.kind) for c, value in zip(shown, row)]
                for row in top[[c.field for c in shown]].itertuples(index=False)]

    csv_name = csv_bytes = None
    csv_note = ""
    if ctx.has_role("manager"):
        full = as_on_screen(export_rows(export, view, {}), export, view.money)  # the export format
        csv_bytes = "".join(csv_blocks(full)).encode("utf-8")
        csv_name = export_filename(ctx, export, view, raw=False)
    else:
        csv_note = "Your role (viewer) receives the summary without the customer list attached."

    link = settings.link(safe_page_link(page, query, fallback="/views"))
    digest = Digest(
        subject=f"{view_name} · {ctx.tenant_name} digest",
        tenant_name=ctx.tenant_name, view_name=view_name, page_title=page_title(page),
        filters_text=view.filters.describe(), schedule=schedule_text, freshness=freshness,
        window_text=f"{start:%Y-%m-%d} to {last_day:%Y-%m-%d}",
        previous_text=f"{previous_start:%Y-%m-%d} to {(start - pd.Timedelta(days=1)):%Y-%m-%d}",
        kpis=kpis, list_name=export.name, list_title=export.title, list_rows=int(len(frame)),
        top_headers=[display_header(c, view.money) for c in shown], top_rows=top_rows, view_url=link,
        unsubscribe_url=unsubscribe_url, owner_text=owner_text, list_note=note,
        csv_name=csv_name, csv_bytes=csv_bytes, csv_note=csv_note,
    )
    if settings.digest_charts if with_charts is None else with_charts:
        digest.charts = _charts(view, top, export)
        render_pngs(digest.charts, settings)
    return digest


def _charts(view: View, top: pd.DataFrame, export) -> list[Chart]:
    found = []
    trend = charts.monthly_revenue(view)
    if trend is not None:
        found.append(Chart("trend", "Monthly net revenue",
                           "Chart: monthly net revenue, new vs returning customers (numbers above)", trend))
    # the list's own order (e.g. revenue at risk, CLV, net revenue), else its first money column
    sorted_by = {field for field, _direction in export.default_sort}
    numeric = next((c for c in export.columns if c.field in sorted_by and c.kind in ("money", "int", "float")),
                   None) or next((c for c in export.columns if c.kind == "money"), None)
    if numeric is not None:
        header = display_header(numeric, view.money)
        bars = charts.top_customers(top, numeric.field, header)
        if bars is not None:
            found.append(Chart("top", f"Top customers by {header}",
                               f"Chart: top customers by {header} (the table below)", bars))
    return found


def render_pngs(items: list[Chart], settings: MailSettings) -> None:
    """Draw each chart as PNG with kaleido in one headless Chromium session.  On failure
    the charts are left out (the e-mail reads well without them) and the reason is logged."""
    if not items:
        return
    try:
        pngs = asyncio.run(_kaleido_pngs([c.figure for c in items], settings))
    except Exception as exc:  # noqa: BLE001 - the digest goes out without pictures
        log.warning("digest charts not drawn: %s: %s", type(exc).__name__, exc,
                    extra={"event": "digest_charts_failed"})
        return
    for chart, png in zip(items, pngs):
        chart.png = png


async def _kaleido_pngs(figures: list, settings: MailSettings) -> list[bytes]:
    # deferred: kaleido and plotly's bundle are loaded by the sending process only, never the web one
    import kaleido
    import plotly

    if settings.chromium_path and Path(settings.chromium_path).exists():
        os.environ.setdefault("BROWSER_PATH", settings.chromium_path)
    plotly_js = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    out = []
    async with kaleido.Kaleido(n=1, timeout=60, plotlyjs=str(plotly_js), mathjax=False) as renderer:
        for figure in figures:
            layout = figure.layout
            out.append(await renderer.calc_fig(figure, opts={"format": "png", "width": layout.width or 640,
                                                             "height": layout.height or 300, "scale": 2}))
    return out


def _one_line(text: str) -> str:
    """A header value from stored text (a view's name): no line breaks or other control characters."""
    return "".join(" " if ord(ch) < 32 or ord(ch) == 127 else ch for ch in text).strip()


def to_message(digest: Digest, *, to: str, message_id: str, settings: MailSettings, now: datetime) -> EmailMessage:
    """The MIME message: text and HTML alternatives, charts as inline images (cid),
    the CSV as an attachment, RFC 8058 one-click List-Unsubscribe headers."""

    message = EmailMessage()
    message["Subject"] = _one_line(digest.subject)
    message["From"] = settings.mail_from
    message["To"] = to
    message["Message-ID"] = message_id
    message["Date"] = format_datetime(now.replace(tzinfo=timezone.utc))
    message["List-Unsubscribe"] = f"<{digest.unsubscribe_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(_TEMPLATES.get_template("digest.txt").render(d=digest))
    message.add_alternative(_TEMPLATES.get_template("digest.html").render(d=digest), subtype="html")
    html_part = message.get_payload()[1]
    for chart in digest.charts:
        if chart.png:
            html_part.add_related(chart.png, maintype="image", subtype="png", cid=f"<{chart.cid}>",
                                  filename=f"{chart.cid}.png")
    if digest.csv_bytes is not None:
        message.add_attachment(digest.csv_bytes, maintype="text", subtype="csv", filename=digest.csv_name)
    return message
