"""Data layer: the tenant's datasets and what is computed from them.

storage (dataset payloads) · imports (upload -> dataset) · cache (result cache
backends) · results (named results per dataset, cached) · jobs (model fitting) ·
background (Celery app, Dash background-callback managers) · seed (demo tenants).

Imports ``portal.platform`` and ``analytics``, never ``portal.dashboard``.
"""
