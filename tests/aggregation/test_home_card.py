"""The aggregation card on a department's home page (Art. 17–19; issue 16): its pools and the
corrections waiting for its answer, each opening the list filtered to what it counts."""

from __future__ import annotations

import re
from datetime import date

from govdata.aggregation import corrections
from govdata.core import calendar
from tests.aggregation.test_corrections import ID1, _pool

HTML = {"Accept": "text/html"}


def _stat(html: str, key: str) -> tuple[str, str]:
    m = re.search(rf'href="([^"]+)" data-testid="stat-{key}"><div class="n">([^<]*)</div>', html)
    assert m, f"no stat {key}"
    return m.group(1).replace("&amp;", "&"), m.group(2)


def test_the_officer_sees_pools_and_corrections_to_answer(
    sign_in, session, world, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    pool = _pool(session, world)
    monkeypatch.setattr(calendar, "today", lambda: date(2025, 9, 26))
    corrections.apply(
        session,
        world.actor(session, "city"),
        pool_id=pool.id,
        subject_key=ID1,
        item_name="住址",
        proposed_value="渝中区解放碑8号",
        reason="门牌号有误",
    )
    session.commit()
    c = sign_in("officer")  # the pool is 市公安局's
    html = c.get("/", headers=HTML).text
    assert _stat(html, "aggregation_pools") == ("/aggregation/pools", "1")
    waiting, n = _stat(html, "corrections_waiting")
    assert n == "1"
    assert waiting == "/aggregation/corrections?view=incoming&status=open"
    listed = c.get(waiting, headers=HTML)
    assert (listed.status_code == 200 and "门牌号有误" in listed.text) or "住址" in listed.text
    assert _stat(html, "corrections_overdue") == (waiting + "&overdue=1", "0")
    # 11 working days later the same correction is overdue.
    monkeypatch.setattr(calendar, "today", lambda: date(2025, 10, 20))
    assert _stat(c.get("/", headers=HTML).text, "corrections_overdue")[1] == "1"


def test_no_aggregation_card_for_those_without_a_department(sign_in) -> None:  # type: ignore[no-untyped-def]
    for user in ("auditor", "city", "citizen"):
        assert 'data-testid="stat-aggregation_pools"' not in sign_in(user).get("/").text, user
