"""Helpers for the community tests: a published release built straight from a pool with the
``store`` module, masking applied here (the release builder lives in another part), and an
identified public person made fresh for a test."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.aggregation import pools
from govdata.aggregation.models import Pool
from govdata.core.actor import Actor, RoleGrant
from govdata.core.crypto import hash_password, subject_digest
from govdata.core.db import utcnow
from govdata.opendata import store
from govdata.opendata.models import OpenDataset, Release, ReleaseStatus
from govdata.org.models import Person, RoleAssignment
from tests.world import PASSWORD

# Item → (keep first, keep last) characters; items not named are released as they are.
MASKS = {"公民身份号码": (4, 4), "姓名": (1, 0)}


def mask(value: Any, first: int, last: int) -> Any:
    if value is None:
        return None
    text = str(value)
    hidden = max(len(text) - first - last, 1)
    return text[:first] + "*" * hidden + (text[len(text) - last :] if last else "")


def publish_release(session: Session, dataset: OpenDataset, pool: Pool) -> Release:
    """Release the dataset's open items (``dataset.items``) from the pool, masked by ``MASKS``,
    as its published release."""
    names = [i["name"] for i in dataset.items]
    by_name = {c["name"]: c for c in pool.columns}
    version = 1 + len(
        list(session.scalars(select(Release.id).where(Release.dataset_id == dataset.id)))
    )
    release = Release(
        dataset_id=dataset.id,
        version=version,
        status=ReleaseStatus.PUBLISHED.value,
        columns=[
            store.released_column(
                i, n, "C" if n in MASKS else str(by_name[n].get("data_type", "C"))
            )
            for i, n in enumerate(names)
        ],
        published_at=utcnow(),
    )
    session.add(release)
    session.flush()
    conn = session.connection()
    store.create_table(conn, release)
    table = pools.current_table(pool)
    assert table is not None
    rows = []
    for r in session.execute(select(*(table.c[by_name[n]["column"]] for n in names))):
        rows.append(
            tuple(mask(v, *MASKS[n]) if n in MASKS else v for n, v in zip(names, r, strict=True))
        )
    store.insert_rows(conn, release, rows, first_row=1)
    release.row_count = len(rows)
    dataset.current_release_id = release.id
    session.flush()
    return release


def identified_person(session: Session, username: str, identity: str) -> Actor:
    """A new public account with a checked identity (Art. 33 ¶3), password ``PASSWORD``."""
    from govdata.core.actor import Role

    person = Person(
        username=username,
        name="新用户",
        kind="public",
        password_hash=hash_password(PASSWORD),
        identity_digest=subject_digest(identity),
    )
    session.add(person)
    session.flush()
    session.add(RoleAssignment(person_id=person.id, role=Role.CITIZEN.value))
    session.flush()
    return Actor(person_id=person.id, name=person.name, grants=(RoleGrant(Role.CITIZEN),))
