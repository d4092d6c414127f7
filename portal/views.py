"""Saved views: a named filter state of a page, private to its owner or shared
with the tenant.  Every function takes the caller's context; a view of another
tenant (or another user's private view) does not exist for the caller."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select

from .accounts import AccountError, audit
from .db import session_scope
from .models import SavedView, utcnow
from .tenancy import PortalContext

MAX_STATE_CHARS = 20_000


@dataclass(frozen=True)
class ViewInfo:
    id: int
    name: str
    page: str
    state: dict[str, Any]
    shared: bool
    mine: bool


def _info(view: SavedView, ctx: PortalContext) -> ViewInfo:
    return ViewInfo(view.id, view.name, view.page, dict(view.state), view.shared, view.owner_id == ctx.user_id)


def save_view(ctx: PortalContext, page: str, name: str, state: dict[str, Any], *, shared: bool = False) -> ViewInfo:
    """Create or overwrite the caller's view ``name`` of ``page``."""
    import json

    name = (name or "").strip()
    if not name or len(name) > 120:
        raise AccountError("A view needs a name of at most 120 characters.")
    if len(json.dumps(state)) > MAX_STATE_CHARS:
        raise AccountError("This view's filter state is too large to save.")
    if shared and not ctx.has_role("manager"):
        raise AccountError("Sharing a view needs the manager role.")
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


def list_views(ctx: PortalContext, page: str) -> list[ViewInfo]:
    """The caller's views of ``page`` and the views shared in the tenant."""
    with session_scope() as session:
        views = session.scalars(select(SavedView).where(
            SavedView.tenant_id == ctx.tenant_id, SavedView.page == page,
            or_(SavedView.owner_id == ctx.user_id, SavedView.shared.is_(True)),
        ).order_by(SavedView.name))
        return [_info(v, ctx) for v in views]


def delete_view(ctx: PortalContext, view_id: int) -> None:
    """Delete one of the caller's views (admins: any view of their tenant)."""
    with session_scope() as session:
        view = session.get(SavedView, int(view_id))
        allowed = view is not None and view.tenant_id == ctx.tenant_id and (
            view.owner_id == ctx.user_id or ctx.has_role("admin"))
        if not allowed:
            raise AccountError("No such view.")
        session.delete(view)
        audit(session, "view_deleted", tenant_id=ctx.tenant_id, user_id=ctx.user_id,
              detail={"view_id": view.id, "page": view.page, "name": view.name})
