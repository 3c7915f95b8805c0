"""The code lists page (代码表, /catalog/vocabularies/{list}): the city bureau publishes a list's
next version and applies its mapping to resources; all staff read the lists (issue 16; Art. 11,
12 ¶3). /catalog/vocabularies is the first list (安全级别); the page links the others.

``load_lists`` runs before every catalog page: the bureau's current lists label stored values
and fill the resource form's choices and the filters' options (one small read).
"""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from govdata.catalog import policy, vocabularies, vocabulary_flags
from govdata.catalog.models import ResourceState
from govdata.catalog.pages.common import FormIn, _page, _refused, _text
from govdata.core.errors import DomainError, InvalidInput
from govdata.web.deps import CurrentActor, DbSession

router = APIRouter()

FLASHES = {
    "published": "已发布代码表的新版本。",
    "applied": "已按对应关系更新资源。",
}
BLANK_ROWS = 3


def load_lists(request: Request, session: DbSession) -> None:
    """The current code lists for the page about to be rendered (``common._page``)."""
    request.state.vocabs = vocabularies.current_all(session)


def _address(name: str, msg: str = "") -> str:
    return f"/catalog/vocabularies/{name}" + (f"?msg={msg}" if msg else "")


def _list(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    name: str,
    *,
    error: str | None = None,
    form: dict[str, str] | None = None,
    edit_rows: list[dict[str, object]] | None = None,
    msg: str | None = None,
    status_code: int = 200,
) -> Response:
    policy.require_read_published(actor)
    vocab = vocabularies.current(session, name)
    rows = vocabularies.versions(session, name)
    flagged = vocabulary_flags.flagged(session, name, actor)
    mine, mine_total = vocabulary_flags.flagged_resources(session, actor, name)
    if edit_rows is None:
        edit_rows = [
            {"code": e.code, "label": e.label, "position": str(e.position), "existing": True}
            for e in vocab.active
        ]
        edit_rows += [
            {"code": "", "label": "", "position": "", "existing": False} for _ in range(BLANK_ROWS)
        ]
    return _page(
        request,
        "catalog/vocabularies.html",
        {
            "name": name,
            "lists": vocabularies.LISTS,
            "vocab_now": vocab,
            "held": partial(vocabulary_flags.held, name=name),
            "history": rows,
            "flagged": flagged,
            "to_remap": sum(f.remappable for f in flagged),
            "mine": mine,
            "mine_total": mine_total,
            "editable": {s.value for s in vocabulary_flags.REMAPPABLE},
            # Those who may edit go to the form; readers (auditors, bureaus) to the resource.
            "edits": {
                r.id
                for r in mine
                if r.state in vocabulary_flags.REMAPPABLE
                and policy.can_edit_list(actor, r.department_id)
            },
            "state_label": lambda state: ResourceState(state).label,
            "can_keep": vocabularies.can_maintain(actor),
            "error": error,
            "form": form or {},
            "flash": FLASHES.get(msg or ""),
            "edit_rows": edit_rows,
            "max_code": vocab.spec.max_code,
            "max_label": vocabularies.MAX_LABEL,
        },
        status_code=status_code,
    )


Msg = Annotated[str | None, Query(max_length=20)]


@router.get("/vocabularies")
def vocabularies_page(
    request: Request, session: DbSession, actor: CurrentActor, msg: Msg = None
) -> Response:
    return _list(request, session, actor, vocabularies.SECURITY_LEVEL, msg=msg)


@router.get("/vocabularies/{name}")
def vocabulary_page(
    request: Request, session: DbSession, actor: CurrentActor, name: str, msg: Msg = None
) -> Response:
    return _list(request, session, actor, name[:40], msg=msg)


def _posted_rows(form: FormIn, vocab: vocabularies.Vocabulary) -> list[dict[str, object]]:
    """The rows as the bureau filled them, to show again with a refusal."""
    retire = {r for r in form.getlist("retire") if isinstance(r, str)}
    out: list[dict[str, object]] = []
    for code, label, order in zip(
        form.getlist("code"), form.getlist("label"), form.getlist("position"), strict=False
    ):
        code_s = code if isinstance(code, str) else ""
        out.append(
            {
                "code": code_s,
                "label": label if isinstance(label, str) else "",
                "position": order if isinstance(order, str) else "",
                "existing": vocab.is_active(code_s.strip()),
                "retire": code_s in retire,
                "map": _text(form, f"map_{code_s}"),
            }
        )
    return out


def _parse(
    form: FormIn, vocab: vocabularies.Vocabulary
) -> tuple[list[vocabularies.EntryIn], dict[str, str]]:
    """The form's rows (in the order their 顺序 says) and the mapping of the rows marked 停用;
    a mapping's target may be given by code or by label of the new version."""
    codes = [c if isinstance(c, str) else "" for c in form.getlist("code")]
    labels = [c if isinstance(c, str) else "" for c in form.getlist("label")]
    orders = [c if isinstance(c, str) else "" for c in form.getlist("position")]
    if not (len(codes) == len(labels) == len(orders)):
        raise InvalidInput("catalog.vocab_form_broken", "表单内容不完整，请刷新页面后重新填写。")
    retire = {r for r in form.getlist("retire") if isinstance(r, str)}
    rows: list[tuple[float, int, vocabularies.EntryIn]] = []
    for n, (code, label, order) in enumerate(zip(codes, labels, orders, strict=True)):
        if code.strip() in retire:
            continue
        try:
            place = float(order) if order.strip() else float(len(codes) + n)
        except ValueError:
            raise InvalidInput("catalog.vocab_order_invalid", f"顺序“{order}”不是数字。") from None
        rows.append((place, n, vocabularies.EntryIn(code, label)))
    entries = [e for _, _, e in sorted(rows, key=lambda r: (r[0], r[1]))]
    by_label = {" ".join(e.label.split()): e.code.strip().lower() for e in entries}
    mapping: dict[str, str] = {}
    for code in retire:
        if not vocab.is_active(code):
            continue
        target = " ".join(_text(form, f"map_{code}").split())
        mapping[code] = by_label.get(target, target.lower())
    return entries, mapping


@router.post("/vocabularies/{name}")
def publish_version(
    request: Request, session: DbSession, actor: CurrentActor, name: str, form: FormIn
) -> Response:
    echo = {"default_code": _text(form, "default_code"), "note": _text(form, "note")}
    posted: list[dict[str, object]] | None = None
    try:
        vocab = vocabularies.current(session, name)
        posted = _posted_rows(form, vocab)
        entries, mapping = _parse(form, vocab)
        vocabularies.publish(
            session,
            actor,
            name,
            entries,
            mapping,
            default_code=_text(form, "default_code"),
            note=_text(form, "note"),
        )
    except DomainError as exc:
        message = _refused(session, exc)
        return _list(
            request,
            session,
            actor,
            name,
            error=message,
            form=echo,
            edit_rows=posted,
            status_code=exc.status,
        )
    return RedirectResponse(_address(name, "published"), status_code=303)


@router.post("/vocabularies/{name}/apply")
def apply_mapping(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    name: str,
    expected: Annotated[int | None, Form(ge=0, le=10_000_000)] = None,
) -> Response:
    try:
        vocabulary_flags.apply_mapping(session, actor, name, expected=expected)
    except DomainError as exc:
        return _list(
            request, session, actor, name, error=_refused(session, exc), status_code=exc.status
        )
    return RedirectResponse(_address(name, "applied"), status_code=303)
