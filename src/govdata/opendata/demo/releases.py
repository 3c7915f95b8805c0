"""The demo city's releases (Art. 31 ¶2): every open dataset whose pool holds data gets a
release built by its rules and published when its leak scan passes.

Acting as the city bureau's demo account (``demo.city``; the bootstrap actor when the org
demo is not loaded). Dates of birth are generalized to the year and addresses to their district
where a dataset opens them, so the demo shows more than the default masking; everything else
follows the defaults (``desensitize.default_rule``). A dataset that already has a published
release is left alone, so running it twice changes nothing.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.core.actor import Actor
from govdata.opendata import datasets, releases
from govdata.opendata.models import OpenDataset, Release, ReleaseRule, ReleaseStatus
from govdata.org.demo import BOOTSTRAP
from govdata.org.models import Person
from govdata.org.service import role_grants


def _bureau(session: Session) -> Actor:
    person = session.scalar(select(Person).where(Person.username == "demo.city"))
    if person is None:
        return BOOTSTRAP
    return Actor(person_id=person.id, name=person.name, grants=role_grants(session, person.id))


def _demo_rules(dataset: OpenDataset) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    for it in dataset.items:
        name = it["name"]
        if "出生日期" in name or "成立日期" in name:
            rules.append({"item": name, "method": "generalize", "params": {"to": "year"}})
        elif "地址" in name or "住址" in name or "住所" in name:
            rules.append({"item": name, "method": "generalize", "params": {"to": "district"}})
    return rules


def demo_releases(session: Session) -> int:
    """Build and publish releases for the demo's open datasets with pools; returns how many
    were published."""
    datasets.sync(session)
    actor = _bureau(session)
    published = 0
    for dataset in session.scalars(
        select(OpenDataset).where(OpenDataset.withdrawn.is_(False)).order_by(OpenDataset.code)
    ).all():
        pool = releases.pool_of(session, dataset)
        if pool is None or pool.table_name is None or dataset.current_release_id is not None:
            continue
        has_rules = session.scalar(
            select(ReleaseRule.id).where(ReleaseRule.dataset_id == dataset.id).limit(1)
        )
        rules = _demo_rules(dataset)
        if rules and has_rules is None:
            releases.set_rules(session, actor, dataset.code, rules)
        if session.scalar(
            select(Release.id).where(
                Release.dataset_id == dataset.id, Release.status == ReleaseStatus.BUILDING.value
            )
        ):
            continue
        release = releases.build(session, actor, dataset.code)
        if release.status == ReleaseStatus.READY.value:
            releases.publish(session, actor, dataset.code, release.id)
            published += 1
    return published
