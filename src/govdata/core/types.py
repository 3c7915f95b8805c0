"""Bounded scalar types for every edge (API parameters and bodies).

Database ids are 32-bit on PostgreSQL (``integer``) and 64-bit on SQLite: an unbounded integer
from a client would reach the driver and fail there. Bounding it at the edge makes it a 422.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from annotated_types import Ge, Le

MAX_DB_ID = 2**31 - 1

DbId = Annotated[int, Ge(1), Le(MAX_DB_ID)]
Offset = Annotated[int, Ge(0), Le(MAX_DB_ID)]

# A date a client filters by: far years would overflow when turned into a Beijing-time instant
# (year 1 minus 8 hours), so they are a 422 at the edge.
FilterDate = Annotated[date, Ge(date(1900, 1, 1)), Le(date(9998, 12, 31))]
