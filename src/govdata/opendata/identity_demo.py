"""The demo city's open-data identities (``govdata demo``): the demo citizen and company get
a checked identity (Art. 33 ¶3) and the citizen a developer key, so that the portal's
downloads and the CKAN API can be tried at once. Idempotent: a second run changes nothing.

The numbers are made-up, checksum-correct values (``core.ids``), not real persons.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.core.crypto import subject_digest
from govdata.core.ids import make_id_number, make_uscc
from govdata.opendata.keys import issue_key
from govdata.opendata.models import DeveloperKey
from govdata.org.models import Person

DEMO_ID_NUMBER = make_id_number("500103", date(1985, 5, 5), 88)
DEMO_USCC = make_uscc("91500103MA60DEM01")
DEMO_KEY_NAME = "演示密钥"


@dataclass(frozen=True)
class DemoIdentity:
    checked: tuple[str, ...]  # usernames given an identity by this run
    key_secret: str | None  # the demo key, shown once (None: it exists already)


def load_demo_identity(session: Session) -> DemoIdentity | None:
    """None when the demo accounts are not there (no ``govdata demo`` org data)."""
    people = {
        p.username: p
        for p in session.scalars(
            select(Person).where(Person.username.in_(("demo.citizen", "demo.company")))
        )
    }
    citizen = people.get("demo.citizen")
    if citizen is None:
        return None
    checked: list[str] = []
    for username, number in (("demo.citizen", DEMO_ID_NUMBER), ("demo.company", DEMO_USCC)):
        person = people.get(username)
        digest = subject_digest(number)
        if person is None or person.identity_digest:
            continue
        if session.scalar(select(Person.id).where(Person.identity_digest == digest)):
            continue  # one identity, one account
        person.identity_digest = digest
        checked.append(username)
    has_key = session.scalar(
        select(DeveloperKey.id).where(
            DeveloperKey.person_id == citizen.id, DeveloperKey.name == DEMO_KEY_NAME
        )
    )
    secret = None if has_key else issue_key(session, citizen.id, DEMO_KEY_NAME).secret
    session.flush()
    return DemoIdentity(tuple(checked), secret)
