"""Links built from stored or submitted values: only pages of this app.

A saved view, a ``next=`` target or a "Clear filters" link comes from the
browser or from the database.  Each is reduced to a known page path of the
Dash app plus a query string that is parsed and re-encoded here, so nothing
stored can send a colleague to another site (``//evil.example``,
``/\\/evil.example``, tabs or newlines that browsers strip, ``javascript:``).
"""
from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

MAX_QUERY_CHARS = 8_192  # as filters.MAX_QUERY_LENGTH


class LinkError(ValueError):
    """A path or query that is not a page of the portal."""


def page_paths() -> frozenset[str]:
    """Paths of the registered Dash pages (``/``, ``/segments``, ...)."""
    import dash  # deferred: dash's page registry is filled when the app is built

    return frozenset(str(page["path"]) for page in dash.page_registry.values())


def canonical_page(path: object) -> str:
    """``path`` when it is exactly a page of the app; otherwise :class:`LinkError`."""
    if not isinstance(path, str) or path not in page_paths():
        raise LinkError("A view belongs to a page of the portal; this path is not one.")
    return path


def canonical_query(query: object) -> str:
    """The query string parsed and re-encoded (``?a=1&b=x+y``), or ``""``.

    Control characters are refused: they are never part of a filter value."""
    if query is None or query == "":
        return ""
    if not isinstance(query, str) or len(query) > MAX_QUERY_CHARS:
        raise LinkError("This view's filters are not a query string of the portal.")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in query):
        raise LinkError("This view's filters contain control characters.")
    pairs = parse_qsl(query.removeprefix("?"), keep_blank_values=False)
    return "?" + urlencode(pairs) if pairs else ""


def page_link(path: object, query: object = "") -> str:
    """A same-site link to a page of the app: the canonical page plus the canonical query."""
    return canonical_page(path) + canonical_query(query)


def safe_page_link(path: object, query: object = "", fallback: str = "/") -> str:
    """:func:`page_link`, or ``fallback`` for anything that is not a page of the app."""
    try:
        return page_link(path, query)
    except LinkError:
        return fallback
