"""Offset pagination shared by lists in pages and the API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

T = TypeVar("T")
S = TypeVar("S", bound=BaseModel)

MAX_LIMIT = 200


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    offset: int
    limit: int

    @property
    def has_next(self) -> bool:
        return self.offset + self.limit < self.total

    @property
    def has_prev(self) -> bool:
        return self.offset > 0


class PageOut(BaseModel, Generic[T]):
    items: list[T]
    total: int
    offset: int
    limit: int


def paginate(session: Session, stmt: Select[Any], offset: int, limit: int) -> Page[Any]:
    offset = max(offset, 0)
    limit = min(max(limit, 1), MAX_LIMIT)
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    items = list(session.scalars(stmt.offset(offset).limit(limit)))
    return Page(items=items, total=total, offset=offset, limit=limit)


def page_out(page: Page[Any], schema: type[S]) -> PageOut[S]:
    """A service's page of rows as the API's page of ``schema``."""
    return PageOut[schema](  # type: ignore[valid-type]
        items=[schema.model_validate(item) for item in page.items],
        total=page.total,
        offset=page.offset,
        limit=page.limit,
    )
