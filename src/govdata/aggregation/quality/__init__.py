"""Quality of the department pools (Art. 20): measured after every load, read per pool, per
department and for the bureau.

Art. 20 ¶1 has the city bureau supervise the quality of government data; ¶2 makes each
department answerable for its own. So a department's officers and head read their own
department's quality, a district bureau its region's, the city bureau and auditors everything;
the overview of many departments is for the bureaus and auditors only.

Five measures, each a ratio from 0 to 1:

* **completeness** — filled cells / (rows × items) of the pool's current data; NULL is empty, and
  so is a text value that is blank after trimming. Per-item fill rates are kept in
  ``details["items"]``. A pool without rows has no filled cell: 0.
* **validity** — good rows / rows read, for the load just installed: ``(rows_read − rows_bad) /
  rows_read``. Duplicates are good rows (they count against uniqueness, not validity), so this
  equals ``rows_loaded / rows_read`` for a file without duplicates. A file without data rows has
  nothing invalid: 1. Measured without a load (a re-measurement), the previous snapshot's
  validity is carried (``details["validity_basis"] = "carried"``), or 1 when there is none.
* **uniqueness** — distinct subject keys / rows in the file before the pipeline's de-duplication:
  ``rows_loaded / (rows_loaded + duplicates_removed)``. Without a load the previous value is
  carried as for validity. A pool without a subject key (Art. 16 requires one only for persons
  and legal persons) is measured on its data instead: distinct whole rows / rows.
* **consistency** — agreement with the base databases (Art. 16 一数一源, Art. 17 ¶2), from
  ``base.consistency_with_base``; None when no base database takes the pool's items.
* **timeliness** — against the responsibility list (Art. 13, 16, 18): a resource the department
  must collect is late when its pool was last loaded more calendar days ago than its update cycle
  allows (``UpdateCycle.max_days``); never loaded is 未汇聚 and late; an irregular cycle is never
  late. Computed when read, not stored, since it changes with the date.

Everything over the data tables is one set-based statement (counts and ``COUNT(DISTINCT …)``),
the same on SQLite and PostgreSQL.

The package, by seam: ``measure`` (after a load, or again), ``timeliness`` and ``reports`` (a
pool's trend, a department's page, the overview). Who reads what is in ``aggregation.policy``.
"""

from __future__ import annotations

from govdata.aggregation.quality.measure import measure, remeasure
from govdata.aggregation.quality.reports import (
    LATE_LISTED,
    WORST_POOLS,
    CityQuality,
    DepartmentQuality,
    DepartmentSummary,
    Metrics,
    PoolQuality,
    TrendPoint,
    city_quality,
    department_quality,
    get_pool,
    trend,
)
from govdata.aggregation.quality.timeliness import Timeliness, pool_timeliness, timeliness

__all__ = [
    "LATE_LISTED",
    "WORST_POOLS",
    "CityQuality",
    "DepartmentQuality",
    "DepartmentSummary",
    "Metrics",
    "PoolQuality",
    "Timeliness",
    "TrendPoint",
    "city_quality",
    "department_quality",
    "get_pool",
    "measure",
    "pool_timeliness",
    "remeasure",
    "timeliness",
    "trend",
]
