"""A small open-data city on top of the base-database test city
(``tests.aggregation.base_helpers``).

- 户籍人口基本信息 (市公安局, ``police_res``): open unconditionally, with 出生日期 not open
  (Art. 30: an item's own open type); its pool holds K1–K3.
- 个体经营者信息 (市市场监督管理局, ``market_res``): open on conditions, 从业人数 not open.
- The world's ``citizen`` has a checked identity (``identity_digest`` set); ``company`` has not.

The published revisions are edited in place, as the share city does: the catalog's own
workflow is tested in tests/catalog.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from govdata.catalog.models import Resource, ResourceRevision
from govdata.core.crypto import subject_digest
from govdata.opendata import datasets
from govdata.opendata.models import OpenDataset
from govdata.org.models import Person
from tests.aggregation.base_helpers import City, build_city
from tests.world import World

CITIZEN_ID = "500103199001010010"  # a valid check digit (GB 11643)


@dataclass
class OpenCity:
    city: City
    person: OpenDataset  # 户籍人口基本信息: unconditional
    market: OpenDataset  # 个体经营者信息: conditional


def set_open(
    session: Session,
    res: Resource,
    open_type: str,
    *,
    closed_items: tuple[str, ...] = (),
    conditions: str = "",
    class_path: str = "",
) -> None:
    rev_id = res.published_revision_id
    rev = session.get(ResourceRevision, rev_id)
    assert rev is not None
    data: dict[str, Any] = dict(rev.data)
    data["open_type"] = open_type
    data["open_conditions"] = conditions
    if class_path:
        data["class_path"] = class_path
    data["items"] = [
        {**it, "open_type": "none" if it["name"] in closed_items else open_type}
        for it in data["items"]
    ]
    session.execute(
        update(ResourceRevision)
        .where(ResourceRevision.id == rev_id)
        .values(data=data, open_type=open_type)
    )
    session.expire_all()


def build_open_city(session: Session, world: World) -> OpenCity:
    city = build_city(session, world)
    set_open(
        session,
        city.police_res,
        "unconditional",
        closed_items=("出生日期",),
        class_path="社会保障/人口",
    )
    set_open(
        session,
        city.market_res,
        "conditional",
        closed_items=("从业人数",),
        conditions="仅用于学术研究",
        class_path="市场监管/市场主体",
    )
    session.execute(
        update(Person)
        .where(Person.id == world.people["citizen"])
        .values(identity_digest=subject_digest(CITIZEN_ID))
    )
    datasets.sync(session)
    person = datasets.get_dataset(session, city.police_res.code)
    market = datasets.get_dataset(session, city.market_res.code)
    return OpenCity(city, person, market)
