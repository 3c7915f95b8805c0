"""Thematic databases (主题数据库, Art. 17 ¶3, 18, 25(3)).

A department defines one declaratively (``definition.ThematicDefinition``): a base database (its
subjects are the rows), the base items and pool items to show, joined on the subject key, and
filters. It is materialized as a table of its own (``materialize``), follows its sources
(Art. 18), and is registered in the department's catalog list as a thematic resource
(``registration``). Who may define and read one is in ``aggregation.policy``.

Thematic databases read the base databases through ``aggregation.subjects`` only; the base
package calls ``refresh_for_base`` and ``mark_base_stale`` here, so the dependency runs one way.
"""

from __future__ import annotations

from govdata.aggregation.thematic.definition import (
    OPERATORS,
    Filter,
    PoolItem,
    ThematicColumn,
    ThematicDefinition,
)
from govdata.aggregation.thematic.materialize import (
    mark_base_stale,
    mark_stale,
    of_base,
    refresh,
    refresh_dependents,
    refresh_for_base,
)
from govdata.aggregation.thematic.reading import (
    RefreshPreview,
    RevealedThematicRow,
    ThematicRows,
    describe,
    get_thematic,
    list_thematic,
    refresh_preview,
    registered_resource,
    reveal_row,
    rows,
)
from govdata.aggregation.thematic.registration import define

__all__ = [
    "OPERATORS",
    "Filter",
    "PoolItem",
    "RefreshPreview",
    "RevealedThematicRow",
    "ThematicColumn",
    "ThematicDefinition",
    "ThematicRows",
    "define",
    "describe",
    "get_thematic",
    "list_thematic",
    "mark_base_stale",
    "mark_stale",
    "of_base",
    "refresh",
    "refresh_dependents",
    "refresh_for_base",
    "refresh_preview",
    "registered_resource",
    "reveal_row",
    "rows",
]
