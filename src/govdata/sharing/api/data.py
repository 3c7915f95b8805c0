"""JSON API: the data access API for department systems under ``/api/v1/sharing/data``
(Art. 22, 26 ¶2, 40, 50(4)(5)).

Thin: ``sharing.data`` checks the grant (``access.authorize``), the quota, the rows and items,
and writes the access record before anything is returned. Token-authenticated
(``sharing:read``); each call states its purpose.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from govdata.core.errors import NotAuthenticated
from govdata.core.types import DbId
from govdata.sharing import data, hotpath
from govdata.sharing.applications import PURPOSE_CODE
from govdata.web.deps import (
    SESSION_COOKIE,
    ApiActor,
    CurrentActor,
    DbSession,
    unit_of_work,
)

router = APIRouter(prefix="/data")

# Every refusal of the data access API, by status: documented on each route.
_REFUSALS_403 = (
    "auth.scope_missing（令牌缺少 sharing:read）、sharing.system_required（非接口令牌）、"
    "sharing.no_grant（无此授权）、sharing.grant_other_department（非本部门授权）、"
    "sharing.system_not_named（授权未列明本系统）、sharing.grant_revoked（已撤销）、"
    "sharing.grant_expired（已过期）、sharing.grant_not_yet_valid（未生效）、"
    "sharing.purpose_mismatch（用途不符）、sharing.verification_only（仅可核验）、"
    "sharing.item_not_granted（信息项未授权）、sharing.outside_row_conditions（超出数据范围）"
)


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/json": {
                "example": {"error": {"code": "sharing.no_grant", "message": "…", "detail": None}}
            }
        },
    }


RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _error(
        "输入有误：sharing.bad_cursor（分页游标无效）、sharing.bad_limit、sharing.too_many_filters、"
        "sharing.values_required"
    ),
    401: _error("auth.required / auth.invalid_token：未提供或提供了无效的接口令牌"),
    403: _error("拒绝调用：" + _REFUSALS_403),
    404: _error(
        "sharing.subject_not_found（未找到该主体，或该主体不在授权的数据范围内，二者答复相同）、"
        "sharing.source_not_loaded（资源尚未汇聚数据）"
    ),
    422: _error("request.invalid：参数不符合要求（如未声明用途 purpose）"),
    429: _error(
        "sharing.quota_exceeded（授权当日调用次数已用完，Retry-After 至北京时间次日零时）、"
        "request.rate_limited（令牌调用频率超限，Retry-After 为等待秒数）"
    ),
    503: _error("sharing.record_unavailable：调用记录无法写入，本次调用未返回任何数据（第四十条）"),
}

# What a registration or application accepted as a purpose code (ASCII, no control
# characters: it is stored in the access record as given).
PURPOSE_PATTERN = PURPOSE_CODE.pattern

Purpose = Annotated[
    str,
    Query(
        min_length=1,
        max_length=64,
        pattern=PURPOSE_PATTERN,
        description="本次调用的用途代码，须与授权的用途一致（第五十条第（五）项）",
    ),
]
Items = Annotated[
    str | None,
    Query(
        max_length=2000,
        description="需要的信息项名称，以英文逗号分隔；不填则为授权的全部信息项",
    ),
]
SubjectKey = Annotated[
    str,
    Path(
        min_length=1,
        max_length=64,
        description="主体标识：公民身份号码、统一社会信用代码、要素编码或证照编号",
    ),
]


class LookupQuery(BaseModel):
    """The lookup route's parameters with the route's own constraints: what the hot dispatch
    (``sharing.hot_dispatch``) validates before it serves a lookup without routing."""

    subject_key: SubjectKey
    purpose: Purpose
    items: Items = None


def requested_items(raw: str | None) -> list[str] | None:
    if raw is None:
        return None
    names = [n.strip() for n in raw.split(",") if n.strip()]
    return names or None


class LookupOut(BaseModel):
    grant_id: int
    source_code: str = Field(description="资源代码")
    subject_key: str = Field(description="主体标识（规范化后）")
    values: dict[str, Any] = Field(description="所请求且已授权的信息项及其值")
    signed_document: dict[str, Any] | None = Field(
        default=None,
        description="文书类、证照类、合同类资源（第二十八条）：提供部门以 SM2 签名的交付件"
        "（document 与 signature），可保存为文件并以 govdata verify 或 /verify 页面离线核验；"
        "其他资源为 null",
    )


class VerifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    purpose: str = Field(
        min_length=1, max_length=64, pattern=PURPOSE_PATTERN, description="本次调用的用途代码"
    )
    subject_key: str = Field(
        min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$", description="主体标识"
    )
    values: dict[str, str | int | float | bool | None] = Field(
        max_length=50, description="待核验的信息项及调用方持有的值；信息项须在授权范围内"
    )


class VerifyOut(BaseModel):
    grant_id: int
    match: bool = Field(description="全部信息项一致时为 true")
    items: dict[str, bool] = Field(description="逐项核验结果；不返回任何已存储的值")


class RowsOut(BaseModel):
    grant_id: int
    source_code: str
    items: list[str] = Field(description="返回的信息项（授权范围内）")
    rows: list[dict[str, Any]]
    next_cursor: str | None = Field(description="下一页游标；为空表示已到最后一页")
    as_of: datetime = Field(description="本次查询的时间；增量同步时作为下次的 changed_since")
    changed_since: datetime | None


LOOKUP_DESCRIPTION = (
    "部门信息系统按授权查询一个主体（自然人、法人等）的共享数据，只返回授权范围内且本次"
    "请求的信息项（第二十二条、第二十六条第二款）。不在授权数据范围内的主体与不存在的主体"
    "答复相同。每次调用均先写入调用记录再返回数据（第四十条）。"
)
VERIFY_DESCRIPTION = (
    "核验调用方持有的信息项值与共享数据是否一致，只答复是否一致，不返回任何已存储的值；"
    "数据获取授权与仅核验授权均可调用，核验的信息项须在授权范围内。比较时去除首尾空白，"
    "主体标识与身份证号码中的字母不区分大小写。"
)


def _require_credentials(request: Request) -> None:
    """As ``unit_of_work``'s precheck: no credentials at all is 401 before anything else."""
    if not request.headers.get("authorization") and not request.cookies.get(SESSION_COOKIE):
        raise NotAuthenticated()


# The ordinary path: one unit of work (SQLite, and PostgreSQL with the hot path off).
def _lookup(
    session: DbSession,
    actor: CurrentActor,
    grant_id: int,
    subject_key: str,
    purpose: str,
    items: str | None,
) -> LookupOut:
    r = data.lookup(
        session, actor, grant_id, subject_key, purpose=purpose, items=requested_items(items)
    )
    return LookupOut(
        grant_id=r.grant_id,
        source_code=r.source_code,
        subject_key=r.subject_key,
        values=r.values,
        signed_document=r.signed_document,
    )


def _verify(session: DbSession, actor: ApiActor, grant_id: int, body: VerifyIn) -> VerifyOut:
    r = data.verify(
        session, actor, grant_id, body.subject_key, purpose=body.purpose, values=body.values
    )
    return VerifyOut(grant_id=r.grant_id, match=r.match, items=r.items)


_lookup_uow = unit_of_work(_lookup)
_verify_uow = unit_of_work(_verify)


@router.get(
    "/{grant_id}/subjects/{subject_key}",
    response_model=LookupOut,
    responses=RESPONSES,
    summary="按主体标识查询共享数据",
    description=LOOKUP_DESCRIPTION,
)
async def lookup(
    request: Request,
    grant_id: DbId,
    subject_key: SubjectKey,
    purpose: Purpose,
    items: Items = None,
) -> Any:
    """The hot path where there is one and the caller is a token (decision 0014), else the
    unit of work (which also answers a signed-in person's call: ``sharing.system_required``)."""
    hot = hotpath.for_app(request.app)
    if hot is not None and hotpath.has_bearer(request):
        return await hot.serve(
            request, "lookup", grant_id, subject_key, purpose, requested_items(items)
        )
    _require_credentials(request)
    return await _lookup_uow(
        request, grant_id=grant_id, subject_key=subject_key, purpose=purpose, items=items
    )


@router.post(
    "/{grant_id}/verify",
    response_model=VerifyOut,
    responses=RESPONSES,
    summary="数据核验",
    description=VERIFY_DESCRIPTION,
)
async def verify(request: Request, grant_id: DbId, body: VerifyIn) -> Any:
    hot = hotpath.for_app(request.app)
    if hot is not None and hotpath.has_bearer(request):
        return await hot.serve(
            request,
            "verify",
            grant_id,
            body.subject_key,
            body.purpose,
            None,
            values=dict(body.values),
        )
    _require_credentials(request)
    return await _verify_uow(request, grant_id=grant_id, body=body)


RESERVED = frozenset({"purpose", "items", "cursor", "limit", "changed_since"})


@router.get(
    "/{grant_id}/rows",
    response_model=RowsOut,
    responses=RESPONSES,
    summary="分页查询与增量同步",
    description=(
        "按授权分页获取数据，按主体标识排序；其余查询参数 <信息项>=<值> 为筛选条件（信息项须在"
        "授权范围内；授权数据范围所依据的信息项只能取允许的值，否则拒绝）。授权的数据范围始终"
        "适用。传 changed_since 为增量同步：资源池返回其后完成的汇聚批次写入的行，基础数据库"
        "返回所授权信息项其后更新过的行，主题数据库在其后重建时返回全部行。删除的行不在增量中，"
        "需要时请全量同步。"
    ),
)
@unit_of_work
def rows(
    session: DbSession,
    actor: CurrentActor,
    request: Request,
    grant_id: DbId,
    purpose: Purpose,
    items: Items = None,
    cursor: Annotated[str | None, Query(max_length=500, description="分页游标")] = None,
    limit: Annotated[int, Query(ge=1, le=data.MAX_LIMIT, description="每页条数")] = (
        data.DEFAULT_LIMIT
    ),
    changed_since: Annotated[
        datetime | None,
        Query(description="增量同步：只返回此时间之后变化的数据（ISO 8601；不带时区时按 UTC）"),
    ] = None,
) -> RowsOut:
    filters = {k: v for k, v in request.query_params.items() if k not in RESERVED}
    r = data.rows(
        session,
        actor,
        grant_id,
        purpose=purpose,
        items=requested_items(items),
        filters=filters,
        cursor=cursor,
        limit=limit,
        changed_since=changed_since,
    )
    return RowsOut(
        grant_id=r.grant_id,
        source_code=r.source_code,
        items=r.items,
        rows=r.rows,
        next_cursor=r.next_cursor,
        as_of=r.as_of,
        changed_since=r.changed_since,
    )
