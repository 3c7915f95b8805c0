"""The published resources departments collect (not thematic ones, Art. 17 ¶3), with their data
table layouts, kept between requests while the published catalog is unchanged (issue 16).

The base pages (which resources may be a base's source) and repeated collection (Art. 50(3))
read every published resource with its info items and ask which fit a base: about 0.3 s for the
demo's 2,800 resources and as much again for their layouts, on every request. The listing
depends only on the published revisions (frozen once submitted), withdrawal requests and
department names; ``published.listing_state`` hashes exactly those (with the database's URL),
so the kept listing is used only while the hash is unchanged. One listing per process.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from govdata.aggregation import pools
from govdata.aggregation.models import BaseKind
from govdata.aggregation.pools import Layout
from govdata.aggregation.subjects import fits
from govdata.catalog import published
from govdata.catalog.published import PublishedResource
from govdata.catalog.vocab import Category


@dataclass
class Collected:
    """The listing and the layouts for one state of the published catalog."""

    resources: list[PublishedResource]
    layouts: list[Layout]
    _fitting: dict[str, list[int]] = field(default_factory=dict)  # base kind -> indices

    def fitting(self, kind: BaseKind | str) -> list[tuple[PublishedResource, Layout]]:
        """Those of ``resources`` whose subject key fits a base of ``kind`` (Art. 16), each
        with its data table layout (``pools.layout``; not to be changed), in code order."""
        key = BaseKind(kind).value
        with _lock:
            found = self._fitting.get(key)
        if found is None:
            found = [i for i, (cols, sk) in enumerate(self.layouts) if fits(key, cols, sk)]
            with _lock:
                self._fitting[key] = found
        return [(self.resources[i], self.layouts[i]) for i in found]


_lock = threading.Lock()
_kept: dict[int, Collected] = {}  # at most one entry: the state -> what was computed for it


def current(session: Session) -> Collected:
    """What is kept for the published catalog as ``session`` sees it now (computed if the
    catalog changed). Callers read it and never change it."""
    state = hash((str(session.get_bind().engine.url), published.listing_state(session)))
    with _lock:
        kept = _kept.get(state)
    if kept is not None:
        return kept
    listing = published.listing(session, exclude_category=Category.THEMATIC)
    kept = Collected(listing, [pools.layout(r) for r in listing])
    with _lock:
        _kept.clear()
        _kept[state] = kept
    return kept
