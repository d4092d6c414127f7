"""Platform layer: what any web app of the portal stands on.

config (settings from env) · db (engine, sessions, migrations/) · models (ORM) ·
accounts (tenants, users, passwords, audit) · auth (login, rate limits, gate) ·
tenancy (current_context, roles) · security (headers, CSRF, session cookie) ·
observability (logs, errors) · health · callback_guard (bad Dash requests answer 4xx).

Imports only ``analytics`` and third-party packages, never ``portal.data`` or
``portal.dashboard``.
"""
