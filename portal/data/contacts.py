"""Customers' e-mails and names (``customer_contacts``), read for campaign exports and search.

They exist only for a tenant whose admin chose to keep them (``store_personal_data``,
Settings page; written at import by :func:`portal.data.privacy.store_contacts`).
While the setting is off, nothing here returns a contact, even if rows were left;
turning it off deletes them (:mod:`portal.data.tenant_settings`).  Erasing a
customer deletes their row (:func:`portal.data.privacy.erase_customer`).

* :func:`contacts_table`: the tenant's contacts (for the CSV of a customer list);
* :func:`search_ids`: the stored customer ids a search query names: the hash of
  an e-mail (the id the import stored, kept or not) and, where contacts are
  kept, customers whose e-mail or name contains the query.
"""
from __future__ import annotations

import pandas as pd
from sqlalchemy import func, or_, select

from ..platform.db import session_scope
from ..platform.models import CustomerContact, Tenant
from ..platform.tenancy import PortalContext
from .privacy import customer_key, looks_like_email

#: At most this many customers found by e-mail or name for one search.
MAX_SEARCH_MATCHES = 1000


def keeps_contacts(ctx: PortalContext) -> bool:
    """True when the tenant's admin chose to store e-mails and names."""
    with session_scope() as session:
        tenant = session.get(Tenant, ctx.tenant_id)
        return bool(tenant is not None and tenant.store_personal_data)


def contacts_table(ctx: PortalContext) -> pd.DataFrame | None:
    """The tenant's contacts, index ``customer_id`` (str), columns ``email`` and ``name``;
    None when contacts are not kept (or none is stored)."""
    if not keeps_contacts(ctx):
        return None
    with session_scope() as session:
        rows = session.execute(select(CustomerContact.customer_id, CustomerContact.email, CustomerContact.name)
                               .where(CustomerContact.tenant_id == ctx.tenant_id)).all()
    if not rows:
        return None
    table = pd.DataFrame(rows, columns=["customer_id", "email", "name"]).set_index("customer_id")
    return table.astype(object).where(table.notna(), None)


def search_ids(ctx: PortalContext, query: str) -> set[str]:
    """Customer ids that ``query`` names beyond a match on the id itself (see the module).

    An e-mail is hashed like the stored ids for every role.  Matching text inside kept
    e-mails and names is for managers and admins only: a viewer who could search them could
    read them back a character at a time (``q=a@``, ``q=an@``, ...)."""
    query = str(query or "").strip()
    if not query:
        return set()
    found = {customer_key(ctx, query)} if looks_like_email(query) else set()
    if keeps_contacts(ctx) and ctx.has_role("manager"):
        pattern = "%" + query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        with session_scope() as session:
            found.update(session.scalars(
                select(CustomerContact.customer_id).where(
                    CustomerContact.tenant_id == ctx.tenant_id,
                    or_(func.lower(CustomerContact.email).like(pattern, escape="\\"),
                        func.lower(CustomerContact.name).like(pattern, escape="\\")))
                .order_by(CustomerContact.customer_id).limit(MAX_SEARCH_MATCHES)))
    return found
