"""The published resources departments collect (not thematic ones, Art. 17 ¶3), kept between
requests while the published catalog is unchanged (issue 16).

The base pages (which resources may be a base's source) and repeated collection (Art. 50(3))
read every published resource with its info items: about 0.3 s for the demo's 2,800 resources,
on every request. The listing depends only on the published revisions (frozen once submitted),
withdrawal requests and department names; ``published.listing_state`` hashes exactly those, so
the kept listing is used only while the hash is unchanged. One listing per process.
"""

from __future__ import annotations

import threading

from sqlalchemy.orm import Session

from govdata.catalog import published
from govdata.catalog.published import PublishedResource
from govdata.catalog.vocab import Category

_lock = threading.Lock()
_kept: dict[int, list[PublishedResource]] = {}  # at most one entry: the state -> the listing


def resources(session: Session) -> list[PublishedResource]:
    """Published, non-thematic resources in code order (``published.listing``); a new list each
    call (the kept one is never handed out to be changed)."""
    state = hash((str(session.get_bind().engine.url), published.listing_state(session)))
    with _lock:
        kept = _kept.get(state)
    if kept is not None:
        return list(kept)
    listing = published.listing(session, exclude_category=Category.THEMATIC)
    with _lock:
        _kept.clear()
        _kept[state] = listing
    return list(listing)
