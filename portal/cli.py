"""Command line: ``flask --app wsgi COMMAND``.

Errors are one clear line on stderr and a non-zero exit code (1 for a refused
request, 2 for a usage error), never a traceback.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app

from analytics.errors import LoadError
from analytics.mapping import ColumnMapping, read_table

from .data.imports import import_dataset
from .data.mappings import quality_lines, save_mapping
from .data.jobs import fit_dataset_models
from .data.seed import SeedError, demo_logins, print_logins
from .data.seed import seed_demo as seed
from .platform.accounts import AccountError, get_tenant, tenant_overview
from .platform.accounts import create_tenant as create_tenant_account
from .platform.accounts import create_user as create_user_account
from .platform.accounts import set_role as change_role
from .platform.db import session_scope, upgrade
from .platform.models import ROLES
from .platform.tenancy import system_context


def _settings():
    return current_app.extensions["portal"].settings


def _progress_line(fraction: float, message: str) -> None:
    click.echo(f"  [{fraction:4.0%}] {message}", err=True)


def _upgrade() -> None:
    try:
        upgrade(_settings())
    except Exception as exc:  # noqa: BLE001 - one line, no traceback
        raise click.ClickException(f"Migration failed: {type(exc).__name__}: {exc}") from None
    click.echo("Database schema is up to date.")


def register_cli(app: Flask) -> None:
    @app.cli.command("db-upgrade")
    def db_upgrade():
        """Apply the database migrations (alembic upgrade head)."""
        _upgrade()

    @app.cli.command("init-db")
    def init_db():
        """Create or update the database schema (same as db-upgrade)."""
        _upgrade()

    @app.cli.command("create-tenant")
    @click.argument("slug")
    @click.option("--name", required=True, help="Display name of the tenant.")
    def create_tenant(slug, name):
        """Create a tenant (client company)."""
        try:
            tenant = create_tenant_account(slug, name)
        except AccountError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"Created tenant {tenant.slug} ({tenant.name}).")

    @app.cli.command("create-user")
    @click.argument("email")
    @click.option("--tenant", "slug", required=True, help="Slug of the user's tenant.")
    @click.option("--role", type=click.Choice(ROLES), required=True)
    @click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
    def create_user(email, slug, role, password_stdin):
        """Create a user; the password comes from stdin or a prompt, never an argument."""
        try:
            with session_scope() as session:
                tenant_id = get_tenant(session, slug).id
        except AccountError as exc:
            raise click.ClickException(str(exc)) from None
        if password_stdin:
            password = sys.stdin.readline().rstrip("\r\n")
        else:
            password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        try:
            user = create_user_account(tenant_id, email, password, role)
        except AccountError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"Created {user.role} {user.email} in tenant {slug}.")

    @app.cli.command("set-role")
    @click.argument("email")
    @click.option("--tenant", "slug", required=True, help="Slug of the user's tenant.")
    @click.option("--role", type=click.Choice(ROLES), required=True)
    def set_role(email, slug, role):
        """Change a user's role; ends every session of that user."""
        try:
            with session_scope() as session:
                tenant_id = get_tenant(session, slug).id
            change_role(tenant_id, email, role)
        except AccountError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"{email} is now {role} in tenant {slug}; their sessions have ended.")

    @app.cli.command("import")
    @click.argument("slug")
    @click.argument("path", type=click.Path(dir_okay=False))
    @click.option("--no-models", is_flag=True, help="Do not fit the models after the import.")
    @click.option("--mapping", "mapping_path", type=click.Path(dir_okay=False, exists=True), default=None,
                  help="Column mapping (JSON) for an export of another layout; saved for the tenant.")
    @click.option("--append", is_flag=True, help="Add the file's new lines to the current version.")
    def import_file(slug, path, no_models, mapping_path, append):
        """Import FILE as the tenant's new dataset version, then fit its models."""
        try:
            ctx = system_context(slug)
        except LookupError as exc:
            raise click.ClickException(str(exc)) from None
        mapping = None
        if mapping_path:
            try:
                mapping = ColumnMapping.from_json(Path(mapping_path))
                save_mapping(ctx, list(read_table(path, max_rows=5).columns), mapping)
            except LoadError as exc:
                raise click.ClickException(str(exc)) from None
        outcome = import_dataset(ctx, path, progress=_progress_line, mapping=mapping,
                                 mode="append" if append else "replace")
        if not outcome.ok:
            raise click.ClickException(outcome.message)
        click.echo(outcome.message)
        for line in quality_lines(outcome.quality or {}):
            click.echo(f"  {line}")
        if not no_models:
            status = fit_dataset_models(outcome.dataset_id, progress=_progress_line)
            click.echo(f"Models: {status}.")

    @app.cli.command("fit-models")
    @click.argument("slug")
    @click.option("--force", is_flag=True, help="Restart even if a job seems to be running.")
    def fit_models(slug, force):
        """Fit (again) the models of the tenant's current dataset."""
        try:
            ctx = system_context(slug)
        except LookupError as exc:
            raise click.ClickException(str(exc)) from None
        if ctx.dataset_id is None:
            raise click.ClickException(f"Tenant {slug!r} has no dataset yet.")
        status = fit_dataset_models(ctx.dataset_id, progress=_progress_line, force=force)
        click.echo(f"Models: {status}.")
        if status == "failed":
            sys.exit(1)

    @app.cli.command("seed-demo")
    @click.option("--no-models", is_flag=True, help="Leave the models pending.")
    def seed_demo(no_models):
        """Create the demo tenants, users and datasets (idempotent)."""
        try:
            seed(fit_models="skip" if no_models else "sync", echo=click.echo)
        except SeedError as exc:
            raise click.ClickException(str(exc)) from None
        print_logins(demo_logins(_settings().demo_password), echo=click.echo)

    @app.cli.command("list-tenants")
    def list_tenants():
        """Tenants with their users, current dataset version, rows and models status."""
        rows = tenant_overview()
        if not rows:
            click.echo("No tenants.")
            return
        click.echo(f"{'SLUG':<16} {'NAME':<28} {'USERS':>5} {'VERSION':>7} {'ROWS':>10}  MODELS")
        for r in rows:
            version = "-" if r["version"] is None else str(r["version"])
            count = "-" if r["rows"] is None else f"{r['rows']:,}"
            click.echo(f"{r['slug']:<16} {r['name'][:28]:<28} {r['users']:>5} {version:>7} {count:>10}  "
                       f"{r['models'] or '-'}")

