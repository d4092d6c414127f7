"""Development start-up (``python wsgi.py``, gunicorn's ``on_starting`` hook).

:func:`prepare` migrates, seeds the demo tenants (models fitted by detached
processes) and prints the demo logins.  Both steps follow AUTO_SETUP / SEED_DEMO
(on by default outside production).
"""
from __future__ import annotations

from . import create_app
from .data.seed import demo_logins, print_logins, seed_demo
from .platform.db import upgrade


def prepare(settings, echo=print) -> None:
    """Migrate and seed as the settings say (see the module docstring)."""
    if settings.auto_setup:
        upgrade(settings)
    if settings.seed_demo:
        app = create_app(settings)
        with app.app_context():
            seed_demo(fit_models=settings.demo_fit_models, echo=echo)
        if settings.demo_password:
            print_logins(demo_logins(settings.demo_password), echo=echo)
