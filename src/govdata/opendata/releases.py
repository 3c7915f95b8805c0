"""Releases (开放数据发布版本, Art. 31 ¶2): the provider's desensitization rules per info item,
the build from the pool, the leak scan's verdict, publishing, and the history.

- Rules (``set_rules``): one per open item (method and params, quasi-identifier or not). Items
  not open in the catalog are refused here and never released whatever is stored (Art. 30).
- Build (``request_build`` then ``execute_build``, or ``build`` for both): a new version in
  status BUILDING, its rows derived from the pool's current load by the rules frozen into it;
  the leak scan then makes it READY or BLOCKED (a blocked one is never published). A build
  that fails is FAILED and keeps no table.
- Publish (``publish``): a READY release becomes PUBLISHED, the previous one SUPERSEDED, and
  ``OpenDataset.current_release_id`` points at it.

Only the providing department (officer or head) or the city bureau manages a dataset's
releases (``policy.require_manage``, Art. 29, 31); every change is audited.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from govdata.aggregation.models import Pool
from govdata.catalog.vocab import UpdateCycle
from govdata.core import audit
from govdata.core.actor import Actor
from govdata.core.db import utcnow
from govdata.core.errors import InvalidInput
from govdata.opendata import build as builder
from govdata.opendata import datasets, desensitize, errors, policy, store
from govdata.opendata.desensitize import Plan
from govdata.opendata.models import OpenDataset, Release, ReleaseRule, ReleaseStatus, RuleMethod
from govdata.org.policy import require_person

log = structlog.get_logger(__name__)
REASONS = ("manual", "pool_changed", "cycle")


def managed_dataset(session: Session, actor: Actor, code: str) -> OpenDataset:
    """The dataset by code, refused unless the actor manages it (Art. 29, 31). People only:
    no token scope opens release management (Art. 39, least privilege: a product decision)."""
    require_person(actor)
    dataset = datasets.get_dataset(session, code)
    policy.require_manage(actor, dataset.department_id)
    return dataset


def pool_of(session: Session, dataset: OpenDataset) -> Pool | None:
    return session.scalar(select(Pool).where(Pool.resource_id == dataset.resource_id))


# --- rules ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleView:
    item: str
    data_type: str
    method: RuleMethod
    params: dict[str, Any]
    quasi_identifier: bool
    default: bool  # no rule was set: the product's default is shown


def stored_rules(session: Session, dataset_id: int) -> dict[str, dict[str, Any]]:
    return {
        r.item: {"method": r.method, "params": r.params, "quasi_identifier": r.quasi_identifier}
        for r in session.scalars(select(ReleaseRule).where(ReleaseRule.dataset_id == dataset_id))
    }


def plans_for(session: Session, dataset: OpenDataset, pool: Pool | None) -> list[Plan]:
    """The plans a build would use now: the open items the pool holds, by the stored rules
    (defaults where none). Without a pool, the catalog's open items stand in for its layout."""
    columns: Sequence[Mapping[str, Any]] = (
        pool.columns
        if pool is not None
        else [
            {"name": it["name"], "column": f"c{i + 1}", "data_type": it["data_type"]}
            for i, it in enumerate(dataset.items)
        ]
    )
    return desensitize.plans(dataset.items, columns, stored_rules(session, dataset.id))


def rules_view(session: Session, actor: Actor, code: str) -> list[RuleView]:
    dataset = managed_dataset(session, actor, code)
    return [
        RuleView(p.item, p.data_type, p.method, p.params, p.quasi_identifier, p.default)
        for p in plans_for(session, dataset, pool_of(session, dataset))
    ]


def set_rules(
    session: Session, actor: Actor, code: str, rules: Sequence[Mapping[str, Any]]
) -> list[RuleView]:
    """Replace the dataset's rules (``[{"item", "method", "params", "quasi_identifier"}]``);
    an item left out goes back to its default. Every item must be open in the catalog (Art. 30:
    a closed item is never released, so no rule may name it) and named once; nothing is
    written unless all are valid."""
    dataset = managed_dataset(session, actor, code)
    open_names = {it["name"] for it in dataset.items}
    checked: list[dict[str, Any]] = []
    seen: set[str] = set()
    for r in rules:
        item = str(r.get("item", ""))
        if item not in open_names:
            raise InvalidInput(
                "opendata.rule_item", f"信息项“{item}”不在该数据集的开放信息项中，不能设置规则。"
            )
        if item in seen:
            raise InvalidInput("opendata.rule_item", f"信息项“{item}”重复设置了规则。")
        seen.add(item)
        try:
            method = RuleMethod(str(r.get("method")))
        except ValueError:
            raise InvalidInput(
                "opendata.rule_method",
                "脱敏方式须为不开放、原样开放、掩码、泛化、假名化或汇总之一。",
            ) from None
        params = desensitize.check_params(method, r.get("params") or {})
        checked.append(
            {
                "item": item,
                "method": method.value,
                "params": params,
                "quasi_identifier": bool(r.get("quasi_identifier")),
            }
        )
    session.execute(delete(ReleaseRule).where(ReleaseRule.dataset_id == dataset.id))
    now = utcnow()
    session.add_all(
        ReleaseRule(dataset_id=dataset.id, updated_by=actor.person_id, updated_at=now, **c)
        for c in checked
    )
    audit.record(
        session,
        actor,
        "opendata.rules_set",
        object_type="open_dataset",
        object_id=dataset.id,
        summary=f"设置{dataset.name}的脱敏规则（{len(checked)}个信息项）",
        change={"rules": checked},
        department_id=dataset.department_id,
    )
    return rules_view(session, actor, code)


# --- building ---------------------------------------------------------------------------------


def _plan_json(p: Plan) -> dict[str, Any]:
    return {
        "item": p.item,
        "column": p.column,
        "data_type": p.data_type,
        "method": p.method.value,
        "params": p.params,
        "quasi_identifier": p.quasi_identifier,
        "default": p.default,
    }


def _plan_of(d: Mapping[str, Any]) -> Plan:
    return Plan(
        d["item"],
        d["column"],
        d["data_type"],
        RuleMethod(d["method"]),
        dict(d["params"]),
        bool(d["quasi_identifier"]),
        bool(d.get("default")),
    )


def create_release(
    session: Session, dataset: OpenDataset, *, reason: str, built_by: int | None
) -> Release:
    """A new version in status BUILDING with the rules frozen (no permission check: the
    caller's, or the periodic job's)."""
    pool = pool_of(session, dataset)
    if pool is None or pool.table_name is None:
        raise InvalidInput(
            "opendata.no_pool", "该数据集的资源尚未汇聚数据（资源池为空），不能生成开放数据。"
        )
    busy = session.scalar(
        select(Release.id).where(
            Release.dataset_id == dataset.id, Release.status == ReleaseStatus.BUILDING.value
        )
    )
    if busy is not None:
        raise errors.ReleaseState("该数据集已有正在生成的版本，请等待其完成。")
    plans = plans_for(session, dataset, pool)
    if not desensitize.released(plans):
        raise InvalidInput("opendata.nothing_released", "按当前规则没有可开放的信息项。")
    version = (
        session.scalar(select(func.max(Release.version)).where(Release.dataset_id == dataset.id))
        or 0
    ) + 1
    release = Release(
        dataset_id=dataset.id,
        version=version,
        status=ReleaseStatus.BUILDING.value,
        pool_load_id=pool.current_load_id,
        rules=[_plan_json(p) for p in plans],
        columns=builder.released_columns(plans),
        reason=reason,
        built_by=built_by,
        built_at=utcnow(),
    )
    session.add(release)
    session.flush()
    return release


def request_build(session: Session, actor: Actor, code: str) -> Release:
    """The provider asks for a new version (Art. 31 ¶2); the build runs as a job."""
    dataset = managed_dataset(session, actor, code)
    release = create_release(session, dataset, reason="manual", built_by=actor.person_id)
    audit.record(
        session,
        actor,
        "opendata.release_requested",
        object_type="open_release",
        object_id=release.id,
        summary=f"生成{dataset.name}的开放数据第{release.version}版",
        change={"dataset": dataset.code, "version": release.version, "rules": release.rules},
        department_id=dataset.department_id,
    )
    return release


def execute_build(
    session: Session, release_id: int, *, progress: builder.Progress | None = None
) -> Release:
    """Derive the rows, scan them and settle the status: READY when the scan passed, else
    BLOCKED with its report (Art. 31 ¶2). A failure leaves the release FAILED, no table.
    Runs in the caller's transaction (the job's)."""
    release = session.get(Release, release_id)
    if release is None:
        raise errors.ReleaseNotFound()
    if release.status != ReleaseStatus.BUILDING.value:
        return release
    dataset = session.get(OpenDataset, release.dataset_id)
    pool = pool_of(session, dataset) if dataset is not None else None
    if dataset is None or pool is None or pool.table_name is None:
        release.status = ReleaseStatus.FAILED.value
        release.error = "资源池没有数据。"
        session.flush()
        return release
    plans = [_plan_of(d) for d in release.rules]
    # Items no longer open in the catalog since the rules were frozen are left out too.
    open_names = {it["name"] for it in dataset.items}
    plans = [p for p in plans if p.item in open_names]
    release.columns = builder.released_columns(plans)
    release.pool_load_id = pool.current_load_id
    savepoint = session.begin_nested()
    try:
        store.create_table(session.connection(), release)
        built = builder.run(
            session,
            release,
            pool,
            plans,
            desensitize.pseudonym_key(dataset.code),
            progress=progress,
        )
        savepoint.commit()
    except Exception as exc:  # the table and its rows go with the savepoint
        savepoint.rollback()
        log.exception("opendata.release_build_failed", release_id=release.id)
        release.status = ReleaseStatus.FAILED.value
        release.table_name = None
        release.error = f"生成失败：{type(exc).__name__}"
        session.flush()
        return release
    release.row_count = built.row_count
    release.scan = built.scan
    release.status = (
        ReleaseStatus.READY.value if built.scan["passed"] else ReleaseStatus.BLOCKED.value
    )
    session.flush()
    return release


def build(session: Session, actor: Actor, code: str) -> Release:
    """Request and run a build at once (the service level; the web runs it as a job)."""
    release = request_build(session, actor, code)
    return execute_build(session, release.id)


# --- publishing and reading -------------------------------------------------------------------


def get_release(session: Session, actor: Actor, code: str, release_id: int) -> Release:
    dataset = managed_dataset(session, actor, code)
    release = session.get(Release, release_id)
    if release is None or release.dataset_id != dataset.id:
        raise errors.ReleaseNotFound()
    return release


def list_releases(session: Session, actor: Actor, code: str) -> list[Release]:
    dataset = managed_dataset(session, actor, code)
    return list(
        session.scalars(
            select(Release).where(Release.dataset_id == dataset.id).order_by(Release.version.desc())
        )
    )


def publish(session: Session, actor: Actor, code: str, release_id: int) -> Release:
    """Publish a READY release (one that passed the leak scan, Art. 31 ¶2); the one published
    before is SUPERSEDED."""
    release = get_release(session, actor, code, release_id)
    if release.status != ReleaseStatus.READY.value:
        raise errors.ReleaseState(
            f"只能发布扫描通过、待发布的版本；该版本的状态为“{ReleaseStatus(release.status).label}”。"
        )
    dataset = session.get(OpenDataset, release.dataset_id)
    assert dataset is not None
    previous = list(
        session.scalars(
            select(Release).where(
                Release.dataset_id == dataset.id,
                Release.status == ReleaseStatus.PUBLISHED.value,
            )
        )
    )
    for old in previous:
        old.status = ReleaseStatus.SUPERSEDED.value
    release.status = ReleaseStatus.PUBLISHED.value
    release.published_by = actor.person_id
    release.published_at = utcnow()
    dataset.current_release_id = release.id
    audit.record(
        session,
        actor,
        "opendata.release_published",
        object_type="open_release",
        object_id=release.id,
        summary=f"发布{dataset.name}的开放数据第{release.version}版（{release.row_count}条）",
        change={
            "dataset": dataset.code,
            "version": release.version,
            "superseded": [o.id for o in previous],
            "row_count": release.row_count,
        },
        department_id=dataset.department_id,
    )
    return release


# --- what needs rebuilding --------------------------------------------------------------------


def due_for_rebuild(session: Session) -> list[tuple[OpenDataset, str]]:
    """Datasets whose pool moved since their latest release (``pool_changed``), or whose update
    cycle came round since it was built (``cycle``), with a pool holding data and no build
    running. Only datasets that have had a release: the first is the provider's to make."""
    datasets.ensure_synced(session)
    latest = (
        select(Release.dataset_id, func.max(Release.version).label("v"))
        .where(Release.status != ReleaseStatus.FAILED.value)
        .group_by(Release.dataset_id)
        .subquery()
    )
    rows = session.execute(
        select(OpenDataset, Release, Pool)
        .join(latest, latest.c.dataset_id == OpenDataset.id)
        .join(
            Release,
            (Release.dataset_id == latest.c.dataset_id) & (Release.version == latest.c.v),
        )
        .join(Pool, Pool.resource_id == OpenDataset.resource_id)
        .where(OpenDataset.withdrawn.is_(False), Pool.table_name.is_not(None))
    ).all()
    now = utcnow()
    out: list[tuple[OpenDataset, str]] = []
    for dataset, release, pool in rows:
        if release.status == ReleaseStatus.BUILDING.value:
            continue
        if pool.current_load_id != release.pool_load_id:
            out.append((dataset, "pool_changed"))
            continue
        try:
            days = UpdateCycle(dataset.update_cycle).max_days
        except ValueError:
            days = None
        if days is not None and release.built_at + timedelta(days=days) <= now:
            out.append((dataset, "cycle"))
    return out
