"""The Data page's "Invite by e-mail" (admins): the controls and their callback.

The invitation itself (signed, expiring, single-use link) is
:func:`portal.platform.account_mail.invite_user`."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Input, Output, State, html
from flask import request

from portal.platform.account_mail import invite_user
from portal.platform.accounts import AccountError
from portal.platform.mail_settings import mail_settings
from portal.platform.tenancy import check_role


def invite_controls():
    """A button beside "Add user": invite the address and role typed in the same row, no password."""
    return html.Div([
        dbc.Button("Invite by e-mail (they choose their password)", id="invite-user", size="sm",
                   color="primary", outline=True),
        html.Div(id="invite-status", className="mt-2", role="status"),
    ], className="mt-2")


def register_invite(dash_app) -> None:
    @dash_app.callback(
        Output("invite-status", "children"),
        Input("invite-user", "n_clicks"), State("new-user-email", "value"), State("new-user-role", "value"),
        prevent_initial_call=True,
    )
    def invite(_clicks, email, role):
        ctx = check_role("admin")
        try:
            address = invite_user(ctx, email if isinstance(email, str) else "", role if isinstance(role, str) else "",
                                  ip=request.remote_addr)
        except AccountError as exc:
            return dbc.Alert(str(exc), color="danger", className="py-2 mb-0")
        note = (f"Invitation sent to {address}: the link works once and expires in {mail_settings().invite_hours} "
                "hours. Reload the page to see them in the list.")
        return dbc.Alert(note, color="success", className="py-2 mb-0")
