"""Chinese full-text search over the published catalog (being built: see the catalog issue)."""

from __future__ import annotations

from sqlalchemy.orm import Session


def reindex(session: Session, resource_ids: list[int]) -> None:
    """Bring the search index in line with the published revisions of ``resource_ids``."""
    del session, resource_ids
