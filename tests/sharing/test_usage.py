"""Usage dashboards (Art. 40, 41, 49, 50(4)(5)): who reads which records, and the figures.

Written from the refused side: a provider does not see another provider's reads, a requester
sees only its own, a district bureau only its region's, people without a sharing role and
tokens nothing at all."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from govdata.core.errors import DomainError
from govdata.sharing import charts, usage, usage_export
from govdata.sharing.models import GrantUsage
from govdata.sharing.usage import UsageFilter
from tests.sharing.usage_calls import NOON, call, grant, system
from tests.world import World

DAY = date(2026, 3, 2)
ONE_DAY = UsageFilter(since=DAY, until=DAY)


def _city(session: Session, world: World) -> None:
    """渝中区公安分局 reads 市公安局's data 3 times (one refused); 江北区公安分局 reads
    市市场监管局's twice."""
    call(session, requester=world.yz_police, provider=world.police, rows=1)
    call(session, requester=world.yz_police, provider=world.police, rows=4)
    call(
        session,
        requester=world.yz_police,
        provider=world.police,
        outcome="refused",
        reason="sharing.purpose_mismatch",
    )
    for _ in range(2):
        call(session, requester=world.jb_police, provider=world.market, source="SRC-2", rows=2)


def _calls(session: Session, world: World, username: str) -> int:
    return usage.summary(session, world.actor(session, username), ONE_DAY).total.calls


def test_each_party_sees_its_side_and_nothing_else(session: Session, world: World) -> None:
    # Art. 40: the provider sees who read its data; the requester its own reads.
    _city(session, world)
    seen = {u: _calls(session, world, u) for u in ("officer", "officer2", "yz_officer", "head")}
    assert seen == {"officer": 3, "officer2": 2, "yz_officer": 3, "head": 3}
    # jb_officer is the requester of the market's two reads and nothing of the police's.
    jb = usage.summary(session, world.actor(session, "jb_officer"), ONE_DAY)
    assert jb.total.calls == 2
    assert [t.key for t in jb.providers] == [world.market]
    # The records table is scoped the same way: the police's officer sees none of the market's.
    page = usage.list_records(session, world.actor(session, "officer"), ONE_DAY)
    assert page.total == 3
    assert {r.provider_department_id for r in page.items} == {world.police}


def test_bureaus_see_their_region_and_oversight_sees_all(session: Session, world: World) -> None:
    # Art. 6, 41, 49: the city bureau and auditors all; a district bureau its region's
    # departments, as requester or provider.
    _city(session, world)
    assert _calls(session, world, "city") == 5
    assert _calls(session, world, "auditor") == 5
    assert _calls(session, world, "yz_admin") == 3
    assert _calls(session, world, "jb_admin") == 2
    yz = usage.list_records(session, world.actor(session, "yz_admin"), ONE_DAY)
    assert {r.requester_department_id for r in yz.items} == {world.yz_police}


@pytest.mark.parametrize(
    ("username", "code"),
    [
        ("citizen", "sharing.usage_forbidden"),
        ("company", "sharing.usage_forbidden"),
        ("plain", "sharing.usage_forbidden"),
    ],
)
def test_people_without_a_sharing_role_are_refused(
    session: Session, world: World, username: str, code: str
) -> None:
    _city(session, world)
    actor = world.actor(session, username)
    for read in (
        lambda: usage.summary(session, actor, ONE_DAY),
        lambda: usage.list_records(session, actor, ONE_DAY),
        lambda: usage_export.export_xlsx(session, actor, ONE_DAY),
    ):
        with pytest.raises(DomainError) as exc:
            read()
        assert exc.value.code == code and exc.value.status == 403


def test_a_token_is_refused_even_of_its_own_department(session: Session, world: World) -> None:
    # Management data: no scope opens it (Art. 39: least privilege).
    _city(session, world)
    token = system(world.yz_police, 1)
    with pytest.raises(DomainError) as exc:
        usage.summary(session, token, ONE_DAY)
    assert exc.value.code == "auth.people_only"


def test_aggregates_per_day_department_source_grant_and_refusal(
    session: Session, world: World
) -> None:
    g = grant(session, requester=world.yz_police, provider=world.police, daily_quota=100)
    session.add(GrantUsage(grant_id=g.id, day=DAY, calls=7, rows=9))
    # 2026-03-01 16:30 UTC is 2026-03-02 00:30 in Beijing: counted on 03-02, not 03-01.
    late = datetime(2026, 3, 1, 16, 30, tzinfo=UTC)
    early = datetime(2026, 3, 1, 15, 59, tzinfo=UTC)  # 23:59 on 03-01 in Beijing
    call(session, requester=world.yz_police, provider=world.police, grant_id=g.id, rows=5, at=late)
    call(session, requester=world.yz_police, provider=world.police, grant_id=g.id, rows=2)
    call(
        session,
        requester=world.yz_police,
        provider=world.police,
        grant_id=g.id,
        outcome="refused",
        reason="sharing.grant_expired",
        action="sharing.query",
    )
    call(
        session,
        requester=world.jb_police,
        provider=world.police,
        outcome="refused",
        reason="sharing.no_grant",
        at=early,
        token_id=901,
        system_name="江北户政系统",
    )
    s = usage.summary(
        session,
        world.actor(session, "officer"),
        UsageFilter(since=date(2026, 3, 1), until=DAY),
        today=DAY,
    )
    assert (s.total.calls, s.total.allowed, s.total.refused, s.total.rows) == (4, 2, 2, 7)
    assert [(d.key, d.allowed, d.refused, d.rows) for d in s.days] == [
        (date(2026, 3, 1), 0, 1, 0),
        (DAY, 2, 1, 7),
    ]
    assert [(t.key, t.calls, t.refused) for t in s.requesters] == [
        (world.yz_police, 3, 1),
        (world.jb_police, 1, 1),
    ]
    assert s.requesters[0].label == "渝中区公安分局"
    assert [(t.key, t.calls) for t in s.sources] == [("SRC-1", 4)]
    assert s.sources[0].label == "户籍人口基本信息（SRC-1）"
    [use] = s.grants
    assert (use.key, use.calls, use.refused, use.rows) == (g.id, 3, 1, 7)
    assert (use.daily_quota, use.today_calls, use.requester) == (100, 7, "渝中区公安分局")
    assert {(t.key, t.calls) for t in s.refusals} == {
        ("sharing.grant_expired", 1),
        ("sharing.no_grant", 1),
    }
    assert {t.key: t.calls for t in s.actions} == {"sharing.lookup": 3, "sharing.query": 1}
    assert {t.key: t.calls for t in s.systems} == {900: 3, 901: 1}
    assert any("江北户政系统" in t.label for t in s.systems)
    # A day outside the filter is not counted; the empty day is still in the series.
    s2 = usage.summary(
        session,
        world.actor(session, "officer"),
        UsageFilter(since=DAY, until=DAY + timedelta(days=1)),
    )
    assert [(d.key, d.calls) for d in s2.days] == [(DAY, 3), (DAY + timedelta(days=1), 0)]


def test_filters_narrow_summary_and_records_alike(session: Session, world: World) -> None:
    _city(session, world)
    city = world.actor(session, "city")
    cases = {
        UsageFilter(since=DAY, until=DAY, outcome="refused"): 1,
        UsageFilter(since=DAY, until=DAY, requester_department_id=world.jb_police): 2,
        UsageFilter(since=DAY, until=DAY, provider_department_id=world.police): 3,
        UsageFilter(since=DAY, until=DAY, source="SRC-2"): 2,
        UsageFilter(since=DAY, until=DAY, action="sharing.bulk"): 0,
        UsageFilter(since=DAY + timedelta(days=1), until=DAY + timedelta(days=2)): 0,
    }
    for f, n in cases.items():
        assert usage.summary(session, city, f).total.calls == n, f
        assert usage.list_records(session, city, f).total == n, f


def test_records_are_newest_first_paged_and_show_no_subject(session: Session, world: World) -> None:
    for i in range(5):
        call(
            session,
            requester=world.yz_police,
            provider=world.police,
            at=NOON + timedelta(minutes=i),
            subject="500103198001010011",
        )
    page = usage.list_records(session, world.actor(session, "officer"), ONE_DAY, limit=2)
    assert page.total == 5 and len(page.items) == 2 and page.has_next
    assert page.items[0].at > page.items[1].at
    second = usage.list_records(
        session, world.actor(session, "officer"), ONE_DAY, offset=2, limit=2
    )
    assert second.items[0].at < page.items[1].at
    # Only a digest is stored, and the dashboards show not even that.
    assert not {"subject_digest", "subject", "subject_key"} & {
        f.name for f in fields(usage.UsageRecord)
    }


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"since": "2026-02-30"}, "sharing.usage_bad_date"),
        ({"until": "明天"}, "sharing.usage_bad_date"),
        ({"since": "2026-03-05", "until": "2026-03-01"}, "sharing.usage_bad_range"),
        ({"since": "2024-01-01", "until": "2026-03-01"}, "sharing.usage_bad_range"),
        ({"outcome": "maybe"}, "sharing.usage_bad_filter"),
        ({"action": "sharing.delete"}, "sharing.usage_bad_filter"),
        ({"grant": "-1"}, "sharing.usage_bad_filter"),
        ({"requester": "x"}, "sharing.usage_bad_filter"),
    ],
)
def test_bad_filters_are_refused_in_chinese(kwargs: dict[str, str], code: str) -> None:
    with pytest.raises(DomainError) as exc:
        usage.parse_filter(**kwargs)
    assert exc.value.code == code and exc.value.status == 400
    assert any("\u4e00" <= ch <= "\u9fff" for ch in exc.value.message)


def test_the_default_period_is_the_last_30_days() -> None:
    since, until = UsageFilter().period(DAY)
    assert until == DAY and (until - since).days == 29


def test_charts_draw_the_top_ten_and_every_day() -> None:
    # The page's charts: the table lists everyone, the chart the ten largest.
    tallies = [usage.Tally(i, f"部门{i:02d}", calls=100 - i, refused=i % 3) for i in range(12)]
    svg = str(charts.top_bars("调用次数最多的使用部门", tallies))
    assert "部门00" in svg and "部门09" in svg and "部门10" not in svg
    assert 'role="img"' in svg and "<script" not in svg
    days = [usage.Tally(DAY + timedelta(days=i), f"03-{i + 2:02d}", calls=i) for i in range(30)]
    per_day = str(charts.calls_per_day("每日调用次数", days))
    assert "允许" in per_day and "拒绝" in per_day and "03-02" in per_day
    months = str(charts.per_month("每月", [("2026-02", 1), ("2026-03", 2)]))
    assert "2026-03" in months
