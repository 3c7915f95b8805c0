"""The load pipeline (Art. 15–18): a file becomes a pool's current data, all at once or not at all.

``create_load`` checks who may load what and records the load (queued). ``execute`` runs it:
read in batches (``reading``), clean and validate each batch (``validation``), write the good
rows to a staging table (``writing``: binary ``COPY`` in a thread of its own on PostgreSQL,
batched inserts on SQLite), remove repeated subject keys (``duplicates``: the later row wins),
then install the staging table as the pool's
data (a full load) or merge it into the current data by subject key (an incremental load), in one
transaction with the load's outcome, its quality and its audit event.

Atomicity (DESIGN: nothing half-written):
* PostgreSQL: everything from the staging table's creation to the install is one transaction
  (its DDL is transactional). A killed load leaves nothing: the server rolls it back.
* SQLite: the staging table is filled in committed batches, so that one long load does not hold
  the database's single write lock for minutes (every sign-in writes). Readers never see it: the
  pool points to its table only at install. A load that fails drops its staging table at once;
  one whose process was killed is swept (``sweep``) by the next load and at start-up.

The bad-row policy is chosen per load: ``reject_file`` validates the whole file, reports every
problem and loads nothing if there is one; ``quarantine`` loads the good rows and keeps each bad
row, as read, with its problems. Either way the report lists row, item, code and message.

The package, by seam: ``service`` (creating, reading and sweeping loads), ``pipeline`` (running
one), ``install`` (making its table the pool's data). This module is their public face.
"""

from __future__ import annotations

from govdata.aggregation.loading.pipeline import (
    LoadProgress,
    Progress,
    execute,
)
from govdata.aggregation.loading.service import (
    STALE_AFTER,
    create_load,
    get_load,
    list_loads,
    remove_spool,
    spool_path,
    sweep,
)

__all__ = [
    "STALE_AFTER",
    "LoadProgress",
    "Progress",
    "create_load",
    "execute",
    "get_load",
    "list_loads",
    "remove_spool",
    "spool_path",
    "sweep",
]
