"""Aggregation's domain errors are raised fresh: an instance made once and raised again collects
every raise's traceback and keeps its frames (and their sessions) alive."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType

import pytest
from sqlalchemy.orm import Session

from govdata.aggregation import corrections, pools, thematic
from govdata.core.errors import DomainError, NotFound
from tests.world import World

MISSING = 987_654


def _raised(call: Callable[[], object]) -> DomainError:
    with pytest.raises(NotFound) as info:
        call()
    return info.value


def _frames(exc: BaseException) -> list[TracebackType]:
    chain, tb = [], exc.__traceback__
    while tb is not None:
        chain.append(tb)
        tb = tb.tb_next
    return chain


@pytest.mark.parametrize(
    ("what", "code"),
    [
        ("pool", "aggregation.pool_not_found"),
        ("pool_by_code", "aggregation.pool_not_found"),
        ("thematic", "aggregation.thematic_not_found"),
        ("correction", "aggregation.correction_not_found"),
    ],
)
def test_two_raises_are_two_exceptions_with_their_own_tracebacks(
    session: Session, world: World, what: str, code: str
) -> None:
    actor = world.actor(session, "city")
    call: Callable[[], object] = {
        "pool": lambda: pools.get_pool(session, actor, MISSING),
        "pool_by_code": lambda: pools.pool_by_code(session, actor, "999/999999"),
        "thematic": lambda: thematic.get_thematic(session, actor, MISSING),
        "correction": lambda: corrections.get_correction(session, actor, MISSING),
    }[what]
    first, second = _raised(call), _raised(call)
    assert first is not second
    assert first.code == second.code == code and first.message == second.message
    assert first.message  # zh-CN, unchanged
    assert not {id(tb) for tb in _frames(first)} & {id(tb) for tb in _frames(second)}
    assert len(_frames(second)) == len(_frames(first))  # nothing accumulates
