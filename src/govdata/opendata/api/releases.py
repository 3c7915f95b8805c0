"""Releases over JSON (Art. 31 ¶2), under ``/api/v1/opendata``; the provider's (or the city
bureau's) only:

- ``GET/PUT /datasets/{code}/rules``: the desensitization rule of each open item (defaults
  shown where none is set); PUT replaces them all.
- ``GET /datasets/{code}/releases``: the versions, newest first; ``POST`` starts a build (a
  job: 202 with the release in status ``building``).
- ``GET /datasets/{code}/releases/{id}``: one version, with its scan report (while it builds
  on PostgreSQL, ``scan`` is ``{"progress": {"rows", "total"}}``).
- ``POST /datasets/{code}/releases/{id}/publish``: publish a version that passed the scan.

Codes hold a slash (``301001000/000001``): the routes take the rest of the path.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Path, Request
from pydantic import BaseModel, Field

from govdata.core.schemas import ERROR_RESPONSES
from govdata.core.types import DbId
from govdata.opendata import releases, tasks
from govdata.opendata.models import Release, ReleaseStatus, RuleMethod
from govdata.web.deps import ApiActor, CurrentActor, DbSession, unit_of_work

router = APIRouter(responses=ERROR_RESPONSES)
Code = Annotated[str, Path(max_length=64)]


class RuleIn(BaseModel):
    item: str = Field(max_length=100)
    method: RuleMethod
    params: dict[str, Any] = Field(default_factory=dict)
    quasi_identifier: bool = False


class RulesIn(BaseModel):
    rules: list[RuleIn] = Field(max_length=500)


class RuleOut(BaseModel):
    item: str
    data_type: str
    method: RuleMethod
    method_label: str
    params: dict[str, Any]
    quasi_identifier: bool
    default: bool = Field(description="未设置规则，采用平台默认规则")


class ReleaseOut(BaseModel):
    id: int
    version: int
    status: ReleaseStatus
    status_label: str
    reason: str
    pool_load_id: int | None
    row_count: int
    columns: list[dict[str, Any]]
    rules: list[dict[str, Any]]
    scan: dict[str, Any] | None
    error: str
    built_at: datetime
    published_at: datetime | None


def rule_out(v: releases.RuleView) -> RuleOut:
    return RuleOut(
        item=v.item,
        data_type=v.data_type,
        method=v.method,
        method_label=v.method.label,
        params=v.params,
        quasi_identifier=v.quasi_identifier,
        default=v.default,
    )


def release_out(r: Release) -> ReleaseOut:
    status = ReleaseStatus(r.status)
    return ReleaseOut(
        id=r.id,
        version=r.version,
        status=status,
        status_label=status.label,
        reason=r.reason,
        pool_load_id=r.pool_load_id,
        row_count=r.row_count,
        columns=r.columns,
        rules=r.rules,
        scan=r.scan,
        error=r.error,
        built_at=r.built_at,
        published_at=r.published_at,
    )


def start_in_background(request: Request, background: BackgroundTasks, release_id: int) -> None:
    """After the response (the release row is committed by then): queue or run the build."""
    state = request.app.state
    background.add_task(
        tasks.start, state.sessionmaker, state.engine, state.settings.jobs, release_id
    )


@router.get("/datasets/{code:path}/rules", response_model=list[RuleOut])
@unit_of_work
def get_rules(session: DbSession, actor: CurrentActor, code: Code) -> list[RuleOut]:
    return [rule_out(v) for v in releases.rules_view(session, actor, code)]


@router.put("/datasets/{code:path}/rules", response_model=list[RuleOut])
@unit_of_work
def put_rules(session: DbSession, actor: ApiActor, code: Code, body: RulesIn) -> list[RuleOut]:
    views = releases.set_rules(session, actor, code, [r.model_dump() for r in body.rules])
    return [rule_out(v) for v in views]


@router.get("/datasets/{code:path}/releases", response_model=list[ReleaseOut])
@unit_of_work
def list_releases(session: DbSession, actor: CurrentActor, code: Code) -> list[ReleaseOut]:
    return [release_out(r) for r in releases.list_releases(session, actor, code)]


@router.post("/datasets/{code:path}/releases", response_model=ReleaseOut, status_code=202)
@unit_of_work
def start_build(
    request: Request,
    background: BackgroundTasks,
    session: DbSession,
    actor: ApiActor,
    code: Code,
) -> ReleaseOut:
    release = releases.request_build(session, actor, code)
    start_in_background(request, background, release.id)
    return release_out(release)


@router.get("/datasets/{code:path}/releases/{release_id}", response_model=ReleaseOut)
@unit_of_work
def get_release(
    session: DbSession, actor: CurrentActor, code: Code, release_id: DbId
) -> ReleaseOut:
    return release_out(releases.get_release(session, actor, code, release_id))


@router.post("/datasets/{code:path}/releases/{release_id}/publish", response_model=ReleaseOut)
@unit_of_work
def publish(session: DbSession, actor: ApiActor, code: Code, release_id: DbId) -> ReleaseOut:
    return release_out(releases.publish(session, actor, code, release_id))
