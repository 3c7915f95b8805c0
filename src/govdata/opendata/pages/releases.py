"""zh-CN pages of releases (Art. 31 ¶2), for the providing department and the city bureau:

- ``/opendata/releases``: the open datasets the actor manages, with their published version.
- ``/opendata/datasets/{code}/release``: the rules editor (a method and params per open item,
  quasi-identifiers marked), the build button, the running build's progress, each version's
  scan report, publishing, and the history.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select

from govdata.core.errors import InvalidInput
from govdata.core.types import DbId
from govdata.opendata import datasets, leakscan, policy, releases, tasks
from govdata.opendata.api.releases import start_in_background
from govdata.opendata.desensitize import GENERALIZE_TO
from govdata.opendata.models import OpenDataset, Release, ReleaseStatus, RuleMethod
from govdata.web.deps import CurrentActor, DbSession
from govdata.web.templating import render

router = APIRouter(include_in_schema=False)
Code = Annotated[str, Path(max_length=64)]

FLASHES = {
    "rules": "已保存脱敏规则；新规则在下次生成版本时使用。",
    "build": "已开始生成新版本：从资源池读取数据、脱敏并进行泄露扫描。",
    "published": "已发布该版本，公众获取的开放数据即为此版本。",
}
GENERALIZE_LABELS = {
    "year": "日期→年",
    "month": "日期→年月",
    "age_band": "年龄→年龄段",
    "district": "地址→区县",
}


@router.get("/opendata/releases")
def managed_list(request: Request, session: DbSession, actor: CurrentActor) -> Response:
    datasets.ensure_synced(session)
    rows = [
        d
        for d in session.scalars(
            select(OpenDataset).where(OpenDataset.withdrawn.is_(False)).order_by(OpenDataset.code)
        )
        if policy.can_manage(actor, d.department_id)
    ]
    current = {
        r.dataset_id: r
        for r in session.scalars(
            select(Release).where(Release.status == ReleaseStatus.PUBLISHED.value)
        )
    }
    return render(
        request,
        "opendata/releases_list.html",
        {"title": "开放数据发布", "rows": rows, "current": current},
    )


@router.get("/opendata/datasets/{code:path}/release")
def release_page(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    code: Code,
    msg: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    dataset = releases.managed_dataset(session, actor, code)
    history = releases.list_releases(session, actor, code)
    pool = releases.pool_of(session, dataset)
    rules = releases.rules_view(session, actor, code)
    given_k = [int(r.params["k"]) for r in rules if "k" in r.params]
    return render(
        request,
        "opendata/releases_dataset.html",
        {
            "title": f"开放数据发布 · {dataset.name}",
            "dataset": dataset,
            "rules": rules,
            "default_k": leakscan.DEFAULT_K,
            "current_k": max(given_k, default=leakscan.DEFAULT_K),
            "history": history,
            "building": any(r.status == ReleaseStatus.BUILDING.value for r in history),
            "local_progress": tasks.LOCAL_PROGRESS,
            "pool": pool,
            "methods": list(RuleMethod),
            "labels": {s.value: s.label for s in ReleaseStatus},
            "generalize": [(g, GENERALIZE_LABELS[g]) for g in GENERALIZE_TO],
            "flash": FLASHES.get(msg or ""),
        },
    )


def _int_param(value: str, label: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    if not value.isdigit():
        raise InvalidInput("opendata.rule_params", f"{label}须为非负整数。")
    return int(value)


@router.post("/opendata/datasets/{code:path}/release/rules")
def save_rules(
    session: DbSession,
    actor: CurrentActor,
    code: Code,
    item: Annotated[list[str], Form(max_length=500)],
    method: Annotated[list[str], Form(max_length=500)],
    keep_first: Annotated[list[str], Form(max_length=500)],
    keep_last: Annotated[list[str], Form(max_length=500)],
    to: Annotated[list[str], Form(max_length=500)],
    band: Annotated[list[str], Form(max_length=500)],
    qi: Annotated[list[str], Form(max_length=500)] = [],  # noqa: B006 - FastAPI copies it
    k: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    if not len(item) == len(method) == len(keep_first) == len(keep_last) == len(to) == len(band):
        raise InvalidInput("opendata.rule_form", "规则表单不完整，请刷新页面后重试。")
    rules: list[dict[str, Any]] = []
    for i, name in enumerate(item):
        params: dict[str, Any] = {}
        if method[i] == RuleMethod.MASK.value:
            for key, raw, label in (
                ("keep_first", keep_first[i], "保留前几位"),
                ("keep_last", keep_last[i], "保留后几位"),
            ):
                n = _int_param(raw, label)
                if n is not None:
                    params[key] = n
        elif method[i] == RuleMethod.GENERALIZE.value:
            params["to"] = to[i]
            n = _int_param(band[i], "年龄段跨度")
            if n is not None:
                params["band"] = n
        threshold = _int_param(k, "k 值")
        if threshold is not None and name in qi:  # the scan takes the largest k given
            params["k"] = threshold
        rules.append(
            {"item": name, "method": method[i], "params": params, "quasi_identifier": name in qi}
        )
    releases.set_rules(session, actor, code, rules)
    return RedirectResponse(f"/opendata/datasets/{code}/release?msg=rules", status_code=303)


@router.post("/opendata/datasets/{code:path}/release/build")
def start_build(
    request: Request,
    background: BackgroundTasks,
    session: DbSession,
    actor: CurrentActor,
    code: Code,
) -> Response:
    release = releases.request_build(session, actor, code)
    start_in_background(request, background, release.id)
    return RedirectResponse(f"/opendata/datasets/{code}/release?msg=build", status_code=303)


@router.post("/opendata/datasets/{code:path}/release/{release_id}/publish")
def publish(session: DbSession, actor: CurrentActor, code: Code, release_id: DbId) -> Response:
    releases.publish(session, actor, code, release_id)
    return RedirectResponse(f"/opendata/datasets/{code}/release?msg=published", status_code=303)
