"""A small sharing city on top of the base-database test city (``tests.aggregation.base_helpers``).

- 市公安局 (police) provides 户籍人口基本信息 (unconditional) and leads the person base
  database, built from it and from 市市场监督管理局's 个体经营者信息.
- 市市场监督管理局 (market) provides 个体经营者信息, re-classified here as conditional with
  one item 从业人数 "not shared" (Art. 24, 25(1)).
- 渝中区公安分局 (yz_police) is the requesting department; ``yz_officer`` its officer, and it has
  a system token with ``sharing:read`` (``ShareCity.token``), and one without (``other_token``).
- 江北区公安分局 (jb_police) has a token with ``sharing:read`` too (another department).

Subject keys are ``tests.aggregation.base_helpers.K1…K4``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from govdata.aggregation import base
from govdata.aggregation.models import BaseKind
from govdata.catalog.models import ResourceRevision
from govdata.org import auth
from govdata.org.schemas import TokenCreate
from govdata.sharing import grants
from govdata.sharing.models import Grant, GrantMode, GrantOrigin
from govdata.sharing.sources import SharedSource, get_source
from tests.aggregation.base_helpers import City, build_city
from tests.world import World


@dataclass
class ShareCity:
    city: City
    person_source: SharedSource  # 户籍人口基本信息 (pool, unconditional)
    market_source: SharedSource  # 个体经营者信息 (pool, conditional, 从业人数 not shared)
    base_source: SharedSource  # base.person
    token: str  # yz_police system, sharing:read
    token_id: int
    other_token: str  # yz_police system without sharing:read
    other_token_id: int
    jb_token: str  # jb_police system, sharing:read
    jb_token_id: int


def _token(
    session: Session, world: World, username: str, dept: int, scopes: list[str]
) -> tuple[str, int]:
    actor = world.actor(session, username)
    issued = auth.issue_token(
        session,
        actor,
        dept,
        TokenCreate(name=f"{username}系统", scopes=scopes),  # type: ignore[call-arg]
    )
    return issued.secret, issued.token.id


def build_share_city(session: Session, world: World) -> ShareCity:
    city = build_city(session, world)
    # 个体经营者信息: conditional, 从业人数 not shared (edited in place: the published revision
    # is what sources read; the catalog's own workflow is tested in tests/catalog).
    rev_id = city.market_res.published_revision_id
    rev = session.get(ResourceRevision, rev_id)
    assert rev is not None
    data = dict(rev.data)
    data["share_type"] = "conditional"
    data["share_conditions"] = "仅限履行市场监管、社会救助职责的部门"
    data["legal_basis"] = "《市场主体登记管理条例》第三十五条"
    data["items"] = [
        {**it, "share_type": "none" if it["name"] == "从业人数" else "conditional"}
        for it in data["items"]
    ]
    session.execute(
        update(ResourceRevision)
        .where(ResourceRevision.id == rev_id)
        .values(data=data, share_type="conditional")
    )
    session.expire_all()
    base.build(session, world.actor(session, "city"), BaseKind.PERSON)
    token, token_id = _token(session, world, "yz_officer", world.yz_police, ["sharing:read"])
    other, other_id = _token(session, world, "yz_officer", world.yz_police, ["org:read"])
    jb, jb_id = _token(session, world, "jb_officer", world.jb_police, ["sharing:read"])
    person = get_source(session, city.police_res.code)
    market = get_source(session, city.market_res.code)
    person_base = get_source(session, "base.person")
    assert person is not None and market is not None and person_base is not None
    return ShareCity(city, person, market, person_base, token, token_id, other, other_id, jb, jb_id)


def grant_to_yz(
    session: Session,
    world: World,
    sc: ShareCity,
    source: SharedSource,
    items: list[str],
    *,
    mode: GrantMode = GrantMode.DATA,
    row_condition: dict[str, object] | None = None,
    expires_on: date | None = None,
    daily_quota: int | None = None,
    purpose_code: str = "household-check",
) -> Grant:
    """A grant to 渝中区公安分局 naming its ``sharing:read`` system, made directly (the
    application workflow is tested in test_applications)."""
    today = date.today()
    return grants.create(
        session,
        world.actor(session, "city"),
        origin=GrantOrigin.APPLICATION,
        source=source,
        requester_department_id=world.yz_police,
        items=items,
        mode=mode,
        row_condition=row_condition,  # type: ignore[arg-type]
        duty="户籍管理（《户口登记条例》第三条）",
        legal_basis="《中华人民共和国户口登记条例》",
        purpose="核查辖区户籍人口信息",
        purpose_code=purpose_code,
        valid_from=today - timedelta(days=1),
        expires_on=expires_on if expires_on is not None else today + timedelta(days=365),
        daily_quota=daily_quota,
        token_ids=[sc.token_id],
    )
