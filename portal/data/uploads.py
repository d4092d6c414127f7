"""Uploads on their own streamed endpoint: ``POST /upload``.

The Data page's script (``assets/upload.js``) sends the chosen file as the raw
request body (``Content-Type: application/octet-stream``, name in
``X-Filename``, CSRF token in ``X-CSRFToken``).  The endpoint, in this order:

1. checks the admin role (401/403 before a byte of the body is read);
2. checks the CSRF token by hand (Flask-WTF would parse the body looking for a
   form field first, so the route is exempt from its automatic check);
3. refuses a body over ``MAX_UPLOAD_MB`` from ``Content-Length`` (413), and
   stops reading a chunked one at that size;
4. streams the body in 1 MB reads into ``staged_uploads`` /
   ``staged_upload_chunks`` (8 MB rows, one short transaction each, so a slow
   upload never holds a database lock), shared by every host;
5. answers ``201 {"upload": <token>, "filename", "bytes"}``.

The browser then hands the token (not the file) to the import job, the
background callback of the Data page, through the ``upload-ref`` store.  The
job finds the upload only for the same user and tenant
(:func:`materialise`), imports it from a temporary file and deletes it.

:func:`init_import_gate` checks the admin role (and, for a new job, the
token's owner) on the import callback's request BEFORE Dash creates the job:
a viewer's forged request costs no process and no queue message.
"""
from __future__ import annotations

import logging
import re
import secrets
import tempfile
import unicodedata
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote

from flask import Flask, current_app, jsonify, request
from flask_wtf.csrf import ValidationError, validate_csrf
from sqlalchemy import delete, select
from werkzeug.exceptions import RequestEntityTooLarge

from ..platform.accounts import record
from ..platform.db import session_scope
from ..platform.models import StagedUpload, StagedUploadChunk, utcnow
from ..platform.tenancy import NotAuthenticated, PortalContext, RoleRequired, check_role

log = logging.getLogger(__name__)

UPLOAD_ENDPOINT = "upload"
#: The Data page's import callback (a background callback) and its reference input.
IMPORT_OUTPUT = "import-status.children"
REF_ID = "upload-ref"
READ_BYTES = 1024 * 1024
CHUNK_BYTES = 8 * 1024 * 1024
#: Uploads never imported (tab closed...) are deleted after this.
STALE = timedelta(days=1)
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
INCOMPLETE = -1


class UploadNotFound(LookupError):
    """No finished upload with that token for this user and tenant."""


class UploadRefused(ValueError):
    """The upload is empty or too large; the message says which."""


def clean_filename(raw: str) -> str:
    """A display name for the file: its last path part, printable characters, at most 120."""
    name = unicodedata.normalize("NFC", unquote(raw or ""))
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(ch for ch in name if ch.isprintable() and ch not in "<>\"'`")
    return name.strip()[:120] or "upload"


def stage(ctx: PortalContext, filename: str, stream: BinaryIO, max_bytes: int) -> tuple[str, int]:
    """Store ``stream`` as a staged upload of the caller; returns ``(token, size in bytes)``."""
    token = secrets.token_urlsafe(32)
    with session_scope() as session:
        session.execute(delete(StagedUpload).where(StagedUpload.created_at < utcnow() - STALE))
        session.add(StagedUpload(token=token, tenant_id=ctx.tenant_id, user_id=ctx.user_id, filename=filename,
                                 size_bytes=INCOMPLETE, created_at=utcnow()))
    size, chunk_no, buffer = 0, 0, bytearray()
    try:
        while True:
            piece = stream.read(READ_BYTES)
            if not piece:
                break
            size += len(piece)
            if size > max_bytes:
                raise UploadRefused(_too_large(max_bytes))
            buffer += piece
            if len(buffer) >= CHUNK_BYTES:
                _add_chunk(token, chunk_no, bytes(buffer))
                chunk_no, buffer = chunk_no + 1, bytearray()
        if size == 0:
            raise UploadRefused("The file is empty.")
        if buffer:
            _add_chunk(token, chunk_no, bytes(buffer))
        with session_scope() as session:
            session.get(StagedUpload, token).size_bytes = size
    except BaseException:
        discard(token)
        raise
    return token, size


def _add_chunk(token: str, chunk_no: int, data: bytes) -> None:
    with session_scope() as session:
        session.add(StagedUploadChunk(token=token, chunk_no=chunk_no, data=data))


def _too_large(max_bytes: int) -> str:
    return f"The file is larger than {max_bytes // 1024 // 1024} MB (MAX_UPLOAD_MB)."


def find(ctx: PortalContext, token: object) -> StagedUpload | None:
    """The finished upload ``token`` of the caller (same user and tenant), or None."""
    if not isinstance(token, str) or not TOKEN_RE.match(token):
        return None
    with session_scope() as session:
        row = session.get(StagedUpload, token)
        if row is None or row.tenant_id != ctx.tenant_id or row.user_id != ctx.user_id \
                or row.size_bytes == INCOMPLETE or row.created_at < utcnow() - STALE:
            return None
        session.expunge(row)
        return row


def materialise(ctx: PortalContext, token: object, folder: Path) -> tuple[Path, str]:
    """Write the caller's upload ``token`` to a temporary file in ``folder``; returns
    ``(path, original file name)``.  The caller deletes the file (and :func:`discard`s)."""
    row = find(ctx, token)
    if row is None:
        raise UploadNotFound("That upload does not exist (or has expired); upload the file again.")
    folder.mkdir(parents=True, exist_ok=True)
    handle = tempfile.NamedTemporaryFile(dir=folder, prefix="upload-", suffix=".part", delete=False)
    with handle:
        with session_scope() as session:
            numbers = session.scalars(select(StagedUploadChunk.chunk_no).where(StagedUploadChunk.token == row.token)
                                      .order_by(StagedUploadChunk.chunk_no)).all()
        for number in numbers:  # one chunk in memory at a time
            with session_scope() as session:
                handle.write(session.get(StagedUploadChunk, (row.token, number)).data)
    return Path(handle.name), row.filename


def discard(token: str) -> None:
    with session_scope() as session:
        session.execute(delete(StagedUploadChunk).where(StagedUploadChunk.token == token))
        session.execute(delete(StagedUpload).where(StagedUpload.token == token))


def _error(status: int, message: str):
    return jsonify(error="upload refused", message=message), status


def init_uploads(app: Flask, csrf) -> None:
    def upload():
        settings = current_app.extensions["portal"].settings
        try:
            ctx = check_role("admin")  # first: nothing of the body is read for anybody else
        except NotAuthenticated:
            return _error(401, "Log in first.")
        except RoleRequired:
            return _error(403, "Importing needs the admin role.")

        try:
            validate_csrf(request.headers.get("X-CSRFToken", ""))
        except ValidationError:
            return _error(400, "The CSRF token is missing or invalid; reload the page.")
        limit = settings.max_upload_bytes
        if request.content_length is not None and request.content_length > limit:
            return _error(413, _too_large(limit))
        request.max_content_length = limit  # a chunked body is cut at the cap by Werkzeug
        filename = clean_filename(request.headers.get("X-Filename", ""))
        try:
            token, size = stage(ctx, filename, request.stream, limit)
        except RequestEntityTooLarge:
            return _error(413, _too_large(limit))
        except UploadRefused as exc:
            return _error(413 if "larger" in str(exc) else 400, str(exc))
        record("upload_staged", tenant_id=ctx.tenant_id, user_id=ctx.user_id, ip=request.remote_addr,
               detail={"filename": filename, "bytes": size})
        return jsonify(upload=token, filename=filename, bytes=size), 201

    app.add_url_rule("/upload", UPLOAD_ENDPOINT, upload, methods=["POST"])
    csrf.exempt(upload)  # checked by hand above, after the role and without parsing the body


def init_import_gate(app: Flask) -> None:
    """Role (and upload owner) check on the import callback, before Dash creates its job."""

    @app.before_request
    def gate_import_jobs():
        if request.method != "POST" or not request.path.endswith("/_dash-update-component"):
            return None
        body = request.get_json(silent=True)
        if not isinstance(body, dict) or body.get("output") != IMPORT_OUTPUT:
            return None
        try:
            ctx = check_role("admin")
        except RoleRequired:
            log.warning("import job refused: role", extra={"event": "import_job_refused"})
            return jsonify(error="forbidden", message="Importing needs the admin role."), 403
        if "cacheKey" in request.args or "job" in request.args:
            return None  # a poll of the caller's own job (the job manager scopes it to its owner)
        ref = next((entry.get("value") for entry in body.get("inputs", [])
                    if isinstance(entry, dict) and entry.get("id") == REF_ID), None)
        token = ref.get("upload") if isinstance(ref, dict) else None
        if find(ctx, token) is None:
            return jsonify(error="bad request", message="No such upload of yours; upload the file again."), 400
        return None
