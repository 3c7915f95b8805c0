"""Share catalog pages (Art. 24–26): ``/sharing/catalog`` (search, filters, paging),
``/sharing/catalog/export.xlsx`` (the spreadsheet officers keep) and ``/sharing/catalog/{code}``
(a source with its info items, the register/apply button or, for a "not shared" source, the
objection link, and the department's grants on it).

Thin: every rule is in ``sharing.catalog``.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from govdata.catalog import vocabularies
from govdata.catalog.vocab import DataType, ShareType
from govdata.core import calendar
from govdata.core.types import MAX_DB_ID, Offset
from govdata.sharing import catalog, grant_views, grants, policy
from govdata.sharing.models import SourceKind
from govdata.web.deps import CurrentActor, DbSession, form_csrf
from govdata.web.download import content_disposition, export_name
from govdata.web.templating import render

router = APIRouter(prefix="/sharing", dependencies=[Depends(form_csrf)], include_in_schema=False)
PAGE = 50
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

SHARE_CHOICES = [(s.value, s.label) for s in ShareType]
KIND_CHOICES = [(k.value, k.label) for k in SourceKind]
LOADED_CHOICES = [("1", "已汇聚"), ("0", "未汇聚")]


def _filters(
    q: str, department_id: str | None, share_type: str | None, kind: str | None, loaded: str | None
) -> catalog.CatalogFilters:
    """The query string as filters; a value that is not one of the choices is ignored."""
    dept = (
        int(department_id)
        if department_id and department_id.isascii() and department_id.isdecimal()
        else None
    )
    if dept is not None and not 1 <= dept <= MAX_DB_ID:
        dept = None
    return catalog.CatalogFilters(
        q=q.strip(),
        department_id=dept,
        share_type=share_type if share_type in {s.value for s in ShareType} else None,
        kind=kind if kind in {k.value for k in SourceKind} else None,
        loaded={"1": True, "0": False}.get(loaded or ""),
    )


def _query(flt: catalog.CatalogFilters) -> str:
    values = {
        "q": flt.q,
        "department_id": str(flt.department_id) if flt.department_id else "",
        "share_type": flt.share_type or "",
        "kind": flt.kind or "",
        "loaded": "" if flt.loaded is None else ("1" if flt.loaded else "0"),
    }
    return urlencode({k: v for k, v in values.items() if v})


def _type_label(code: str) -> str:
    parsed = DataType.parse(code)
    return f"{parsed.label}（{code}）" if parsed is not None else code


def _ctx(session: Session, **kw: Any) -> dict[str, Any]:
    cycle_label = vocabularies.label_function(session, vocabularies.UPDATE_CYCLE)
    return {"cycle_label": cycle_label, "type_label": _type_label, **kw}


Q = Annotated[str, Query(max_length=catalog.MAX_QUERY)]
Short = Annotated[str | None, Query(max_length=20)]


@router.get("/catalog")
def catalog_list(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    q: Q = "",
    department_id: Short = None,
    share_type: Short = None,
    kind: Short = None,
    loaded: Short = None,
    offset: Offset = 0,
) -> Response:
    flt = _filters(q, department_id, share_type, kind, loaded)
    page, providers = catalog.browse_with_providers(session, actor, flt, offset=offset, limit=PAGE)
    query = _query(flt)
    return render(
        request,
        "sharing/catalog.html",
        _ctx(
            session,
            title="共享目录",
            page=page,
            flt=flt,
            providers=providers,
            share_choices=SHARE_CHOICES,
            kind_choices=KIND_CHOICES,
            loaded_choices=LOADED_CHOICES,
            loaded_value="" if flt.loaded is None else ("1" if flt.loaded else "0"),
            base_query=query,
            export_url="/sharing/catalog/export.xlsx" + (f"?{query}" if query else ""),
        ),
    )


@router.get("/catalog/export.xlsx")
def catalog_export(
    session: DbSession,
    actor: CurrentActor,
    q: Q = "",
    department_id: Short = None,
    share_type: Short = None,
    kind: Short = None,
    loaded: Short = None,
) -> Response:
    flt = _filters(q, department_id, share_type, kind, loaded)
    body = catalog.export_xlsx(session, actor, flt)
    name = content_disposition(
        export_name("政务数据共享目录", ext="xlsx"),
        fallback=export_name("share-catalog", ext="xlsx"),
    )
    return Response(body, media_type=XLSX, headers={"Content-Disposition": name})


@router.get("/catalog/{code:path}")
def catalog_entry(request: Request, session: DbSession, actor: CurrentActor, code: str) -> Response:
    entry = catalog.get_entry(session, actor, code[:64])
    own = catalog.own_grants(session, actor, entry.code)
    today = calendar.today()
    return render(
        request,
        "sharing/catalog_entry.html",
        _ctx(
            session,
            title=entry.name,
            e=entry,
            s=entry.source,
            grants=own,
            states={g.id: grants.state(g, today) for g in own},
            STATE_LABELS=grants.STATE_LABELS,
            names=grant_views.labels(session, own).departments,
            # Art. 26 ¶2: a department applies for another's data, not its own.
            can_apply=entry.shared
            and policy.can_apply(actor)
            and bool(policy.department_ids(actor) - {entry.source.provider_department_id}),
        ),
    )
