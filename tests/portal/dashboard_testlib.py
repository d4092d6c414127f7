"""Fixtures for the dashboard pages: an app whose tenants have fitted models, and a
way to call a page's layout or callback function directly as a logged-in user.

``as_user(app, email)`` pushes a request context with the user logged in, so
``current_context()`` resolves their tenant and role exactly as in a real
request; inside it a test calls ``page.layout(**query)`` or a callback function
(``overview.update_kpis("?country=France")``) and checks the values against
analytics results computed independently from the same log.
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import pandas as pd
from portal_testlib import build_app, make_settings

from analytics import clean_transactions, load_transactions

ALPHA_MIX = {"United Kingdom": 0.7, "France": 0.15, "Germany": 0.1, "EIRE": 0.05}
BETA_MIX = {"Germany": 0.6, "Netherlands": 0.4}


def write_dashboard_logs(folder: Path) -> dict[str, Path]:
    """alpha: 400 customers over 18 months in 4 countries; beta: 150 customers, 12 months."""
    from analytics.synthetic import generate_transactions

    paths = {}
    for slug, customers, months, seed, mix in (("alpha", 400, 18, 11, ALPHA_MIX), ("beta", 150, 12, 12, BETA_MIX)):
        path = folder / f"{slug}.parquet"
        generate_transactions(customers, months, seed=seed, country_mix=mix).to_parquet(path)
        paths[slug] = path
    return paths


def build_dashboard_app(tmp_path: Path, logs: dict[str, Path]):
    """Both tenants imported and their models fitted (synchronously)."""
    from portal.platform.db import session_scope
    from portal.data.jobs import fit_dataset_models
    from portal.platform.models import Dataset

    app = build_app(make_settings(tmp_path), logs=logs)
    with app.app_context():
        with session_scope() as session:
            ids = [d.id for d in session.query(Dataset).all()]
        for dataset_id in ids:
            assert fit_dataset_models(dataset_id) == "ready"
    return app


@contextmanager
def as_user(app, email: str, path: str = "/"):
    """A request context in which ``email`` is logged in (server-side session)."""
    from flask_login import login_user
    from sqlalchemy import select

    from portal.platform.auth import LoginUser
    from portal.platform.db import session_scope
    from portal.platform.models import User

    with app.test_request_context(path):
        with session_scope() as session:
            user = LoginUser(session.scalars(select(User).where(User.email == email)).one())
        login_user(user)
        yield


def page_module(name: str):
    """The module of page ``name`` (e.g. "overview") as Dash loaded it for the last app built.

    Page modules call ``dash.register_page`` and so cannot be imported before an
    app exists; Dash executes them when it builds the app."""
    import sys

    import dash

    for module in dash.page_registry:
        if module.split(".")[-1] == name and module in sys.modules:
            return sys.modules[module]
    raise LookupError(f"no page module {name!r}; build an app first")


def components_by_id(component) -> dict:
    """id -> component of every component with a string id in a layout tree."""
    found = {}

    def walk(node):
        if isinstance(node, (list, tuple)):
            for child in node:
                walk(child)
            return
        if not hasattr(node, "to_plotly_json"):
            return
        if isinstance(getattr(node, "id", None), str):
            found[node.id] = node
        walk(getattr(node, "children", None))

    walk(component)
    return found


def texts_by_id(component) -> dict[str, str]:
    """id -> text of every component with an id whose children are a plain value."""
    return {key: str(node.children) for key, node in components_by_id(component).items()
            if isinstance(getattr(node, "children", None), (str, int, float))}


def cleaned_log(path: Path):
    """The cleaned log of a test file, computed straight from analytics (the reference)."""
    return clean_transactions(load_transactions(path))


def figure_dict(figure) -> dict:
    """A Plotly figure (object or dict) as a plain dict (arrays may be base64 "bdata": read
    trace values with :func:`traces` instead)."""
    return figure.to_plotly_json() if hasattr(figure, "to_plotly_json") else dict(figure)


def traces(figure) -> dict:
    """Trace name -> trace (``trace.x``, ``trace.y`` are arrays) of a figure or figure dict."""
    import plotly.graph_objects as go

    figure = figure if isinstance(figure, go.Figure) else go.Figure(figure)
    return {trace.name: trace for trace in figure.data}


def frame_of(records: list[dict]) -> pd.DataFrame:
    return pd.DataFrame.from_records(records)
