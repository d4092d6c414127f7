"""Attack suite, uploads (issue 12, items 4, 5 and 6): the streamed ``POST /upload``
checks the role first, then CSRF, then the size, before it reads the body; the
import job is created only for an admin with a reference to their own upload;
compressed files are refused before parsing when they would expand too far."""
from __future__ import annotations

import gzip
import io
import json
import time
import zipfile
from urllib.parse import urlencode

import pytest
from portal_testlib import build_app, dash_headers, logged_in, make_settings, small_log


class CountingBody(io.BytesIO):
    """A request body that records how much of it the server read."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size=-1):
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk

    def readline(self, size=-1):
        chunk = super().readline(size)
        self.bytes_read += len(chunk)
        return chunk


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("uploads")
    log = folder / "alpha.csv"
    small_log(40, 3, seed=1).to_csv(log, index=False)
    return build_app(make_settings(folder, max_upload_mb=1, max_decompressed_mb=4, max_import_rows=5000),
                     logs={"alpha": log})


def csv_bytes(customers: int = 20, seed: int = 9) -> bytes:
    return small_log(customers, 2, seed=seed).to_csv(index=False).encode()


def post_upload(client, body: bytes, *, token: str | None = "auto", name: str = "upload.csv"):
    headers = {"X-Filename": name}
    if token == "auto":
        headers.update(dash_headers(client))
    elif token is not None:
        headers["X-CSRFToken"] = token
    stream = CountingBody(body)
    response = client.post("/upload", input_stream=stream, content_type="application/octet-stream",
                           headers=headers)
    return response, stream


def staged_count(app) -> int:
    from sqlalchemy import func, select

    from portal.platform.db import session_scope
    from portal.platform.models import StagedUpload

    with app.app_context(), session_scope() as session:
        return session.scalar(select(func.count()).select_from(StagedUpload))


def test_only_admins_upload_and_nothing_is_read_for_anybody_else(site):
    body = csv_bytes()
    before = staged_count(site)
    anonymous, stream = post_upload(site.test_client(), body, token=None)
    assert anonymous.status_code == 401 and stream.bytes_read == 0
    for email in ("viewer@alpha.test", "manager@alpha.test"):
        client = logged_in(site, email)
        response, stream = post_upload(client, body)
        assert response.status_code == 403 and stream.bytes_read == 0, email
        assert "admin role" in response.json["message"]
    assert staged_count(site) == before


def test_upload_needs_the_csrf_token_of_its_own_session(site):
    admin, other = logged_in(site, "admin@alpha.test"), logged_in(site, "manager@alpha.test")
    for token in (None, "forged", other.get_cookie("_csrf_token").value):  # the last: valid, another session's
        response, stream = post_upload(admin, csv_bytes(), token=token)
        assert response.status_code == 400 and stream.bytes_read == 0, token
        assert "CSRF" in response.json["message"]


def test_an_upload_over_the_cap_is_refused_before_it_is_read(site):
    admin = logged_in(site, "admin@alpha.test")
    response, stream = post_upload(admin, b"x" * (1024 * 1024 + 1))
    assert response.status_code == 413 and stream.bytes_read == 0
    assert "larger than 1 MB (MAX_UPLOAD_MB)" in response.json["message"]
    empty, _ = post_upload(admin, b"")
    assert empty.status_code == 400 and "empty" in empty.json["message"]


def test_other_bodies_keep_the_small_cap_and_uploads_do_not_travel_through_callbacks(site):
    admin = logged_in(site, "admin@alpha.test")
    body = b'{"output":"import-status.children","inputs":[{"id":"upload","property":"contents","value":"' + \
        b"A" * (1024 * 1024) + b'"}]}'
    assert admin.post("/_dash-update-component", data=body, content_type="application/json",
                      headers=dash_headers(admin)).status_code == 413
    layout = admin.get("/_dash-layout").get_data(as_text=True)
    assert '"contents"' not in layout  # no dcc.Upload left on the page


def import_callback(ref) -> dict:
    return {"output": "import-status.children", "outputs": {"id": "import-status", "property": "children"},
            "inputs": [{"id": "upload-ref", "property": "data", "value": ref}], "state": [],
            "changedPropIds": ["upload-ref.data"]}


def test_the_import_job_is_created_only_for_an_admin_with_their_own_upload(site):
    admin, viewer = logged_in(site, "admin@alpha.test"), logged_in(site, "viewer@alpha.test")
    beta_admin = logged_in(site, "admin@beta.test")
    staged, _ = post_upload(admin, csv_bytes(), name="next.csv")
    assert staged.status_code == 201 and staged.json["filename"] == "next.csv"
    ref = {"upload": staged.json["upload"], "filename": "next.csv"}

    # refused BEFORE Dash creates a job: no job handle comes back, and no process is started
    for client, forged, status in ((viewer, ref, 403), (beta_admin, ref, 400),
                                   (admin, {"upload": "x" * 43}, 400), (admin, {"upload": None}, 400)):
        answer = client.post("/_dash-update-component", json=import_callback(forged), headers=dash_headers(client))
        assert answer.status_code == status, (forged, answer.data[:200])
        assert "cacheKey" not in answer.get_data(as_text=True) and "job" not in (answer.json or {})

    # the owner's request creates the job, which imports the file from the database by reference
    submitted = admin.post("/_dash-update-component", json=import_callback(ref), headers=dash_headers(admin))
    assert submitted.status_code == 200, submitted.data[:300]
    handles = {"cacheKey": submitted.json["cacheKey"], "job": submitted.json["job"]}
    deadline, text = time.monotonic() + 120, ""
    while time.monotonic() < deadline and "Imported version" not in text:
        time.sleep(0.5)
        poll = admin.post(f"/_dash-update-component?{urlencode(handles)}", json=import_callback(ref),
                          headers=dash_headers(admin))
        text = poll.get_data(as_text=True)
    assert "Imported version 2" in text
    assert staged_count(site) == 0  # the staged file is gone once imported
    # replaying the reference starts nothing: the upload no longer exists
    again = admin.post("/_dash-update-component", json=import_callback(ref), headers=dash_headers(admin))
    assert again.status_code == 400


# --------------------------------------------------------------------------- decompression caps


def xlsx_bomb(sheet_mb: int) -> bytes:
    """A workbook whose one sheet is ``sheet_mb`` MB of repeated rows (compresses ~1000:1)."""
    row = b'<row r="2"><c r="A2" t="inlineStr"><is><t>x</t></is></c></row>'
    sheet = b'<?xml version="1.0"?><worksheet><sheetData>' + row * (sheet_mb * 1024 * 1024 // len(row)) + \
        b"</sheetData></worksheet>"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
    return buffer.getvalue()


def check(data: bytes, name: str, max_mb: int = 4, max_rows: int = 5000):
    from portal.data.upload_checks import ExpansionRefused, check_expansion

    with pytest.raises(ExpansionRefused) as refused:
        check_expansion(data, name, max_mb * 1024 * 1024, max_rows)
    return str(refused.value)


def test_an_xlsx_bomb_is_refused_before_parsing_with_a_clear_message():
    bomb = xlsx_bomb(40)
    assert len(bomb) < 200 * 1024  # 40 MB of sheet XML in under 200 KB
    started = time.perf_counter()
    message = check(bomb, "bomb.xlsx")
    assert "bomb.xlsx expands to more than 4 MB when decompressed (MAX_DECOMPRESSED_MB)" in message
    assert time.perf_counter() - started < 2.0  # refused from the declared sizes, nothing parsed


def test_a_zip_member_that_lies_about_its_size_is_caught_by_counting():
    bomb = bytearray(xlsx_bomb(8))
    # rewrite the declared uncompressed size (central directory) of the sheet to 1 KB
    central = bomb.rfind(b"PK\x01\x02", 0, bomb.rfind(b"xl/worksheets/sheet1.xml"))
    bomb[central + 24:central + 28] = (1024).to_bytes(4, "little")
    message = check(bytes(bomb), "liar.xlsx")
    assert "liar.xlsx" in message and ("MAX_DECOMPRESSED_MB" in message or "not a readable XLSX" in message)


def test_row_caps_for_xlsx_gzip_csv_and_parquet(tmp_path):
    frame = small_log(200, 3, seed=3)
    assert len(frame) > 5000
    text = frame.to_csv(index=False).encode()
    assert "holds more than 5,000 rows (MAX_IMPORT_ROWS)" in check(gzip.compress(text), "big.csv.gz", max_mb=500)
    assert "holds more than 5,000 rows" in check(text, "big.csv", max_mb=500)
    path = tmp_path / "big.parquet"
    frame.to_parquet(path)
    assert "holds more than 5,000 rows" in check(path.read_bytes(), "big.parquet", max_mb=500)
    xlsx = tmp_path / "big.xlsx"
    frame.head(6000).to_excel(xlsx, index=False)
    assert "holds more than 5,000 rows" in check(xlsx.read_bytes(), "big.xlsx", max_mb=500)
    # under the caps, the same formats pass the check
    from portal.data.upload_checks import check_expansion

    small = frame.head(1000)
    small.to_excel(xlsx, index=False)
    small.to_parquet(path)
    for data in (gzip.compress(small.to_csv(index=False).encode()), xlsx.read_bytes(), path.read_bytes()):
        check_expansion(data, "ok", 500 * 1024 * 1024, 5000)


def test_a_gzip_bomb_is_refused_and_the_refusal_is_recorded(site):
    from portal.data.imports import import_dataset

    bomb = gzip.compress(b"InvoiceNo,StockCode\n" + b"1," * (8 * 1024 * 1024))
    with site.app_context():
        outcome = import_dataset("alpha", bomb, "bomb.csv.gz")
    assert not outcome.ok and "expands to more than 4 MB" in outcome.error


@pytest.mark.slow
def test_chunked_bodies_without_a_length_are_cut_at_the_caps_under_gunicorn(tmp_path):
    """A client that sends no Content-Length (chunked) is stopped at the cap while its body
    is read, on a real gunicorn worker, which keeps serving."""
    import re

    import requests
    from portal_testlib import PASSWORD, gunicorn_server

    settings = make_settings(tmp_path, max_upload_mb=1)
    build_app(settings)
    server = gunicorn_server(settings, workers=2)
    try:
        with requests.Session() as web:
            token = re.search(r'name="csrf_token" value="([^"]+)"', web.get(f"{server.url}/login").text).group(1)
            web.post(f"{server.url}/login", data={"email": "admin@alpha.test", "password": PASSWORD,
                                                   "csrf_token": token}, allow_redirects=False)
            web.get(f"{server.url}/")
            csrf = {"X-CSRFToken": web.cookies.get("_csrf_token")}

            def body(megabytes: int):
                for _ in range(megabytes * 4):
                    yield b"[" * (256 * 1024)

            def send(path: str, content_type: str) -> int | None:
                try:
                    # a connection of its own: the server closes one whose body it did not read to the end
                    return requests.post(f"{server.url}{path}", data=body(3), timeout=120, cookies=web.cookies,
                                         headers={**csrf, "Content-Type": content_type,
                                                  "X-Filename": "big.csv"}).status_code
                except requests.ConnectionError:  # answered before the client finished sending
                    return None

            assert send("/_dash-update-component", "application/json") in (400, 413, None)
            assert send("/upload", "application/octet-stream") in (413, None)
            def logged_statuses() -> dict[str, int]:
                lines = [json.loads(line) for line in server.output().splitlines() if line.startswith("{")]
                return {e["path"]: e["status"] for e in lines if e.get("event") == "request" and e.get("method") == "POST"}

            deadline = time.monotonic() + 30
            while not {"/_dash-update-component", "/upload"} <= set(logged_statuses()) and time.monotonic() < deadline:
                time.sleep(0.2)  # the log line is written after the answer
            statuses = logged_statuses()
            # the callback body was cut at 1 MB (too deep / too large), the upload at MAX_UPLOAD_MB
            assert statuses["/_dash-update-component"] in (400, 413) and statuses["/upload"] == 413
            assert web.get(f"{server.url}/healthz", timeout=10).status_code == 200  # the workers keep serving
    finally:
        server.stop()
