"""Correction pages (校核, Art. 19) under ``/aggregation``: the incoming corrections of a
providing department with their clocks and overdue flags, what a department applied for, the
bureau's overview with overdue counts, the application form, and a correction's page with the
answer form (officers, head) and the extension form (head).

Thin: every rule is in ``aggregation.corrections`` and ``aggregation.policy``. A refused form is
shown again with the message and what was typed; the unit of work is ended first so that nothing
of it is stored.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.aggregation import corrections, policy, pools
from govdata.aggregation.errors import POOL_NOT_FOUND
from govdata.aggregation.models import Correction, CorrectionStatus, Pool
from govdata.core import calendar
from govdata.core.actor import Actor
from govdata.core.db import finish_failed
from govdata.core.errors import DomainError, InvalidInput
from govdata.core.types import MAX_DB_ID, DbId, Offset
from govdata.core.workdays import MAX_EXTENSION_WORKING_DAYS
from govdata.org.models import Person
from govdata.web.deps import CurrentActor, DbSession
from govdata.web.templating import render

router = APIRouter()
PAGE = 50

FLASHES = {
    "applied": "校核申请已提交，数据提供部门应当自收到之日起10个工作日内予以校核。",
    "accepted": "已答复：予以更正，数据资源池中的数据已更新。",
    "rejected": "已答复：不予更正。",
    "extended": "已批准延长校核期限。",
}
VIEWS = {
    "incoming": "待本部门校核",
    "outgoing": "本部门提出的申请",
    "all": "全部校核",
}
STATUS_CHOICES = [(s.value, s.label) for s in CorrectionStatus]


def _ctx(**kw: Any) -> dict[str, Any]:
    return {
        "CorrectionStatus": CorrectionStatus,
        "CHANNEL_LABELS": corrections.CHANNEL_LABELS,
        "APPLICANT_LABELS": corrections.APPLICANT_LABELS,
        "UNDER_CORRECTION_NOTE": corrections.UNDER_CORRECTION_NOTE,
        "SOURCE_NOTE": corrections.SOURCE_NOTE,
        **kw,
    }


def _refused(session: Session, exc: DomainError) -> str:
    finish_failed(session, exc)
    return exc.message


def _labels(session: Session, actor: Actor, items: list[Correction]) -> dict[str, Any]:
    by_id = corrections.pools_by_id(session, (c.pool_id for c in items))
    return {
        "pools": by_id,
        "depts": corrections.departments(
            session, [x for c in items for x in (c.department_id, c.applicant_department_id)]
        ),
        # Each correction's key and values as the actor reads them (auditors: masked, issue 16).
        "shown": {c.id: corrections.view(actor, by_id[c.pool_id], c) for c in items},
    }


# --- the list -----------------------------------------------------------------------------------


@router.get("/corrections")
def correction_list(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    view: Annotated[str | None, Query(max_length=20)] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
    overdue: Annotated[str | None, Query(max_length=5)] = None,
    department_id: Annotated[str | None, Query(max_length=12)] = None,
    offset: Offset = 0,
) -> Response:
    views = policy.correction_views(actor)
    current = view if view in views else views[0]
    direction = None if current == "all" else current
    status_value = status if status in {s.value for s in CorrectionStatus} else None
    overdue_only = overdue == "1"
    dept = int(department_id) if department_id and department_id.isdecimal() else None
    if dept is not None and not 1 <= dept <= MAX_DB_ID:
        dept = None
    page = corrections.list_corrections(
        session,
        actor,
        status=status_value,
        department_id=dept,
        overdue_only=overdue_only,
        direction=direction,
        offset=offset,
        limit=PAGE,
    )
    cal = calendar.load_calendar(session)
    today = calendar.today()
    by_department = corrections.counts_by_department(session, actor) if current == "all" else []
    query = {
        k: v
        for k, v in {
            "view": current,
            "status": status_value or "",
            "overdue": "1" if overdue_only else "",
            "department_id": str(dept) if dept else "",
        }.items()
        if v
    }
    return render(
        request,
        "aggregation/corrections.html",
        _ctx(
            title="数据校核",
            can_apply=policy.can_apply_correction(actor),
            views=[(v, VIEWS[v]) for v in views],
            current=current,
            page=page,
            clocks={c.id: corrections.clock(c, cal, today) for c in page.items},
            counts=corrections.counts(session, actor, direction=direction),
            by_department=by_department,
            status=status_value or "",
            overdue_only=overdue_only,
            department_id=dept,
            status_choices=STATUS_CHOICES,
            base_query=urlencode(query),
            today=today,
            **_labels(session, actor, page.items),
        ),
    )


# --- the application form (Art. 19 ¶2) ---------------------------------------------------------


def _new_page(
    request: Request,
    session: Session,
    actor: Actor,
    *,
    pool_id: int | None,
    key: str,
    item: str,
    v: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    policy.require_staff(actor)
    pool: Pool | None = pools.get_pool(session, actor, pool_id) if pool_id else None
    refusal: str | None = None
    target: corrections.Target | None = None
    lookup_error: str | None = None
    existing: Correction | None = None
    if pool is not None:
        try:
            corrections.check_applicant(session, actor, pool)
        except DomainError as exc:
            refusal = exc.message
        if key and item and refusal is None:
            try:
                target = corrections.locate(session, pool, key, item)
            except DomainError as exc:
                lookup_error = exc.message
            if target is not None:
                existing = corrections.open_correction(
                    session, pool.id, target.subject_key, target.item_name
                )
    choices = pools.list_pools(session, actor) if pool is None else []
    key_name = (
        next((c["name"] for c in pool.columns if c["column"] == pool.subject_column), None)
        if pool is not None
        else None
    )
    return render(
        request,
        "aggregation/correction_new.html",
        _ctx(
            title="申请数据校核",
            pool=pool,
            pool_choices=choices,
            key=key,
            key_name=key_name,
            item=item,
            items=[c["name"] for c in pool.columns if c["column"] != pool.subject_column]
            if pool is not None
            else [],
            refusal=refusal,
            # "请直接更正": the way to do it, for the pool's own department (issue 16).
            correct_own=pool is not None
            and refusal is not None
            and policy.can_correct_own(actor, pool.department_id),
            target=target,
            lookup_error=lookup_error,
            existing=existing,
            v=v or {},
            error=error,
        ),
        status_code=status_code,
    )


def _pool_param(value: str | None) -> int | None:
    if value and value.isascii() and value.isdecimal() and 1 <= int(value) <= MAX_DB_ID:
        return int(value)
    return None


@router.get("/corrections/new")
def correction_form(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    pool: Annotated[str | None, Query(max_length=12)] = None,
    key: Annotated[str, Query(max_length=64)] = "",
    item: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    return _new_page(
        request, session, actor, pool_id=_pool_param(pool), key=key.strip(), item=item.strip()
    )


@router.post("/corrections")
def apply(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    pool: Annotated[str, Form(max_length=12)] = "",
    key: Annotated[str, Form(max_length=64)] = "",
    item: Annotated[str, Form(max_length=100)] = "",
    proposed_value: Annotated[str, Form(max_length=4000)] = "",
    reason: Annotated[str, Form(max_length=4000)] = "",
    evidence: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    policy.require_staff(actor)  # the public applies on the open portal (Ch. 5)
    pool_id = _pool_param(pool)
    v = {"proposed_value": proposed_value, "reason": reason, "evidence": evidence}
    try:
        if pool_id is None:
            raise InvalidInput("aggregation.correction_pool_required", "请选择数据资源。")
        c = corrections.apply(
            session,
            actor,
            pool_id=pool_id,
            subject_key=key,
            item_name=item,
            proposed_value=proposed_value or None,
            reason=reason,
            evidence=evidence,
        )
    except DomainError as exc:
        if exc.status == 403 or exc.code == POOL_NOT_FOUND:
            raise
        message = _refused(session, exc)
        return _new_page(
            request,
            session,
            actor,
            pool_id=pool_id,
            key=key.strip(),
            item=item.strip(),
            v=v,
            error=message,
            status_code=422,
        )
    return RedirectResponse(f"/aggregation/corrections/{c.id}?msg=applied", status_code=303)


# --- one correction: answer (Art. 19 ¶2) and extension -----------------------------------------


def _detail(
    request: Request,
    session: Session,
    actor: Actor,
    c: Correction,
    *,
    flash: str | None = None,
    error: str | None = None,
    error_form: str | None = None,
    v: dict[str, str] | None = None,
    revealed: corrections.RevealedCorrection | None = None,
    reveal_error: str | None = None,
    status_code: int = 200,
) -> Response:
    cal = calendar.load_calendar(session)
    today = calendar.today()
    clk = corrections.clock(c, cal, today)
    people = {
        p.id: p.name
        for p in session.scalars(
            select(Person).where(
                Person.id.in_([x for x in (c.answered_by, c.extended_by) if x is not None])
            )
        )
    }
    is_open = c.status == CorrectionStatus.OPEN
    pool_visible = True
    try:
        pools.get_pool(session, actor, c.pool_id)
    except DomainError:
        pool_visible = False
    labels = _labels(session, actor, [c])
    shown: corrections.CorrectionView = labels["shown"][c.id]
    return render(
        request,
        "aggregation/correction.html",
        _ctx(
            title=f"校核申请第 {c.id} 号",
            c=c,
            clock=clk,
            people=people,
            live=corrections.live_text(session, actor, c, shown.masks),
            view=shown,
            revealed=revealed,
            reveal_error=reveal_error,
            pool_visible=pool_visible,
            show_value=policy.shows_correction_value(actor),
            can_answer=is_open and policy.can_answer_correction(actor, c),
            can_extend=is_open
            and policy.can_extend_correction(actor, c)
            and c.extension_days == 0
            and today <= c.due_on,
            max_extension=MAX_EXTENSION_WORKING_DAYS,
            flash=flash,
            flash_kind="ok",
            error=error,
            error_form=error_form,
            v=v or {"corrected_value": c.proposed_value or ""},
            **labels,
        ),
        status_code=status_code,
    )


@router.get("/corrections/{correction_id}")
def correction_page(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    correction_id: DbId,
    msg: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    c = corrections.get_correction(session, actor, correction_id)
    return _detail(request, session, actor, c, flash=FLASHES.get(msg or ""))


@router.post("/corrections/{correction_id}/reveal")
def reveal(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    correction_id: DbId,
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """An auditor sees the correction's values unmasked, having said why (issue 16; audited).
    The answer is this page, not a redirect: no unmasked value in a URL or the history."""
    try:
        shown = corrections.reveal(session, actor, correction_id, reason)
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        message = _refused(session, exc)
        c = corrections.get_correction(session, actor, correction_id)
        return _detail(request, session, actor, c, reveal_error=message, status_code=exc.status)
    c = corrections.get_correction(session, actor, correction_id)
    response = _detail(request, session, actor, c, revealed=shown)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/corrections/{correction_id}/answer")
def answer(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    correction_id: DbId,
    decision: Annotated[str, Form(max_length=10)] = "",
    answer: Annotated[str, Form(max_length=4000)] = "",
    corrected_value: Annotated[str, Form(max_length=4000)] = "",
    clear: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    v = {"answer": answer, "corrected_value": corrected_value, "clear": clear}
    try:
        if decision not in ("accept", "reject"):
            raise InvalidInput("aggregation.correction_decision_required", "请选择答复结论。")
        accept = decision == "accept"
        value: str | None = corrected_value.strip() or None
        if clear:
            value = ""
        corrections.answer(
            session, actor, correction_id, accept=accept, answer=answer, corrected_value=value
        )
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        message = _refused(session, exc)
        c = corrections.get_correction(session, actor, correction_id)
        return _detail(
            request, session, actor, c, error=message, error_form="answer", v=v, status_code=422
        )
    msg = "accepted" if accept else "rejected"
    return RedirectResponse(f"/aggregation/corrections/{correction_id}?msg={msg}", status_code=303)


@router.post("/corrections/{correction_id}/extension")
def extend(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    correction_id: DbId,
    days: Annotated[str, Form(max_length=4)] = "",
    reason: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    v = {"days": days, "reason": reason}
    try:
        if not (days.isascii() and days.strip().isdecimal()):
            raise InvalidInput("aggregation.extension_days_required", "请填写延长的工作日数。")
        corrections.extend(session, actor, correction_id, days=int(days), reason=reason)
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        message = _refused(session, exc)
        c = corrections.get_correction(session, actor, correction_id)
        return _detail(
            request,
            session,
            actor,
            c,
            error=message,
            error_form="extension",
            v=v,
            status_code=422,
        )
    return RedirectResponse(
        f"/aggregation/corrections/{correction_id}?msg=extended", status_code=303
    )
