"""The demo's signing keys (Art. 28), made through ``sharing.keys``: the provider of the
e-licence base database ``base.licence`` (证照类 by its nature) has a key, made by the city
bureau; 市公安局's head made a key and rotated it once, so the keys page shows a retired key
next to the current one.

Defining ``base.licence`` is the city bureau's (``aggregation.base.define_base``); the demo
city's aggregation step builds only the person and legal entity bases, so when there is no
licence base yet the demo defines it (empty, not built) with the city bureau's own department
as its lead (it runs the city's e-licence library).

The keys are made now and then moved to the story's days (made months ago, the old key retired
weeks ago): no signature exists yet, so no verification depends on the exact times.
"""

from __future__ import annotations

from sqlalchemy import select

from govdata.aggregation import base
from govdata.aggregation.models import BaseDatabase, BaseKind
from govdata.org.models import Department
from govdata.sharing import keys
from govdata.sharing.demo.workflow import World, at, department_head
from govdata.sharing.models import SigningKey

__all__ = ["LICENCE_LEAD", "ROTATED", "licence_provider", "make_keys"]

LICENCE_LEAD = "市大数据应用发展管理局"
ROTATED = "市公安局"


def licence_provider(w: World) -> Department | None:
    """The lead department of ``base.licence``, defined by the city bureau if need be."""
    lead_id = w.session.scalar(
        select(BaseDatabase.lead_department_id).where(BaseDatabase.kind == BaseKind.LICENCE.value)
    )
    if lead_id is None:
        lead = w.session.scalar(select(Department).where(Department.name == LICENCE_LEAD))
        if lead is None:
            return None
        base.define_base(w.session, w.city, BaseKind.LICENCE, lead_department_id=lead.id)
        lead_id = lead.id
    return w.session.get(Department, lead_id)


def make_keys(w: World) -> list[SigningKey]:
    """The keys made (the licence provider's; the rotated department's old and new)."""
    made: list[SigningKey] = []
    provider = licence_provider(w)
    if provider is not None and keys.current_key(w.session, provider.id) is None:
        key = keys.create(w.session, w.city, provider.id)
        key.created_at = at(w.day(150), 9, 0)
        made.append(key)
    dept = w.session.scalar(select(Department).where(Department.name == ROTATED))
    if dept is not None and keys.current_key(w.session, dept.id) is None:
        w.depts.setdefault(dept.name, dept)
        head = department_head(w, dept.name)
        old = keys.create(w.session, head, dept.id)
        new = keys.rotate(w.session, head, dept.id)
        w.session.refresh(old)
        old.created_at = at(w.day(120), 9, 0)
        old.retired_at = new.created_at = at(w.day(30), 17, 0)
        made += [old, new]
    w.session.flush()
    return made
