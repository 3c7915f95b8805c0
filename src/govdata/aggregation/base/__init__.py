"""Base databases (基础数据库, Art. 16, 17 ¶2, 18, 25(2)): natural persons, legal persons,
natural resources and geospatial features, electronic licences.

Each base database is led by one department (牵头建设部门, Art. 17 ¶2), which defines its base
items. Every base item has exactly one authoritative source (一数一源, Art. 16): an info item of
one published resource, i.e. a column of that resource's pool. Building merges the authoritative
sources by subject key into one table ``base_<kind>``:

* ``subject_key`` VARCHAR(64) PRIMARY KEY — 公民身份号码, 统一社会信用代码, 要素代码 or 证照编号;
* for each base item id N, ``v<N>`` TEXT (the value, as canonical text) and ``l<N>`` INTEGER (the
  load that wrote it: the provenance, Load → pool → resource, department, finished_at).

A value from a non-authoritative source never overrides the authoritative one; where another
department's pool holds the same item for the same subject with a different value, that
disagreement becomes a ``BaseConflict`` in the city bureau's quality queue (Art. 16, 20).

The package, by seam: ``definitions`` (setting up a base, its items and their sources),
``engine`` (building, and following loads and corrections, Art. 18), ``staleness`` (a base
that missed a load), ``conflicts`` (finding them, the quality queue), ``records`` (a subject's
record with provenance), ``consistency`` (the quality measure). This module is their public
face; who may do what is in ``aggregation.policy``, what bases and thematic databases share in
``aggregation.subjects``.
"""

from __future__ import annotations

from govdata.aggregation.base.conflicts import (
    AUTO_CLOSE_NOTE,
    MAX_BULK,
    ConflictInfo,
    count_conflicts,
    describe_conflicts,
    list_conflicts,
    resolve_conflict,
    resolve_conflicts,
)
from govdata.aggregation.base.consistency import consistency_with_base
from govdata.aggregation.base.definitions import (
    ItemView,
    SourceOption,
    add_item,
    define_base,
    describe_items,
    find_source_options,
    get_base,
    list_bases,
    remove_item,
    set_lead,
    set_source,
    source_options,
)
from govdata.aggregation.base.engine import build, rebuild_after_load, refresh_subject
from govdata.aggregation.base.previews import (
    BuildPreview,
    RemovePreview,
    build_preview,
    remove_item_preview,
)
from govdata.aggregation.base.records import BaseRecord, Provenance, RecordValue, record
from govdata.aggregation.base.staleness import mark_stale
from govdata.aggregation.subjects import base_table, items_of

__all__ = [
    "AUTO_CLOSE_NOTE",
    "MAX_BULK",
    "BaseRecord",
    "BuildPreview",
    "ConflictInfo",
    "ItemView",
    "Provenance",
    "RecordValue",
    "RemovePreview",
    "SourceOption",
    "add_item",
    "base_table",
    "build",
    "build_preview",
    "consistency_with_base",
    "count_conflicts",
    "define_base",
    "describe_conflicts",
    "describe_items",
    "find_source_options",
    "get_base",
    "items_of",
    "list_bases",
    "list_conflicts",
    "mark_stale",
    "rebuild_after_load",
    "record",
    "refresh_subject",
    "remove_item",
    "remove_item_preview",
    "resolve_conflict",
    "resolve_conflicts",
    "set_lead",
    "set_source",
    "source_options",
]
