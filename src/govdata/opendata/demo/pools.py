"""Pools for a few hundred of the demo's open datasets (issue 14, §11), so that the releases
step has real data to desensitize and publish (Art. 31 ¶2).

The demo catalog opens about 1,500 resources, but the aggregation demo fills only six pools.
Here about ``datasets`` open datasets without a pool are chosen — unconditional ones first
(Art. 30: the portal's main offer), spread over departments and themes, deterministically
(a fixed seed) — and ``rows`` plausible rows are generated for each from its info items
(``rows.RowMaker``). Each file goes through aggregation's public load pipeline exactly as an
upload does (Art. 17 ¶1, 18): ``loading.create_load`` as the department's data officer, then
``tasks.run_load``, which validates every row (Art. 15, 16) and installs the pool.

The loads run here, inline, on SQLite and PostgreSQL alike (as the aggregation demo does): the
releases step that follows needs the pools filled, so a queued job would come too late.

Idempotent: the demo's loads are recognised by their file name, and a run only makes up the
number still missing (none the second time).
"""

from __future__ import annotations

import csv
import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from faker import Faker
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from govdata.aggregation import loading, tasks
from govdata.aggregation.models import BadRowPolicy, Load, LoadMode, LoadStatus, Pool
from govdata.catalog import published
from govdata.catalog.vocab import OpenType
from govdata.core import calendar
from govdata.core.actor import Actor, Role, RoleGrant
from govdata.core.db import transaction
from govdata.opendata import datasets as open_datasets
from govdata.opendata.demo.rows import RowMaker
from govdata.opendata.models import OpenDataset
from govdata.org.models import Person, Region, RoleAssignment
from govdata.org.service import role_grants

__all__ = ["FILE_PREFIX", "demo_open_pools"]

SEED = 2019  # the regulation's year, as the other demos
FILE_PREFIX = "opendata-demo-"  # the demo's loads, by file name (idempotence)


@dataclass(frozen=True)
class _Choice:
    code: str
    department_id: int
    department_name: str


def demo_open_pools(factory: sessionmaker[Session], *, datasets: int = 200, rows: int = 60) -> int:
    """Load ``rows`` generated rows into the pools of about ``datasets`` open datasets that
    have none yet; returns the number of pools loaded (0 once the demo's pools exist).

    Takes a session factory: each load commits as the pipeline does (``tasks.run_load``)."""
    with transaction(factory) as session:
        open_datasets.sync(session)
        missing = datasets - _loaded_before(session)
        if missing <= 0:
            return 0
        chosen = _choose(session, missing)
        districts = [
            (str(code), str(name))
            for code, name in session.execute(
                select(Region.code, Region.name)
                .where(Region.kind == "district", Region.code.is_not(None))
                .order_by(Region.code)
            )
        ]
    if not chosen or not districts:
        return 0
    fake = Faker("zh_CN")
    fake.seed_instance(SEED)
    rng = random.Random(SEED)  # noqa: S311 - demo data, reproducible on purpose
    maker = RowMaker(rng, fake, districts, calendar.today())
    officers: dict[int, Actor] = {}
    loaded = 0
    for choice in chosen:
        with transaction(factory) as session:
            found = published.resource(session, choice.code)
            if found is None or found.published is None:
                continue
            if choice.department_id not in officers:
                officers[choice.department_id] = _officer(session, choice)
            path = loading.spool_path(f"{choice.code}.csv")
            header = [it.name for it in found.published.items]
            _write(path, header, maker.rows(found.published, choice.department_name, rows))
            load = loading.create_load(
                session,
                officers[choice.department_id],
                resource_code=choice.code,
                path=path,
                # A resource code holds "/", which a file name may not.
                filename=f"{FILE_PREFIX}{choice.code.replace('/', '-')}.csv",
                policy=BadRowPolicy.QUARANTINE,
                mode=LoadMode.REPLACE,
                channel="upload",
                encoding="utf-8",
            )
            load_id = load.id
        done = tasks.run_load(factory, load_id)
        loaded += done.status == LoadStatus.SUCCEEDED
    return loaded


def _loaded_before(session: Session) -> int:
    """Pools the demo has loaded already (any outcome: a refused one is not retried)."""
    return (
        session.scalar(
            select(func.count(func.distinct(Load.pool_id))).where(
                Load.filename.like(f"{FILE_PREFIX}%")
            )
        )
        or 0
    )


def _choose(session: Session, count: int) -> list[_Choice]:
    """Open datasets without a pool: a fifth conditional, the rest unconditional; within each,
    one per department in turn, each department's taken theme by theme (seeded shuffle)."""
    pooled = select(Pool.resource_id)
    candidates = session.execute(
        select(
            OpenDataset.code,
            OpenDataset.department_id,
            OpenDataset.department_name,
            OpenDataset.class_path,
            OpenDataset.open_type,
            OpenDataset.items,
        )
        .where(OpenDataset.withdrawn.is_(False), OpenDataset.resource_id.not_in(pooled))
        .order_by(OpenDataset.code)
    ).all()
    rng = random.Random(SEED)  # noqa: S311 - a reproducible choice
    chosen: list[_Choice] = []
    # A fifth conditional (so an approved application has data to obtain, Art. 33 ¶2), the
    # rest unconditional; either fills in for the other when it runs out.
    quota = {OpenType.CONDITIONAL.value: count // 5}
    for open_type in (
        OpenType.CONDITIONAL.value,
        OpenType.UNCONDITIONAL.value,
        OpenType.CONDITIONAL.value,
    ):
        limit = min(count, len(chosen) + quota.pop(open_type, count))
        by_dept: dict[int, dict[str, list[_Choice]]] = defaultdict(lambda: defaultdict(list))
        for code, dept_id, dept_name, theme, kind, items in candidates:
            if kind == open_type and items:  # a dataset with no open item releases nothing
                by_dept[dept_id][theme].append(_Choice(code, dept_id, dept_name))
        queues = [_themes_in_turn(themes, rng) for _, themes in sorted(by_dept.items())]
        rng.shuffle(queues)
        taken = {c.code for c in chosen}
        queues = [[c for c in q if c.code not in taken] for q in queues]
        queues = [q for q in queues if q]
        while queues and len(chosen) < limit:
            for queue in list(queues):
                if len(chosen) == limit:
                    break
                chosen.append(queue.pop(0))
                if not queue:
                    queues.remove(queue)
    return chosen


def _themes_in_turn(themes: dict[str, list[_Choice]], rng: random.Random) -> list[_Choice]:
    lists = [rng.sample(v, len(v)) for _, v in sorted(themes.items())]
    rng.shuffle(lists)
    out: list[_Choice] = []
    while lists:
        for items in list(lists):
            out.append(items.pop(0))
            if not items:
                lists.remove(items)
    return out


def _officer(session: Session, choice: _Choice) -> Actor:
    """The department's data officer (a demo account first); without one, its officer named,
    without a login, as the aggregation demo acts (``aggregation.demo.steps.actors_of``)."""
    person = session.scalar(
        select(Person)
        .join(RoleAssignment, RoleAssignment.person_id == Person.id)
        .where(
            RoleAssignment.role == Role.DEPARTMENT_OFFICER.value,
            RoleAssignment.department_id == choice.department_id,
        )
        .order_by(Person.username.like("demo.%").desc(), Person.id)
        .limit(1)
    )
    if person is not None:
        return Actor(person_id=person.id, name=person.name, grants=role_grants(session, person.id))
    return Actor(
        person_id=None,
        name=f"{choice.department_name}数据专职人员"[:64],
        grants=(RoleGrant(Role.DEPARTMENT_OFFICER, department_id=choice.department_id),),
    )


def _write(path: Path, header: list[str], data: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=header)
        writer.writeheader()
        writer.writerows(data)
