"""Resource input checked against the city bureau's current code lists (issue 16): the
security level and the format a form, the API or an import carries (Art. 11, 12 ¶1).

The lists themselves: ``catalog.vocabularies``.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from govdata.catalog.schemas import ResourceIn
from govdata.catalog.vocabularies import (
    LISTS,
    RESOURCE_FORMAT,
    SECURITY_LEVEL,
    Vocabulary,
    current_all,
)
from govdata.core.errors import InvalidInput


def checked_code(vocab: Vocabulary, value: str) -> str:
    """``value`` as an active code of ``vocab``: blank is the list's default (or refused, for
    a list that must be chosen); a retired code is refused with what it maps to; an unknown one
    with the choices."""
    spec = vocab.spec
    code = value.strip()
    choices = "、".join(e.label for e in vocab.active)
    if not code:
        if spec.blank_is_default:
            return vocab.default_code
        raise InvalidInput(
            "catalog.vocab_value_required",
            f"请选择{spec.title}，可选：{choices}。",
            detail={"field": spec.field},
        )
    if vocab.is_active(code):
        return code
    if code in vocab.mapping:
        target = vocab.label_of(vocab.mapping[code])
        raise InvalidInput(
            "catalog.vocab_value_retired",
            f"{spec.title}“{vocab.label_of(code)}”已停用（现行第 {vocab.version} 版），"
            f"市数据主管部门将其对应为“{target}”；请改选：{choices}。",
            detail={"field": spec.field, "code": code, "maps_to": vocab.mapping[code]},
        )
    raise InvalidInput(
        "catalog.vocab_value_unknown",
        f"“{code}”不是有效的{spec.title}，可选：{choices}。",
        detail={"field": spec.field, "code": code},
    )


# The lists whose codes ResourceIn carries as text, checked here (the update cycle's codes are
# fixed: ResourceIn's enum checks them).
CHECKED = (SECURITY_LEVEL, RESOURCE_FORMAT)


def checked_input(
    session: Session, data: ResourceIn, vocabs: dict[str, Vocabulary] | None = None
) -> ResourceIn:
    """``data`` with its security level and format checked against the current lists
    (``vocabs``: as ``current_all`` read them)."""
    vocabs = vocabs if vocabs is not None else current_all(session)
    update: dict[str, str] = {}
    for name in CHECKED:
        field = LISTS[name].field
        held = str(getattr(data, field))
        code = checked_code(vocabs[name], held)
        if code != held or type(getattr(data, field)) is not str:
            update[field] = code
    return data.model_copy(update=update) if update else data
