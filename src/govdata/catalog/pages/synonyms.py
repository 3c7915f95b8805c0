"""The search synonyms page (检索同义词): everyone who searches reads the list; the city bureau
keeps it (Art. 12 ¶3, 32)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from govdata.catalog import policy, synonyms
from govdata.catalog.pages.common import _page, _refused
from govdata.core.errors import DomainError
from govdata.core.types import DbId
from govdata.org import policy as org_policy
from govdata.web.deps import CurrentActor, DbSession

router = APIRouter()

FLASHES = {"added": "已添加检索同义词。", "removed": "已删除检索同义词。"}


def _list(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    *,
    error: str | None = None,
    form: dict[str, str] | None = None,
    msg: str | None = None,
    status_code: int = 200,
) -> Response:
    policy.require_read_published(actor)
    return _page(
        request,
        "catalog/synonyms.html",
        {
            "rows": synonyms.list_synonyms(session),
            "can_keep": org_policy.is_city_admin(actor),
            "error": error,
            "form": form or {},
            "flash": FLASHES.get(msg or ""),
            "max_chars": synonyms.MAX_CHARS,
        },
        status_code=status_code,
    )


@router.get("/synonyms")
def synonyms_page(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    msg: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    return _list(request, session, actor, msg=msg)


@router.post("/synonyms")
def add_synonym(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    word: Annotated[str, Form(max_length=200)] = "",
    expansion: Annotated[str, Form(max_length=200)] = "",
    both_ways: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    try:
        synonyms.add(session, actor, word, expansion, both_ways=bool(both_ways))
    except DomainError as exc:
        message = _refused(session, exc)
        form = {"word": word, "expansion": expansion, "both_ways": both_ways}
        return _list(request, session, actor, error=message, form=form, status_code=exc.status)
    return RedirectResponse("/catalog/synonyms?msg=added", status_code=303)


@router.post("/synonyms/{synonym_id}/delete")
def remove_synonym(
    request: Request, session: DbSession, actor: CurrentActor, synonym_id: DbId
) -> Response:
    try:
        synonyms.remove(session, actor, synonym_id)
    except DomainError as exc:
        return _list(request, session, actor, error=_refused(session, exc), status_code=exc.status)
    return RedirectResponse("/catalog/synonyms?msg=removed", status_code=303)
