"""zh-CN pages of signed documents (Art. 28).

- ``/sharing/keys``: every signed-in person sees the published keys and which sources come
  signed; a department's head (or the city bureau) makes and rotates its key and designates its
  sources as documents, licences or contracts.
- ``/verify``: public, no sign-in: upload a signed JSON file and see whether it is valid, which
  department signed it and when.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from govdata.core.types import DbId
from govdata.sharing import catalog, keys, signing
from govdata.sharing.models import DocumentClass
from govdata.sharing.sources import get_source
from govdata.web.deps import CurrentActor, DbSession, OptionalActor, form_csrf
from govdata.web.templating import render

router = APIRouter(dependencies=[Depends(form_csrf)], include_in_schema=False)

# A signed document is a JSON file of one record or a page of them: a few MB at most.
MAX_VERIFY_BYTES = 5 * 1024 * 1024
FLASHES = {
    "created": "已生成签名密钥，公钥已公布。",
    "rotated": "已轮换签名密钥：原密钥停用（仍公布，用于核验此前的签名），新密钥启用。",
    "designated": "已保存该资源的文书类别。",
}


@router.get("/sharing/keys")
def keys_page(
    request: Request,
    session: DbSession,
    actor: CurrentActor,
    msg: Annotated[str | None, Query(max_length=20)] = None,
    q: Annotated[str, Query(max_length=catalog.MAX_QUERY)] = "",
) -> Response:
    published = keys.published(session)
    managed = keys.managed_departments(session, actor)
    current = {k.department_id: k for k in published if k.current}
    designated = {d.source_code: d for d in signing.designated(session)}
    mine, listed_all = keys.designatable(session, actor, {d.id for d in managed}, q.strip())
    names = dict(mine)
    for code in designated:
        if code not in names:
            found = get_source(session, code)
            names[code] = found.name if found is not None else code
    return render(
        request,
        "sharing/keys.html",
        {
            "title": "签名密钥",
            "published": published,
            "managed": managed,
            "current": current,
            "designated": designated,
            "licence_base": signing.LICENCE_BASE,
            "mine": mine,
            "listed_all": listed_all,
            "q": q.strip(),
            "names": names,
            "classes": list(DocumentClass),
            "flash": FLASHES.get(msg or ""),
        },
    )


@router.post("/sharing/keys/create")
def create_key(
    session: DbSession, actor: CurrentActor, department_id: Annotated[DbId, Form()]
) -> Response:
    keys.create(session, actor, department_id)
    return RedirectResponse("/sharing/keys?msg=created", status_code=303)


@router.post("/sharing/keys/rotate")
def rotate_key(
    session: DbSession, actor: CurrentActor, department_id: Annotated[DbId, Form()]
) -> Response:
    keys.rotate(session, actor, department_id)
    return RedirectResponse("/sharing/keys?msg=rotated", status_code=303)


@router.post("/sharing/keys/document-class")
def designate(
    session: DbSession,
    actor: CurrentActor,
    source_code: Annotated[str, Form(max_length=64)],
    document_class: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    cls = DocumentClass(document_class) if document_class in set(DocumentClass) else None
    signing.designate(session, actor, source_code=source_code, document_class=cls)
    return RedirectResponse("/sharing/keys?msg=designated#documents", status_code=303)


@router.get("/verify")
def verify_page(request: Request, actor: OptionalActor) -> Response:
    return render(request, "sharing/verify.html", {"title": "签名文书核验", "result": None})


@router.post("/verify")
def verify_upload(
    request: Request,
    session: DbSession,
    actor: OptionalActor,
    file: Annotated[UploadFile, File()],
) -> Response:
    content = file.file.read(MAX_VERIFY_BYTES + 1)
    result: signing.Verification | None = None
    problem = None
    if len(content) > MAX_VERIFY_BYTES:
        problem = "文件超过 5 MB，不是平台出具的签名文书。"
    else:
        try:
            envelope = json.loads(content.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            problem = "文件不是 UTF-8 编码的 JSON，无法核验。"
        else:
            result = signing.verify(envelope, signing.known_keys(session))
    status = 200 if problem is None else 422
    return render(
        request,
        "sharing/verify.html",
        {
            "title": "签名文书核验",
            "result": result,
            "problem": problem,
            "filename": file.filename or "",
        },
        status_code=status,
    )
