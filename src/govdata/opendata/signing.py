"""Signed records of open datasets (Art. 34; Art. 28 for what a document's signature means).

A dataset whose resource is designated a document, licence or contract in the sharing system
(``sharing.signing.document_class``: the same designation, by the same code) delivers a record
of its published release signed by its providing department's SM2 key, in the envelope sharing
signs (decision 0016), so that it verifies on ``/verify``, by ``POST /api/v1/sharing/verify``
and by ``govdata verify``. The signed document names the dataset, the release and the row, and
holds the released record only: the entitlement (``may_obtain``) decides who gets it and which
items (a conditional dataset's granted items), and the read is recorded (Art. 40).

A *key* here is a record's row number in the current release (``_row``, 1…n): released
subject keys are desensitized, so they cannot address a record.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.core.actor import Actor
from govdata.core.errors import NotFound
from govdata.opendata import datasets, errors, store
from govdata.opendata.access import record_open_access
from govdata.opendata.entitlement import may_obtain
from govdata.opendata.models import OpenDataset, Release, ReleaseStatus
from govdata.sharing import signing as sharing_signing

ACTION = "opendata.signed_record"


class NotADocument(NotFound):
    def __init__(self) -> None:
        super().__init__(
            "opendata.not_a_document",
            "该数据集不属于文书类、证照类或合同类数据，不提供签名文书。",
        )


class RecordNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("opendata.record_not_found", "该数据发布版本中没有这条记录。")


def is_document(session: Session, dataset: OpenDataset) -> bool:
    return sharing_signing.document_class(session, dataset.code) is not None


def current_release(session: Session, dataset: OpenDataset) -> Release:
    release = (
        session.get(Release, dataset.current_release_id)
        if dataset.current_release_id is not None
        else None
    )
    if release is None or release.status != ReleaseStatus.PUBLISHED.value:
        raise errors.NoRelease()
    return release


def signed_record(
    session: Session, actor: Actor | None, dataset_code: str, row: int
) -> dict[str, Any]:
    """The signed envelope of one released record (Art. 34). Refusals, in order: the dataset
    (404), not a document (404), the entitlement (401/403, Art. 33), no release or no such row
    (404), no signing key (503: never delivered unsigned as if signed). A department system's
    token is refused first (403), whatever it names."""
    if actor is not None and actor.token_id is not None:
        raise errors.PeopleOnly()
    dataset = datasets.get_dataset(session, dataset_code)
    cls = sharing_signing.document_class(session, dataset.code)
    if cls is None:
        raise NotADocument()
    entitled = may_obtain(session, actor, dataset)
    release = current_release(session, dataset)
    columns = [c for c in release.columns if entitled.items is None or c["name"] in entitled.items]
    table = store.table_of(release)
    found = session.execute(
        select(*(table.c[c["column"]] for c in columns)).where(table.c[store.ROW_COLUMN] == row)
    ).first()
    if found is None:
        raise RecordNotFound()
    document = {
        "dataset": dataset.code,
        "dataset_name": dataset.name,
        "provider": dataset.department_name,
        "document_class": cls.value,
        "release": release.version,
        "row": row,
        "application_id": entitled.application_id,
        "record": {c["name"]: found[i] for i, c in enumerate(columns)},
    }
    envelope = sharing_signing.sign_delivery(
        session,
        department_id=dataset.department_id,
        payload=document,
        source_code=dataset.code,
        grant_id=None,
    )
    record_open_access(
        session,
        entitled.actor,
        dataset,
        ACTION,
        rows=1,
        fields=[c["name"] for c in columns],
    )
    return envelope
