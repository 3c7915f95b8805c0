"""Open data's permission rules (Ch. 5), each with its article.

Browsing the portal needs no sign-in (Art. 29, 32: the open catalog is public). Obtaining data
needs identity authentication (Art. 33 ¶3): a public account whose real-name identity was
checked (``Person.identity_digest`` set) or a staff account. Conditionally open data needs an
approved application in force (Art. 33 ¶2). The providing department manages its datasets'
releases and answers their applications and correction requests (Art. 31, 32 ¶2, 33 ¶2);
the city bureau oversees all of them (Art. 6, 29); auditors read them all and district bureaus
their districts' departments', without answering (Art. 6 ¶2, 41, 49).
"""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from govdata.core.actor import Actor, Role
from govdata.opendata import errors
from govdata.org.models import Department, Person
from govdata.org.policy import sees_everything

STAFF_OF_DEPARTMENT = (Role.DEPARTMENT_OFFICER, Role.DEPARTMENT_HEAD)


def is_bureau(actor: Actor | None) -> bool:
    return actor is not None and actor.has(Role.CITY_BUREAU_ADMIN)


def is_provider(actor: Actor | None, department_id: int) -> bool:
    """Art. 31, 33 ¶2: the department that provides the dataset (its officer or head)."""
    return actor is not None and department_id in actor.department_ids(*STAFF_OF_DEPARTMENT)


def oversees_all(actor: Actor | None) -> bool:
    """Reads every application and correction request: the city bureau (Art. 29) and
    auditors, read-only (Art. 41, 49)."""
    return actor is not None and sees_everything(actor)


def overseen_departments(actor: Actor) -> Select[int] | None:
    """A district bureau reads, without answering, what its districts' departments are asked
    (Art. 6 ¶2, 49): their ids, or None for an actor that is no district bureau."""
    regions = actor.region_ids()
    if not regions:
        return None
    return select(Department.id).where(Department.region_id.in_(regions))


def can_manage(actor: Actor | None, department_id: int) -> bool:
    """Releases, rules and answers of a dataset: its provider, or the city bureau (Art. 29)."""
    return is_provider(actor, department_id) or is_bureau(actor)


def require_manage(actor: Actor, department_id: int) -> None:
    if not can_manage(actor, department_id):
        raise errors.NotProvider()


def identity_checked(session: Session, actor: Actor | None) -> bool:
    """Art. 33 ¶3: a public account whose real-name identity was checked (its identity digest
    recorded by ``identity``), or a staff account (identified by its department). A department
    system's token is not a user of the portal."""
    if actor is None or actor.person_id is None or actor.token_id is not None:
        return False
    if not actor.is_public:
        return bool(actor.roles)
    digest = session.scalar(select(Person.identity_digest).where(Person.id == actor.person_id))
    return bool(digest)


def require_person(actor: Actor | None) -> None:
    """A department system's token is refused outright on open data's own records (403
    ``opendata.people_only``): the portal's users are people (Art. 33 ¶3)."""
    if actor is not None and actor.token_id is not None:
        raise errors.PeopleOnly()


def require_identity(session: Session, actor: Actor | None) -> Actor:
    if actor is None or not identity_checked(session, actor):
        raise errors.IdentityRequired()
    return actor


def can_moderate(actor: Actor | None) -> bool:
    """Feedback and reuses are reviewed by the city bureau before they are shown (Art. 36)."""
    return is_bureau(actor)
