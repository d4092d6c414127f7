"""Saved views: a named filter state of a page, private to its owner or shared
with the tenant.  Every function takes the caller's context; a view of another
tenant (or another user's private view) does not exist for the caller.

Saving and sharing need the manager role; only the owner or an admin of the
tenant may change or delete a view.  The state is ``{"query": "?..."}``: the
page's query string, which holds its filters and options.

A view is opened by its unguessable token, ``/v/<token>`` (256 random bits): the
server finds the view within the caller's tenant (their own or shared) and
redirects to its page and filters.  A token of another tenant, of a colleague's
private view or of no view at all gets the same 404 from the same query, so a
link cannot be used to probe other tenants' views; and a link to a view never
shows the opener their own data under someone else's filters by mistake."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from flask import Flask, abort, redirect
from sqlalchemy import or_, select

from ..platform.accounts import AccountError, audit
from ..platform.db import session_scope
from ..platform.models import SavedView, User, utcnow
from ..platform.tenancy import PortalContext, current_context
from .links import LinkError, canonical_page, canonical_query, page_link, safe_page_link

MAX_STATE_CHARS = 20_000


@dataclass(frozen=True)
class ViewInfo:
    id: int
    name: str
    page: str
    state: dict[str, Any]
    shared: bool
    mine: bool
    owner_email: str | None = None
    updated_at: Any = None
    token: str = ""

    @property
    def href(self) -> str:
        """The link that opens (and shares) the view: ``/v/<token>``."""
        return f"/v/{self.token}"

    @property
    def target(self) -> str:
        """Where the view leads: its page and saved query string, checked again when
        used (a row written before the check existed, or by hand, cannot leave the portal)."""
        return safe_page_link(self.page, self.state.get("query") or "", fallback="/views")

    @property
    def valid(self) -> bool:
        """Whether the stored page and query are a page of the portal (see :attr:`href`)."""
        try:
            page_link(self.page, self.state.get("query") or "")
        except LinkError:
            return False
        return True


def _info(view: SavedView, ctx: PortalContext, owner_email: str | None = None) -> ViewInfo:
    return ViewInfo(view.id, view.name, view.page, dict(view.state), view.shared, view.owner_id == ctx.user_id,
                    owner_email, view.updated_at, view.token or "")


def save_view(ctx: PortalContext, page: str, name: str, state: dict[str, Any], *, shared: bool = False) -> ViewInfo:
    """Create or overwrite the caller's view ``name`` of ``page``."""
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise AccountError("A view needs a name of at most 120 characters.")
    if len(json.dumps(state)) > MAX_STATE_CHARS:
        raise AccountError("This view's filter state is too large to save.")
    if not ctx.has_role("manager"):
        raise AccountError("Saving and sharing views needs the manager role.")
    try:
        page = canonical_page(page)
        state = {"query": canonical_query(state.get("query") or "")}  # nothing else is kept
    except LinkError as exc:
        raise AccountError(str(exc)) from exc
    with session_scope() as session:
        view = session.scalars(select(SavedView).where(
            SavedView.tenant_id == ctx.tenant_id, SavedView.owner_id == ctx.user_id,
            SavedView.page == page, SavedView.name == name)).one_or_none()
        if view is None:
            view = SavedView(tenant_id=ctx.tenant_id, owner_id=ctx.user_id, page=page, name=name)
            session.add(view)
        view.state, view.shared, view.updated_at = state, shared, utcnow()
        session.flush()
        audit(session, "view_saved", tenant_id=ctx.tenant_id, user_id=ctx.user_id,
              detail={"view_id": view.id, "page": page, "name": name})
        if shared:
            audit(session, "share", tenant_id=ctx.tenant_id, user_id=ctx.user_id,
                  detail={"view_id": view.id, "page": page, "name": name})
        return _info(view, ctx)


def list_views(ctx: PortalContext, page: str | None = None) -> list[ViewInfo]:
    """The caller's views and the views shared in the tenant (of ``page``, or all pages)."""
    with session_scope() as session:
        query = select(SavedView, User.email).join(User, User.id == SavedView.owner_id).where(
            SavedView.tenant_id == ctx.tenant_id,
            or_(SavedView.owner_id == ctx.user_id, SavedView.shared.is_(True)),
        )
        if page is not None:
            query = query.where(SavedView.page == page)
        rows = session.execute(query.order_by(SavedView.page, SavedView.name))
        return [_info(view, ctx, email) for view, email in rows]


MAX_TOKEN_CHARS = 64


def find_by_token(ctx: PortalContext, token: object) -> ViewInfo | None:
    """The view of ``token`` if the caller may open it (their tenant; theirs or shared), else None.

    One query for every case, so a foreign token and a made-up one cannot be told apart."""
    if not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN_CHARS:
        return None
    with session_scope() as session:
        view = session.scalars(select(SavedView).where(
            SavedView.token == token, SavedView.tenant_id == ctx.tenant_id,
            or_(SavedView.owner_id == ctx.user_id, SavedView.shared.is_(True)))).one_or_none()
        return _info(view, ctx) if view is not None else None


def init_view_links(app: Flask) -> None:
    """``GET /v/<token>``: open a saved view (login required, like every page)."""

    @app.get("/v/<token>")
    def open_saved_view(token: str):
        view = find_by_token(current_context(), token)
        if view is None:
            abort(404, description="No such saved view.")
        return redirect(view.target, code=302)


def update_view(ctx: PortalContext, view_id: int, *, name: str | None = None, shared: bool | None = None) -> ViewInfo:
    """Rename or (un)share a view: its owner, or an admin of the tenant."""
    with session_scope() as session:
        view = _editable(session, ctx, view_id)
        if name is not None:
            name = name.strip()
            if not name or len(name) > 120:
                raise AccountError("A view needs a name of at most 120 characters.")
            view.name = name
        if shared is not None:
            if shared and not ctx.has_role("manager"):
                raise AccountError("Sharing a view needs the manager role.")
            view.shared = bool(shared)
        view.updated_at = utcnow()
        session.flush()
        audit(session, "view_saved", tenant_id=ctx.tenant_id, user_id=ctx.user_id,
              detail={"view_id": view.id, "page": view.page, "name": view.name, "shared": view.shared})
        return _info(view, ctx)


def _editable(session, ctx: PortalContext, view_id: int) -> SavedView:
    view = session.get(SavedView, int(view_id))
    allowed = view is not None and view.tenant_id == ctx.tenant_id and (
        view.owner_id == ctx.user_id or ctx.has_role("admin"))
    if not allowed:
        raise AccountError("No such view.")
    return view


def delete_view(ctx: PortalContext, view_id: int) -> None:
    """Delete one of the caller's views (admins: any view of their tenant)."""
    with session_scope() as session:
        view = _editable(session, ctx, view_id)
        session.delete(view)
        audit(session, "view_deleted", tenant_id=ctx.tenant_id, user_id=ctx.user_id,
              detail={"view_id": view.id, "page": view.page, "name": view.name})
