"""portal.cli: every command, its output and its errors (exit code, one line, no traceback)."""
from __future__ import annotations

import subprocess
import sys
from contextlib import contextmanager

import pytest
from portal_testlib import PASSWORD, ROOT, build_app, make_settings, settings_env
from sqlalchemy import select

from portal.platform.models import Dataset, Tenant, User


@pytest.fixture
def cli_app(tmp_path):
    return build_app(make_settings(tmp_path), tenants=False)


def invoke(app, *args, input=None):
    return app.test_cli_runner().invoke(args=list(args), input=input)


@contextmanager
def _db(app):
    from portal.platform.db import session_scope

    with app.app_context(), session_scope() as session:
        yield session


def test_db_upgrade_and_init_db(cli_app):
    for command in ("db-upgrade", "init-db"):
        result = invoke(cli_app, command)
        assert result.exit_code == 0 and "up to date" in result.output


def test_create_tenant_and_duplicate(cli_app):
    result = invoke(cli_app, "create-tenant", "acme", "--name", "Acme Ltd")
    assert result.exit_code == 0 and "Created tenant acme" in result.output
    again = invoke(cli_app, "create-tenant", "acme", "--name", "Other")
    assert again.exit_code == 1 and "Tenant 'acme' already exists." in again.output
    assert "Traceback" not in again.output
    bad = invoke(cli_app, "create-tenant", "Not A Slug!", "--name", "x")
    assert bad.exit_code == 1 and "Invalid tenant slug" in bad.output


def test_create_user_reads_the_password_from_stdin_or_a_prompt(cli_app):
    invoke(cli_app, "create-tenant", "acme", "--name", "Acme")
    result = invoke(cli_app, "create-user", "Ann@Acme.test", "--tenant", "acme", "--role", "manager",
                    "--password-stdin", input=PASSWORD + "\n")
    assert result.exit_code == 0 and "Created manager ann@acme.test" in result.output
    prompted = invoke(cli_app, "create-user", "bob@acme.test", "--tenant", "acme", "--role", "viewer",
                      input=f"{PASSWORD}\n{PASSWORD}\n")
    assert prompted.exit_code == 0, prompted.output
    with _db(cli_app) as session:
        users = {u.email: u for u in session.scalars(select(User))}
    assert set(users) == {"ann@acme.test", "bob@acme.test"}
    assert users["ann@acme.test"].password_hash.startswith("scrypt:")
    assert PASSWORD not in users["ann@acme.test"].password_hash


@pytest.mark.parametrize("args, password, code, message", [
    (["--tenant", "nope", "--role", "viewer"], PASSWORD, 1, "Unknown tenant 'nope'."),
    (["--tenant", "acme", "--role", "boss"], PASSWORD, 2, "Invalid value for '--role'"),
    (["--tenant", "acme", "--role", "viewer"], "short1A", 1, "at least 10 characters"),
    (["--tenant", "acme", "--role", "viewer"], "alllowercaseletters", 1, "at least two kinds"),
    (["--tenant", "acme", "--role", "viewer"], "carl@acme.test", 1, "must not be the email"),
])
def test_create_user_errors(cli_app, args, password, code, message):
    invoke(cli_app, "create-tenant", "acme", "--name", "Acme")
    result = invoke(cli_app, "create-user", "carl@acme.test", *args, "--password-stdin", input=password + "\n")
    assert result.exit_code == code and message in result.output
    assert "Traceback" not in result.output


def test_create_user_duplicate_email(cli_app):
    invoke(cli_app, "create-tenant", "acme", "--name", "Acme")
    args = ["create-user", "dup@acme.test", "--tenant", "acme", "--role", "viewer", "--password-stdin"]
    assert invoke(cli_app, *args, input=PASSWORD).exit_code == 0
    again = invoke(cli_app, *args, input=PASSWORD)
    assert again.exit_code == 1 and "already exists" in again.output


def test_import_and_list_tenants(cli_app, alpha_csv, bad_csv):
    invoke(cli_app, "create-tenant", "acme", "--name", "Acme Ltd")
    result = invoke(cli_app, "import", "acme", str(alpha_csv))
    assert result.exit_code == 0, result.output
    assert "Imported version 1" in result.output and "[" in result.output  # progress lines
    assert "Models: failed." in result.output or "Models: ready." in result.output
    bad = invoke(cli_app, "import", "acme", str(bad_csv))
    assert bad.exit_code == 1 and "Import failed: Column 'Quantity', row 2" in bad.output
    assert "Traceback" not in bad.output
    missing = invoke(cli_app, "import", "acme", "/no/such/file.csv")
    assert missing.exit_code == 1 and "File not found" in missing.output
    unknown = invoke(cli_app, "import", "nope", str(alpha_csv))
    assert unknown.exit_code == 1 and "Unknown tenant 'nope'." in unknown.output
    listing = invoke(cli_app, "list-tenants")
    line = [row for row in listing.output.splitlines() if row.startswith("acme")][0]
    with _db(cli_app) as session:
        rows = session.scalars(select(Dataset.rows_in).where(Dataset.status == "ready")).one()
    assert "Acme Ltd" in line and f"{rows:,}" in line and " 1 " in line


def test_fit_models_fits(cli_app, alpha_csv):
    invoke(cli_app, "create-tenant", "acme", "--name", "Acme")
    none_yet = invoke(cli_app, "fit-models", "acme")
    assert none_yet.exit_code == 1 and "has no dataset yet" in none_yet.output
    invoke(cli_app, "import", "acme", str(alpha_csv), "--no-models")
    result = invoke(cli_app, "fit-models", "acme")
    with _db(cli_app) as session:
        dataset = session.scalars(select(Dataset)).one()
    assert dataset.models_status in ("ready", "failed")
    assert result.exit_code == (0 if dataset.models_status == "ready" else 1)


def test_seed_demo_is_idempotent(cli_app):
    first = invoke(cli_app, "seed-demo", "--no-models")
    assert first.exit_code == 0, first.output
    assert "admin@acme.example" in first.output and PASSWORD in first.output
    second = invoke(cli_app, "seed-demo", "--no-models")
    assert second.exit_code == 0 and "Generating" not in second.output
    with _db(cli_app) as session:
        tenants = {t.slug: t for t in session.scalars(select(Tenant))}
        assert set(tenants) == {"acme", "globex"}
        assert session.query(User).count() == 6 and session.query(Dataset).count() == 2
        sizes = {slug: session.get(Dataset, t.current_dataset_id).customers for slug, t in tenants.items()}
        countries = {slug: session.get(Dataset, t.current_dataset_id).source for slug, t in tenants.items()}
    assert sizes["acme"] > 2 * sizes["globex"]
    assert countries["acme"]["rows"] > countries["globex"]["rows"]


def test_commands_run_as_subprocess_with_database_url(tmp_path):
    """The release-phase command as the Procfile runs it, and a failing command as a process
    (exit code 1, its message, no traceback); both find the database through DATABASE_URL.
    Two processes only: what happens between them is done in this process, on that database."""
    settings = make_settings(tmp_path)
    env = settings_env(settings)

    def flask(*command):
        return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *command], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)

    upgrade = flask("db-upgrade")
    assert upgrade.returncode == 0, upgrade.stderr
    app = build_app(settings, tenants=False)  # the database the process upgraded
    assert "up to date" in invoke(app, "db-upgrade").output
    assert invoke(app, "create-tenant", "shop", "--name", "Shop").exit_code == 0
    assert "shop" in invoke(app, "list-tenants").output
    duplicate = flask("create-tenant", "shop", "--name", "Shop")
    assert duplicate.returncode == 1 and "already exists" in duplicate.stderr
    assert "Traceback" not in duplicate.stderr
