"""The "E-mail digests" section of the Saved views page: subscribe the selected view
(yourself or a colleague), list the subscriptions you own or receive (admins: all of
the team's), pause, resume, change the schedule, delete.  Every button goes through
:mod:`portal.data.subscriptions`, which checks tenant and role again.
"""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Input, Output, State, html, no_update
from dash import ctx as dash_ctx

from portal.dashboard.components.tables import column, data_grid
from portal.data import subscriptions
from portal.data.digest_schedule import WEEKDAYS
from portal.platform.accounts import AccountError, list_users
from portal.platform.tenancy import PortalContext, current_context

COLUMNS = [
    column("view", "View", minWidth=180),
    column("recipient", "Recipient", minWidth=180),
    column("schedule", "Schedule", flex=2, minWidth=220),
    column("state", "Status", maxWidth=130),
    column("next", "Next send", maxWidth=180),
    column("last", "Last send", minWidth=200, flex=2),
    column("owner", "Owner"),
]
BUTTONS = ("digest-subscribe", "digest-pause", "digest-resume", "digest-reschedule", "digest-delete")


def rows(ctx: PortalContext) -> list[dict]:
    out = []
    for sub in subscriptions.list_subscriptions(ctx):
        state = "unsubscribed" if sub.unsubscribed else ("paused" if sub.paused else "active")
        last = "–"
        if sub.last_status:
            last = f"{sub.last_slot:%Y-%m-%d %H:%M} {sub.last_status}"
            if sub.last_status not in ("sent", "pending", "sending") and sub.last_error:
                last += f": {sub.last_error}"
            elif sub.last_status == "pending" and sub.last_error:
                last += f" ({sub.last_error})"
        out.append({"id": sub.id, "view": sub.view_name, "recipient": sub.subscriber_email,
                    "schedule": sub.schedule, "state": state,
                    "next": sub.next_send_local or "–", "last": last,
                    "owner": sub.owner_email, "editable": sub.editable})
    return out


def _schedule_controls(ctx: PortalContext) -> html.Div:
    colleagues = [u["email"] for u in list_users(ctx.tenant_id) if u["active"]]
    small = {"size": "sm"}
    return html.Div([
        html.Div([dbc.Label("Recipient", html_for="digest-recipient", className="small mb-0"),
                  dbc.Select(id="digest-recipient", value=ctx.email, options=[
                      {"label": "me" if e == ctx.email else e, "value": e} for e in colleagues], **small)]),
        html.Div([dbc.Label("How often", html_for="digest-frequency", className="small mb-0"),
                  dbc.Select(id="digest-frequency", value="weekly", options=[
                      {"label": f.capitalize(), "value": f} for f in ("daily", "weekly", "monthly")], **small)]),
        html.Div([dbc.Label("Day of the week", html_for="digest-weekday", className="small mb-0"),
                  dbc.Select(id="digest-weekday", value="0", options=[
                      {"label": d, "value": str(i)} for i, d in enumerate(WEEKDAYS)], **small)]),
        html.Div([dbc.Label("Day of the month", html_for="digest-monthday", className="small mb-0"),
                  dbc.Input(id="digest-monthday", type="number", min=1, max=31, step=1, value=1,
                            style={"maxWidth": "6rem"}, **small)]),
        html.Div([dbc.Label("Hour (team time zone)", html_for="digest-hour", className="small mb-0"),
                  dbc.Select(id="digest-hour", value="8", options=[
                      {"label": f"{h:02d}:00", "value": str(h)} for h in range(24)], **small)]),
    ], className="d-flex gap-3 flex-wrap align-items-end")


def section(ctx: PortalContext) -> html.Div:
    """The section under the saved-views grid."""
    manager = ctx.has_role("manager")
    controls = []
    if manager:
        controls = [
            _schedule_controls(ctx),
            html.Div([
                dbc.Button("Subscribe to the selected view", id="digest-subscribe", size="sm", color="primary"),
                dbc.Button("Pause", id="digest-pause", size="sm", color="secondary", outline=True),
                dbc.Button("Resume", id="digest-resume", size="sm", color="secondary", outline=True),
                dbc.Button("Apply schedule to the selected subscription", id="digest-reschedule", size="sm",
                           color="secondary", outline=True),
                dbc.Button("Delete subscription", id="digest-delete", size="sm", color="danger", outline=True),
            ], className="d-flex gap-2 mt-2 flex-wrap"),
        ]
    help_text = ("A digest e-mails a saved view's KPIs, its top customers and (managers) the list as CSV on a "
                 "schedule. Select a view above, choose the recipient and when, then subscribe. Only a "
                 "subscription's owner or an admin may change it; every digest has a one-click unsubscribe link.")
    return html.Div([
        html.H3("E-mail digests", className="h5 mt-4 mb-1"),
        html.P(help_text, className="text-secondary small"),
        *controls,
        html.Div(id="digest-status", className="mt-2 small", role="status"),
        data_grid("digest-grid", COLUMNS, rows(ctx), selectable=manager, height=260),
    ], id="digest-section", className="mt-3")


def _selected_id(selected) -> int | None:
    row = selected[0] if isinstance(selected, list) and selected and isinstance(selected[0], dict) else {}
    value = row.get("id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def register(app) -> None:
    @app.callback(
        Output("digest-status", "children"), Output("digest-grid", "rowData"),
        *(Input(button, "n_clicks") for button in BUTTONS),
        State("views-grid", "selectedRows"), State("digest-grid", "selectedRows"),
        State("digest-recipient", "value"), State("digest-frequency", "value"), State("digest-weekday", "value"),
        State("digest-monthday", "value"), State("digest-hour", "value"),
        prevent_initial_call=True,
    )
    def act(_s, _p, _r, _e, _d, views_selected, subs_selected, recipient, frequency, weekday, monthday, hour):
        ctx = current_context()
        action = dash_ctx.triggered_id
        schedule = dict(frequency=frequency if isinstance(frequency, str) else "", hour=_int(hour),
                        weekday=_int(weekday), monthday=_int(monthday))
        try:
            if action == "digest-subscribe":
                view_id = _selected_id(views_selected)
                if view_id is None:
                    return _alert("Select a saved view in the grid above first.", "secondary"), no_update
                sub = subscriptions.subscribe(ctx, view_id, subscriber_email=recipient if isinstance(
                    recipient, str) else None, **schedule)
                message = f"Subscribed {sub.subscriber_email}: {sub.schedule}."
            else:
                sub_id = _selected_id(subs_selected)
                if sub_id is None:
                    return _alert("Select a subscription in the grid first.", "secondary"), no_update
                if action == "digest-delete":
                    subscriptions.delete_subscription(ctx, sub_id)
                    message = "Subscription deleted."
                elif action == "digest-reschedule":
                    sub = subscriptions.update_subscription(ctx, sub_id, **schedule)
                    message = f"Schedule changed: {sub.schedule}."
                else:
                    paused = action == "digest-pause"
                    subscriptions.update_subscription(ctx, sub_id, paused=paused)
                    message = "Paused." if paused else "Resumed."
        except AccountError as exc:
            return _alert(str(exc), "danger"), no_update
        return _alert(message, "success"), rows(ctx)


def _alert(message: str, color: str) -> dbc.Alert:
    return dbc.Alert(message, color=color, className="py-1 mb-0")
