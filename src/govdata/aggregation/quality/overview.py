"""The overview's department table (Art. 20 ¶1), as a supervisor narrows it (issue 16): about
280 departments have resources to collect, most of which have loaded nothing yet, so their
quality columns are empty.

``arrange`` hides departments with no data (nothing loaded, nothing measured) unless all are
asked for (their late resources stay in the overview's timeliness table), keeps those whose name
contains the search text, and sorts: by name (code order), lowest score first, most late
resources first, or largest responsibility list first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from govdata.aggregation.quality.reports import DepartmentSummary

SORTS = {
    "name": "按部门",
    "score": "得分最低在前",
    "late": "超期最多在前",
    "responsible": "负责资源最多在前",
}


def has_data(d: DepartmentSummary) -> bool:
    """A department with quality figures: a pool loaded or measured."""
    return bool(d.loaded or d.measured)


@dataclass(frozen=True)
class Arranged:
    rows: list[DepartmentSummary]
    total: int  # departments in the actor's scope
    with_data: int  # of those, with data (``has_data``)


def arrange(
    departments: Sequence[DepartmentSummary],
    *,
    q: str = "",
    sort: str = "name",
    show_all: bool = False,
) -> Arranged:
    needle = q.strip()
    rows = [
        d
        for d in departments
        if (show_all or has_data(d)) and (not needle or needle in d.name or needle in d.code)
    ]
    if sort == "score":
        rows.sort(key=lambda d: (d.averages.score is None, d.averages.score or 0.0, d.code))
    elif sort == "late":
        rows.sort(key=lambda d: (-d.late, d.code))
    elif sort == "responsible":
        rows.sort(key=lambda d: (-d.responsible, d.code))
    else:
        rows.sort(key=lambda d: d.code)
    return Arranged(rows, len(departments), sum(1 for d in departments if has_data(d)))
