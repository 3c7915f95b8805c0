"""Code lists the city bureau maintains: the security level as a versioned list with a mapping of
old values (issue 16; Art. 11, 12 ¶3, 14)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govdata.catalog import review, service, vocabularies, vocabulary_flags
from govdata.catalog.models import Resource, ResourceState, VocabularyEntry, VocabularyVersion
from govdata.catalog.spreadsheet import export_list, import_catalog
from govdata.catalog.vocabularies import SECURITY_LEVEL, EntryIn
from govdata.core.audit import AuditEvent
from govdata.core.errors import DomainError
from tests.catalog.factories import company_resource, person_resource
from tests.catalog.test_spreadsheet import (
    company_items,
    company_row,
    person_items,
    person_row,
    read_sheets,
    rejected,
    xlsx,
)
from tests.world import World

# GB/T 43697-2024 数据安全技术 数据分类分级规则: 一般、重要、核心.
GBT = [EntryIn("general", "一般"), EntryIn("important", "重要"), EntryIn("core", "核心")]
GBT_MAP = {
    "public": "general",
    "internal": "general",
    "sensitive": "important",
    "restricted": "core",
}


def _adopt_gbt(session: Session, world: World) -> VocabularyVersion:
    city = world.actor(session, "city")
    return vocabularies.publish(
        session, city, SECURITY_LEVEL, GBT, GBT_MAP, note="按 GB/T 43697 调整"
    )


def _rows(session: Session) -> tuple[int, int, int]:
    return (
        session.scalar(select(func.count()).select_from(VocabularyVersion)) or 0,
        session.scalar(select(func.count()).select_from(VocabularyEntry)) or 0,
        session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action.like("catalog.vocabulary.%"))
        )
        or 0,
    )


def test_the_fixed_levels_are_version_1_so_stored_values_stay_valid(
    session: Session, world: World
) -> None:
    vocab = vocabularies.current(session, SECURITY_LEVEL)
    assert vocab.version == 1 and vocab.default_code == "internal"
    assert [(e.code, e.label) for e in vocab.active] == [
        ("public", "公开"),
        ("internal", "内部"),
        ("sensitive", "敏感"),
        ("restricted", "受限"),
    ]
    officer = world.actor(session, "officer")
    made = service.create_resource(session, officer, world.police, person_resource())
    assert made.security_level == "sensitive"
    blank = service.create_resource(
        session, officer, world.police, person_resource("人口二", security_level="")
    )
    assert blank.security_level == "internal"  # blank: the list's default
    assert vocabulary_flags.flagged(session, SECURITY_LEVEL) == []


def test_the_bureau_adopts_gbt_43697_old_values_stay_readable_and_are_flagged(
    session: Session, world: World
) -> None:  # Art. 11, 12 ¶3
    officer = world.actor(session, "officer")
    old = service.create_resource(session, officer, world.police, person_resource())
    row = _adopt_gbt(session, world)
    assert row.version == 2 and row.default_code == "general"
    assert row.mapping == GBT_MAP
    vocab = vocabularies.current(session, SECURITY_LEVEL)
    assert [e.label for e in vocab.active] == ["一般", "重要", "核心"]
    # The old value keeps its label (the version it was written under) and says it is retired.
    assert vocab.label_of(old.security_level) == "敏感"
    assert vocab.display(old.security_level) == "敏感（已停用）"
    assert vocab.display("core") == "核心"
    (flag,) = vocabulary_flags.flagged(session, SECURITY_LEVEL)
    assert (flag.code, flag.label, flag.maps_to, flag.maps_to_label) == (
        "sensitive",
        "敏感",
        "important",
        "重要",
    )
    assert (flag.remappable, flag.under_review) == (1, 0)
    # A department counts its own; the bureau and auditors the city's (Art. 12, 41).
    assert vocabulary_flags.flagged(session, SECURITY_LEVEL, world.actor(session, "officer2")) == []
    assert vocabulary_flags.flagged(session, SECURITY_LEVEL, world.actor(session, "auditor")) == [
        flag
    ]
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "catalog.vocabulary.publish")
    ).one()
    assert event.object_id == "security_level:2"
    assert event.summary == (
        "发布安全级别代码表第 2 版：一般、重要、核心；新增一般、重要、核心；"
        "停用公开→一般、内部→一般、敏感→重要、受限→核心"
    )


def test_input_is_checked_against_the_current_version(session: Session, world: World) -> None:
    _adopt_gbt(session, world)
    officer = world.actor(session, "officer")
    before = session.scalar(select(func.count()).select_from(Resource))
    with pytest.raises(DomainError) as exc:
        service.create_resource(session, officer, world.police, person_resource())
    assert (exc.value.status, exc.value.code) == (400, "catalog.vocab_value_retired")
    assert "“敏感”已停用" in exc.value.message and "“重要”" in exc.value.message
    with pytest.raises(DomainError) as exc:
        service.create_resource(
            session, officer, world.police, person_resource(security_level="secret")
        )
    assert exc.value.code == "catalog.vocab_value_unknown"
    assert exc.value.message == "“secret”不是有效的安全级别，可选：一般、重要、核心。"
    assert session.scalar(select(func.count()).select_from(Resource)) == before
    made = service.create_resource(
        session, officer, world.police, person_resource(security_level="core")
    )
    assert made.security_level == "core"
    blank = service.create_resource(
        session, officer, world.police, company_resource(security_level="")
    )
    assert blank.security_level == "general"  # the new version's default


def test_a_flagged_resource_is_updated_by_its_department(session: Session, world: World) -> None:
    officer = world.actor(session, "officer")
    old = service.create_resource(session, officer, world.police, person_resource())
    _adopt_gbt(session, world)
    # Saving it unchanged is refused: the department picks a current level.
    with pytest.raises(DomainError) as exc:
        service.update_resource(session, officer, old.id, service.as_input(old))
    assert exc.value.code == "catalog.vocab_value_retired"
    data = service.as_input(old).model_copy(update={"security_level": "important"})
    service.update_resource(session, officer, old.id, data)
    assert old.security_level == "important"
    assert vocabulary_flags.flagged(session, SECURITY_LEVEL) == []


def test_a_rename_keeps_the_code_and_an_addition_appends(session: Session, world: World) -> None:
    officer = world.actor(session, "officer")
    made = service.create_resource(
        session, officer, world.police, person_resource(security_level="internal")
    )
    city = world.actor(session, "city")
    vocabularies.publish(
        session,
        city,
        SECURITY_LEVEL,
        [
            EntryIn("public", "公开"),
            EntryIn("internal", "内部使用"),
            EntryIn("sensitive", "敏感"),
            EntryIn("restricted", "受限"),
            EntryIn("secret", "涉密"),
        ],
        {},
    )
    vocab = vocabularies.current(session, SECURITY_LEVEL)
    assert vocab.display(made.security_level) == "内部使用"  # renamed: no flag
    assert vocab.resolve("内部") == "internal"  # an old label still imports
    assert vocab.is_active("secret") and vocabulary_flags.flagged(session, SECURITY_LEVEL) == []
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "catalog.vocabulary.publish")
    ).one()
    assert event.summary == (
        "发布安全级别代码表第 2 版：公开、内部使用、敏感、受限、涉密；新增涉密；更名内部→内部使用"
    )


def test_mappings_are_followed_through_later_versions(session: Session, world: World) -> None:
    _adopt_gbt(session, world)
    city = world.actor(session, "city")
    vocabularies.publish(
        session,
        city,
        SECURITY_LEVEL,
        [EntryIn("general", "一般"), EntryIn("core", "核心")],
        {"important": "core"},
    )
    vocab = vocabularies.current(session, SECURITY_LEVEL)
    assert vocab.version == 3
    assert vocab.mapping["sensitive"] == "core"  # 敏感 → 重要 (v2) → 核心 (v3)
    assert vocab.mapping["public"] == "general"
    assert vocab.resolve("敏感") == "core" and vocab.resolve("重要") == "core"
    assert vocab.resolve("sensitive") == "core" and vocab.resolve("保密") is None
    # The most protected of sources (a thematic resource's level): retired codes as mapped.
    assert vocabularies.strictest(session, ["public", "sensitive"]) == "core"
    assert vocabularies.strictest(session, []) == "general"


def test_applying_the_mapping_counts_first_and_leaves_resources_under_review(
    session: Session, world: World
) -> None:  # Art. 14: the catalog changes through review
    officer = world.actor(session, "officer")
    city = world.actor(session, "city")
    submitted = service.create_resource(session, officer, world.police, person_resource())
    review.submit(session, officer, world.police)
    draft = service.create_resource(
        session, officer, world.police, company_resource(security_level="restricted")
    )
    _adopt_gbt(session, world)
    flags = {
        f.code: (f.remappable, f.under_review)
        for f in vocabulary_flags.flagged(session, "security_level")
    }
    assert flags == {"sensitive": (0, 1), "restricted": (1, 0)}
    # The count the bureau saw moved: nothing changes.
    with pytest.raises(DomainError) as exc:
        vocabulary_flags.apply_mapping(session, city, SECURITY_LEVEL, expected=5)
    assert (exc.value.status, exc.value.code) == (409, "catalog.vocab_counts_changed")
    assert draft.security_level == "restricted"
    applied = vocabulary_flags.apply_mapping(session, city, SECURITY_LEVEL, expected=1)
    assert applied.changed == {"restricted": 1} and applied.left_under_review == 1
    session.expire_all()
    assert session.get(Resource, draft.id).security_level == "core"  # type: ignore[union-attr]
    assert session.get(Resource, draft.id).state == ResourceState.DRAFT  # type: ignore[union-attr]
    kept = session.get(Resource, submitted.id)
    assert kept is not None and kept.security_level == "sensitive"
    assert kept.state == ResourceState.SUBMITTED
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "catalog.vocabulary.apply_mapping")
    ).one()
    assert event.summary == ("按安全级别第 2 版对应关系更新资源：受限→核心 1 条；审核中的 1 条未改")
    with pytest.raises(DomainError) as exc:
        vocabulary_flags.apply_mapping(session, city, SECURITY_LEVEL)
    assert exc.value.code == "catalog.vocab_nothing_to_map"


@pytest.mark.parametrize("who", ["officer", "yz_admin", "auditor", "head"])
def test_only_the_city_bureau_changes_a_list(session: Session, world: World, who: str) -> None:
    before = _rows(session)
    actor = world.actor(session, who)
    with pytest.raises(DomainError) as exc:
        vocabularies.publish(session, actor, SECURITY_LEVEL, GBT, GBT_MAP)
    assert (exc.value.status, exc.value.code) == (403, "catalog.vocab_bureau_only")
    assert exc.value.message == "只有市数据主管部门可以维护代码表（安全级别等）。"
    _adopt_gbt(session, world)
    service.create_resource(
        session,
        world.actor(session, "officer"),
        world.police,
        person_resource(security_level="core"),
    )
    after = _rows(session)
    with pytest.raises(DomainError) as exc:
        vocabulary_flags.apply_mapping(session, actor, SECURITY_LEVEL)
    assert exc.value.code == "catalog.vocab_bureau_only"
    assert _rows(session) == after and after[0] == before[0] + 1


@pytest.mark.parametrize(
    ("entries", "mapping", "code", "message"),
    [
        (GBT, {**GBT_MAP, "public": ""}, "catalog.vocab_mapping_missing", "停用“公开”须说明"),
        (GBT, {**GBT_MAP, "public": "open"}, "catalog.vocab_mapping_invalid", "不是新版本中"),
        (GBT, {**GBT_MAP, "core": "general"}, "catalog.vocab_mapping_stray", "只有本版停用"),
        (
            [*GBT, EntryIn("core", "最高")],
            GBT_MAP,
            "catalog.vocab_code_duplicate",
            "代码“core”重复",
        ),
        (
            [*GBT, EntryIn("top", "核心")],
            GBT_MAP,
            "catalog.vocab_label_duplicate",
            "名称“核心”重复",
        ),
        ([EntryIn("一般", "一般")], {}, "catalog.vocab_code_invalid", "只能用小写字母"),
        ([EntryIn("general", "")], {}, "catalog.vocab_entry_incomplete", "须同时填写代码和名称"),
        ([EntryIn("x", "甲" * 21)], {}, "catalog.vocab_label_invalid", "最多 20 个字符"),
        ([EntryIn("", "")], {}, "catalog.vocab_empty", "至少须有一个"),
        (
            [EntryIn(c, lbl) for c, lbl in [("public", "公开"), ("internal", "内部")]]
            + [EntryIn("sensitive", "敏感"), EntryIn("restricted", "受限")],
            {},
            "catalog.vocab_unchanged",
            "与现行版本相同",
        ),
    ],
)
def test_bad_input_is_refused_in_zh_cn_and_nothing_is_written(
    session: Session,
    world: World,
    entries: list[EntryIn],
    mapping: dict[str, str],
    code: str,
    message: str,
) -> None:
    before = _rows(session)
    with pytest.raises(DomainError) as exc:
        vocabularies.publish(
            session, world.actor(session, "city"), SECURITY_LEVEL, entries, mapping
        )
    assert exc.value.code == code and message in exc.value.message
    assert _rows(session) == before
    assert vocabularies.current(session, SECURITY_LEVEL).version == 1


def test_an_unknown_list_is_not_found(session: Session, world: World) -> None:
    with pytest.raises(DomainError) as exc:
        vocabularies.current(session, "colour")
    assert (exc.value.status, exc.value.code) == (404, "catalog.vocab_unknown_list")


# --- spreadsheets ---------------------------------------------------------------------------------


def test_an_import_maps_old_labels_as_the_bureau_said(session: Session, world: World) -> None:
    _adopt_gbt(session, world)
    officer = world.actor(session, "officer")
    content = xlsx(
        [person_row(), company_row(**{"安全级别": ""})], [*person_items(), *company_items()]
    )
    result = import_catalog(session, officer, world.police, content)
    assert result.created == 2
    levels = dict(
        session.execute(
            select(Resource.name, Resource.security_level).where(
                Resource.department_id == world.police
            )
        ).all()
    )
    # “敏感” after the bureau adopted 一般/重要/核心: what the bureau mapped it to.
    assert levels == {"户籍人口基本信息": "important", "市场主体登记信息": "general"}


def test_an_import_with_an_unknown_level_names_the_cell(session: Session, world: World) -> None:
    _adopt_gbt(session, world)
    officer = world.actor(session, "officer")
    content = xlsx([person_row(**{"安全级别": "绝密"})], person_items())
    err = rejected(session, officer, world.police, content)
    (problem,) = err.problems
    assert (problem.sheet, problem.row, problem.column, problem.code) == (
        "信息资源",
        2,
        "安全级别",
        "catalog.import_label_unknown",
    )
    assert problem.message == "“绝密”不是有效的安全级别，可填：一般、重要、核心。"


def test_an_export_carries_the_old_label_and_importing_it_back_maps_it(
    session: Session, world: World
) -> None:
    officer = world.actor(session, "officer")
    service.create_resource(session, officer, world.police, person_resource())
    _adopt_gbt(session, world)
    content = export_list(session, officer, world.police, "xlsx")
    sheets: dict[str, Any] = read_sheets(content)
    header = sheets["信息资源"][0]
    assert sheets["信息资源"][1][header.index("安全级别")] == "敏感"
    result = import_catalog(session, officer, world.police, content)
    assert (result.updated, result.unchanged) == (1, 0)
    session.expire_all()
    assert session.scalars(
        select(Resource.security_level).where(Resource.department_id == world.police)
    ).all() == ["important"]
