"""Code lists the city bureau maintains (代码表; issue 16): 安全级别, 资源格式 and 更新周期.

The catalog's security levels were fixed values (公开/内部/敏感/受限); the city bureau now keeps
them as a versioned list (e.g. to adopt GB/T 43697's 一般/重要/核心), Art. 11 and 12 ¶3. The
resource formats (the national guide's 资源格式) are kept the same way. The update cycles' codes
drive deadlines and freshness: the bureau relabels and reorders them, never adds or retires one
(docs/decisions/0021-update-cycles-are-relabelled-not-added.md).

- A version holds every code the list has had: the active ones in their order and the retired
  ones (inactive, with their last label), so a value written under an earlier version stays
  readable. Codes are stable; a label may change (a rename keeps the code).
- Publishing a version that retires codes needs a mapping of each retired code to an active one.
  Resources keeping a retired code are flagged until their department updates
  them, or until the bureau applies the mapping (``vocabulary_flags``: counts first, audited).
- Input (form, API, spreadsheet import) is checked against the current version: blank is the
  list's default; a retired code is refused with what it maps to; an import's old label or code
  is mapped through the mappings (an import carrying “敏感” after the bureau adopted
  一般/重要/核心 stores what the bureau mapped 敏感 to).

Only the city bureau changes a list (officers, district bureaus and auditors read it); every
change is an audit event.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.catalog import policy as catalog_policy
from govdata.catalog.models import VocabularyEntry, VocabularyVersion
from govdata.core import audit
from govdata.core.actor import Actor
from govdata.core.db import utcnow
from govdata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from govdata.core.text import has_control
from govdata.org import policy as org_policy

SECURITY_LEVEL = "security_level"
RESOURCE_FORMAT = "resource_format"
UPDATE_CYCLE = "update_cycle"


@dataclass(frozen=True)
class ListSpec:
    """A list the bureau keeps: its name on the page and the resource field holding its codes."""

    title: str
    field: str  # the field of ResourceIn and column of Resource holding the list's codes
    max_code: int  # the width of that column
    # Blank input is the list's default (the security level); else a value must be chosen (the
    # default only preselects the resource form's choice).
    blank_is_default: bool = True
    # The codes drive rules (an update cycle's period): only relabelled and reordered.
    fixed: bool = False


# The lists the bureau keeps, in the page's order.
LISTS: dict[str, ListSpec] = {
    SECURITY_LEVEL: ListSpec("安全级别", "security_level", 32),
    RESOURCE_FORMAT: ListSpec("资源格式", "format", 20, blank_is_default=False),
    UPDATE_CYCLE: ListSpec("更新周期", "update_cycle", 16, fixed=True),
}

MAX_CODE = 32
MAX_LABEL = 20
MAX_ENTRIES = 20
MAX_NOTE = 500
_CODE = re.compile(r"^[a-z0-9][a-z0-9_]*$")

# The resources holding a retired code, and the remapping: ``catalog.vocabulary_flags``.


@dataclass(frozen=True)
class Entry:
    code: str
    label: str
    position: int
    active: bool

    @property
    def value(self) -> str:  # what a form's option carries (as the enums' members)
        return self.code


@dataclass(frozen=True)
class Vocabulary:
    """A list as of its current version: what input may use and how old values read."""

    name: str
    version: int
    default_code: str
    entries: tuple[Entry, ...]
    # Every code ever retired → the active code it now stands for (mappings followed through
    # later versions).
    mapping: dict[str, str]
    # Labels and codes of earlier versions → the code they meant then (an import's old text).
    history: dict[str, str]
    published_at: datetime | None = None
    note: str = ""
    # Read as an earlier version (``version_of``): the list's newest version number.
    latest_version: int | None = None

    @property
    def title(self) -> str:
        return LISTS[self.name].title

    @property
    def spec(self) -> ListSpec:
        return LISTS[self.name]

    @property
    def active(self) -> tuple[Entry, ...]:
        return tuple(e for e in self.entries if e.active)

    @property
    def retired(self) -> tuple[Entry, ...]:
        return tuple(e for e in self.entries if not e.active)

    def is_active(self, code: str) -> bool:
        return any(e.code == code and e.active for e in self.entries)

    def label_of(self, code: str) -> str:
        """A stored code's label: the current one, or the last it had when retired."""
        for e in self.entries:
            if e.code == code:
                return e.label
        return code

    def display(self, code: str) -> str:
        """The label as a page shows it; a retired code says so."""
        if not code:
            return "—"
        if self.is_active(code):
            return self.label_of(code)
        return f"{self.label_of(code)}（已停用）"

    def choices(self, keep: str | None = None) -> list[Entry]:
        """A form's options: the active codes, and ``keep`` (a retired value the resource holds,
        so the form does not silently change it) marked as retired."""
        out = list(self.active)
        if keep and not self.is_active(keep):
            out.append(Entry(keep, f"{self.label_of(keep)}（已停用，请改选）", 0, False))
        return out

    def filter_choices(self) -> list[Entry]:
        """A filter's options: every code the list has had (published revisions may hold a
        retired one), the retired ones said so."""
        return [
            e if e.active else Entry(e.code, f"{e.label}（已停用）", e.position, False)
            for e in self.entries
        ]

    def resolve(self, text: str) -> str | None:
        """The active code an import's cell means: an active code or label, else a retired or
        earlier code or label mapped through the bureau's mappings; None when unknown."""
        text = text.strip()
        for e in self.active:
            if text in (e.code, e.label):
                return e.code
        code = next((e.code for e in self.retired if text in (e.code, e.label)), None)
        code = code or self.history.get(text)
        if code is None:
            return None
        if self.is_active(code):
            return code
        return self.mapping.get(code)


@dataclass(frozen=True)
class EntryIn:
    code: str
    label: str


# --- reading ----------------------------------------------------------------------------------


def _require_list(name: str) -> None:
    if name not in LISTS:
        raise NotFound("catalog.vocab_unknown_list", "没有这个代码表。")


def versions(session: Session, name: str) -> list[VocabularyVersion]:
    """The list's versions, the newest first (entries loaded)."""
    _require_list(name)
    return list(
        session.scalars(
            select(VocabularyVersion)
            .where(VocabularyVersion.list_name == name)
            .order_by(VocabularyVersion.version.desc())
        )
    )


def _mapping_through(rows: Sequence[VocabularyVersion], last: VocabularyVersion) -> dict[str, str]:
    """Every retired code → the active code it stands for now (chains followed, oldest first)."""
    mapping: dict[str, str] = {}
    for row in sorted(rows, key=lambda r: r.version):
        for old, new in (row.mapping or {}).items():
            mapping[old] = new
    active = {e.code for e in last.entries if e.active}
    out: dict[str, str] = {}
    for old, first in mapping.items():
        if old in active:
            continue  # brought back into use by a later version
        seen, code = {old}, first
        while code not in active and code in mapping and code not in seen:
            seen.add(code)
            code = mapping[code]
        if code in active:
            out[old] = code
    return out


def current(session: Session, name: str) -> Vocabulary:
    """The list as its newest version says (one small read: a list has a few versions)."""
    rows = versions(session, name)
    if not rows:
        raise NotFound("catalog.vocab_unknown_list", "没有这个代码表。")
    return _built(name, rows)


def current_all(session: Session) -> dict[str, Vocabulary]:
    """Every list as its newest version says, in one read (a page labels all three)."""
    by_list: dict[str, list[VocabularyVersion]] = {}
    for row in session.scalars(
        select(VocabularyVersion).order_by(VocabularyVersion.version.desc())
    ):
        by_list.setdefault(row.list_name, []).append(row)
    missing = [name for name in LISTS if name not in by_list]
    if missing:
        raise NotFound("catalog.vocab_unknown_list", f"没有这个代码表：{'、'.join(missing)}。")
    return {name: _built(name, by_list[name]) for name in LISTS}


def label_function(session: Session, name: str, *, blank: str = "—") -> Callable[[str | None], str]:
    """A stored code's label by the bureau's current list (a retired code by its last label),
    for pages and exports outside the catalog; the list is read once, when first needed."""
    read: list[Vocabulary] = []

    def label(code: str | None) -> str:
        if not code:
            return blank
        if not read:
            read.append(current(session, name))
        return read[0].label_of(code)

    return label


def version_of(session: Session, name: str, number: int) -> Vocabulary:
    """The list as version ``number`` said (its entries then; mappings up to it)."""
    every = versions(session, name)
    rows = [r for r in every if r.version <= number]
    if not rows or rows[0].version != number:
        raise NotFound(
            "catalog.vocab_unknown_version", f"{LISTS[name].title}代码表没有第 {number} 版。"
        )
    return replace(_built(name, rows), latest_version=every[0].version)


def readable(session: Session, actor: Actor) -> list[Vocabulary]:
    """Every list as its current version says, for whoever reads the published catalog (staff;
    a department system holding ``catalog:read``): the codes it is written in (Art. 12 ¶3)."""
    catalog_policy.require_read_published(actor)
    return list(current_all(session).values())


def readable_list(
    session: Session, actor: Actor, name: str, version: int | None = None
) -> Vocabulary:
    """One list as its current version (or version ``version``) says; see ``readable``."""
    catalog_policy.require_read_published(actor)
    _require_list(name)
    return current(session, name) if version is None else version_of(session, name, version)


def _built(name: str, rows: Sequence[VocabularyVersion]) -> Vocabulary:
    """The list as ``rows[0]`` (its newest version of ``rows``, newest first) says."""
    last = rows[0]
    history: dict[str, str] = {}
    for row in sorted(rows[1:], key=lambda r: r.version):
        for e in row.entries:
            history[e.label] = e.code
            history[e.code] = e.code
    return Vocabulary(
        name=name,
        version=last.version,
        default_code=last.default_code,
        entries=tuple(Entry(e.code, e.label, e.position, e.active) for e in last.entries),
        mapping=_mapping_through(rows, last),
        history=history,
        published_at=last.created_at,
        note=last.note,
    )


# --- changing (the city bureau) ---------------------------------------------------------------


def can_maintain(actor: Actor | None) -> bool:
    return actor is not None and org_policy.is_city_admin(actor)


def _require_bureau(actor: Actor) -> None:
    if not can_maintain(actor):
        raise PermissionDenied(
            "catalog.vocab_bureau_only", "只有市数据主管部门可以维护代码表（安全级别等）。"
        )


def _clean_entries(entries: Sequence[EntryIn], max_code: int = MAX_CODE) -> list[EntryIn]:
    out: list[EntryIn] = []
    codes: set[str] = set()
    labels: set[str] = set()
    for n, raw in enumerate(entries, start=1):
        code = (raw.code or "").strip().lower()
        label = " ".join((raw.label or "").split())
        if not code and not label:
            continue  # an empty row of the form
        if not code or not label:
            raise InvalidInput("catalog.vocab_entry_incomplete", f"第 {n} 行须同时填写代码和名称。")
        if len(code) > max_code or not _CODE.match(code):
            raise InvalidInput(
                "catalog.vocab_code_invalid",
                f"第 {n} 行的代码“{code}”无效：只能用小写字母、数字和下划线，"
                f"以字母或数字开头，最多 {max_code} 个字符。",
            )
        if len(label) > MAX_LABEL or has_control(label):
            raise InvalidInput(
                "catalog.vocab_label_invalid",
                f"第 {n} 行的名称无效：最多 {MAX_LABEL} 个字符，且不能含控制字符。",
            )
        if code in codes:
            raise InvalidInput("catalog.vocab_code_duplicate", f"代码“{code}”重复。")
        if label in labels:
            raise InvalidInput("catalog.vocab_label_duplicate", f"名称“{label}”重复。")
        codes.add(code)
        labels.add(label)
        out.append(EntryIn(code, label))
    if not out:
        raise InvalidInput("catalog.vocab_empty", "代码表至少须有一个在用的取值。")
    if len(out) > MAX_ENTRIES:
        raise InvalidInput("catalog.vocab_too_many", f"代码表最多 {MAX_ENTRIES} 个在用的取值。")
    return out


def publish(
    session: Session,
    actor: Actor,
    name: str,
    entries: Sequence[EntryIn],
    mapping: dict[str, str],
    *,
    default_code: str = "",
    note: str = "",
) -> VocabularyVersion:
    """Publish the list's next version: ``entries`` are its active codes in order (a known code
    with a new label is a rename, a new code an addition); a code active before and missing now
    is retired and needs ``mapping[code]``, one of the new active codes. Nothing is written
    unless everything is right."""
    _require_bureau(actor)
    vocab = current(session, name)
    active = _clean_entries(entries, vocab.spec.max_code)
    active_codes = [e.code for e in active]
    retiring = [e for e in vocab.active if e.code not in active_codes]
    if vocab.spec.fixed and sorted(active_codes) != sorted(e.code for e in vocab.active):
        raise InvalidInput(
            "catalog.vocab_codes_fixed",
            f"{vocab.title}的代码决定更新期限和时效检查，只能更改名称和顺序，不能新增或停用取值。",
            detail={"codes": [e.code for e in vocab.active]},
        )
    clean_map = {k.strip(): (v or "").strip() for k, v in mapping.items() if (v or "").strip()}
    for e in retiring:
        target = clean_map.get(e.code, "")
        if not target:
            raise InvalidInput(
                "catalog.vocab_mapping_missing",
                f"停用“{e.label}”须说明原有数据改为哪个取值。",
                detail={"code": e.code},
            )
        if target not in active_codes:
            raise InvalidInput(
                "catalog.vocab_mapping_invalid",
                f"“{e.label}”对应的“{target}”不是新版本中在用的取值。",
                detail={"code": e.code, "maps_to": target},
            )
    retiring_codes = {e.code for e in retiring}
    stray = sorted(set(clean_map) - retiring_codes)
    if stray:
        raise InvalidInput(
            "catalog.vocab_mapping_stray",
            f"只有本版停用的取值需要对应关系：{'、'.join(stray)}。",
            detail={"codes": stray},
        )
    default = (default_code or "").strip() or (
        vocab.default_code if vocab.default_code in active_codes else active_codes[0]
    )
    if default not in active_codes:
        raise InvalidInput(
            "catalog.vocab_default_invalid", f"默认取值“{default}”不是新版本中在用的取值。"
        )
    note = " ".join((note or "").split())
    if len(note) > MAX_NOTE:
        raise InvalidInput("catalog.vocab_note_too_long", f"说明最多 {MAX_NOTE} 个字符。")
    before = [(e.code, e.label) for e in vocab.active]
    if before == [(e.code, e.label) for e in active] and default == vocab.default_code:
        raise Conflict("catalog.vocab_unchanged", "与现行版本相同，无需发布新版本。")

    # Every code the list has had stays in the version: the active ones first, in order.
    kept = [
        VocabularyEntry(code=e.code, label=e.label, position=n, active=True)
        for n, e in enumerate(active, start=1)
    ]
    old = [e for e in vocab.entries if e.code not in active_codes]
    kept += [
        VocabularyEntry(code=e.code, label=e.label, position=len(active) + n, active=False)
        for n, e in enumerate(old, start=1)
    ]
    row = VocabularyVersion(
        list_name=name,
        version=vocab.version + 1,
        default_code=default,
        mapping={c: clean_map[c] for c in sorted(retiring_codes)},
        note=note,
        created_by=actor.person_id,
        created_at=utcnow(),
        entries=kept,
    )
    session.add(row)
    session.flush()
    labels_before = dict(before)
    added = [e for e in active if e.code not in labels_before]
    renamed = [e for e in active if e.code in labels_before and labels_before[e.code] != e.label]
    parts = ["、".join(e.label for e in active)]
    if added:
        parts.append("新增" + "、".join(e.label for e in added))
    if renamed:
        parts.append("更名" + "、".join(f"{labels_before[e.code]}→{e.label}" for e in renamed))
    if retiring:
        parts.append(
            "停用"
            + "、".join(f"{e.label}→{labels_of(active, clean_map[e.code])}" for e in retiring)
        )
    audit.record(
        session,
        actor,
        "catalog.vocabulary.publish",
        object_type="vocabulary",
        object_id=f"{name}:{row.version}",
        summary=f"发布{LISTS[name].title}代码表第 {row.version} 版：" + "；".join(parts),
        change={
            "version": row.version,
            "entries": [{"code": e.code, "label": e.label} for e in active],
            "added": [e.code for e in added],
            "renamed": {e.code: [labels_before[e.code], e.label] for e in renamed},
            "retired": sorted(retiring_codes),
            "mapping": row.mapping,
            "default": default,
        },
    )
    return row


def labels_of(entries: Sequence[EntryIn], code: str) -> str:
    return next((e.label for e in entries if e.code == code), code)


def strictest(session: Session, codes: Sequence[str]) -> str:
    """The most protected of ``codes`` (the list is ordered from the least protected, 公开 or
    一般, to the most, 受限 or 核心; a retired code counts as what it maps to); the list's
    default when there are none (Art. 11: a derived resource is as protected as its sources)."""
    vocab = current(session, SECURITY_LEVEL)
    order = {e.code: e.position for e in vocab.active}
    mapped = [c if c in order else vocab.mapping.get(c, "") for c in codes]
    known = [c for c in mapped if c in order]
    return max(known, key=order.__getitem__) if known else vocab.default_code
