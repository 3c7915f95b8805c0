"""The resource formats (资源格式) and update cycles (更新周期) as code lists the city bureau keeps
(issue 16; Art. 11, 12 ¶3, 14): formats versioned with retirement and mapping like the security
levels; update cycles relabelled only (their codes drive deadlines, docs/decisions/0021)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from govdata.catalog import service, vocabularies, vocabulary_flags
from govdata.catalog.models import Resource, VocabularyEntry, VocabularyVersion
from govdata.catalog.spreadsheet import export_list, import_catalog
from govdata.catalog.vocab import ResourceFormat, UpdateCycle
from govdata.catalog.vocabularies import RESOURCE_FORMAT, UPDATE_CYCLE, EntryIn
from govdata.core.audit import AuditEvent
from govdata.core.errors import DomainError
from govdata.opendata.pages.portal import labeller
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

# The guide's seven formats, 流媒体 retired onto 电子文件, and a format the city adds.
FORMATS_V2 = [
    EntryIn("electronic_file", "电子文件"),
    EntryIn("spreadsheet", "电子表格"),
    EntryIn("database", "数据库"),
    EntryIn("image", "图形图像"),
    EntryIn("self_describing", "自描述格式"),
    EntryIn("service_api", "服务接口"),
    EntryIn("geospatial", "地理空间数据"),
]


def _formats_v2(session: Session, world: World) -> VocabularyVersion:
    return vocabularies.publish(
        session,
        world.actor(session, "city"),
        RESOURCE_FORMAT,
        FORMATS_V2,
        {"streaming": "electronic_file"},
        note="流媒体并入电子文件，新增地理空间数据",
    )


def _cycles(**renamed: str) -> list[EntryIn]:
    return [EntryIn(c.value, renamed.get(c.value, c.label)) for c in UpdateCycle]


def _written(session: Session) -> tuple[int, int, int]:
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


def test_the_fixed_formats_and_cycles_are_version_1_so_stored_values_stay_valid(
    session: Session, world: World
) -> None:
    formats = vocabularies.current(session, RESOURCE_FORMAT)
    assert formats.version == 1 and formats.retired == ()
    assert [(e.code, e.label) for e in formats.active] == [
        (f.value, f.label) for f in ResourceFormat
    ]
    cycles = vocabularies.current(session, UPDATE_CYCLE)
    assert [(e.code, e.label) for e in cycles.active] == [(c.value, c.label) for c in UpdateCycle]
    assert cycles.spec.fixed and not formats.spec.fixed
    made = service.create_resource(
        session, world.actor(session, "officer"), world.police, person_resource()
    )
    assert (made.format, made.update_cycle) == ("database", "daily")
    assert vocabulary_flags.flagged(session, RESOURCE_FORMAT) == []


def test_the_bureau_retires_and_adds_a_format_and_input_follows_the_current_version(
    session: Session, world: World
) -> None:  # Art. 11, 12 ¶3
    officer = world.actor(session, "officer")
    old = service.create_resource(
        session, officer, world.police, company_resource(format="streaming")
    )
    row = _formats_v2(session, world)
    assert (row.version, row.mapping) == (2, {"streaming": "electronic_file"})
    vocab = vocabularies.current(session, RESOURCE_FORMAT)
    assert vocab.display(old.format) == "流媒体（已停用）"
    before = session.scalar(select(func.count()).select_from(Resource))
    with pytest.raises(DomainError) as exc:
        service.create_resource(
            session, officer, world.police, company_resource("视频", format="streaming")
        )
    assert (exc.value.status, exc.value.code) == (400, "catalog.vocab_value_retired")
    assert "资源格式“流媒体”已停用" in exc.value.message and "“电子文件”" in exc.value.message
    assert exc.value.detail == {
        "field": "format",
        "code": "streaming",
        "maps_to": "electronic_file",
    }
    with pytest.raises(DomainError) as exc:
        service.create_resource(
            session, officer, world.police, company_resource("视频", format="video")
        )
    assert exc.value.code == "catalog.vocab_value_unknown"
    assert exc.value.message.startswith("“video”不是有效的资源格式，可选：电子文件、电子表格")
    with pytest.raises(DomainError) as exc:
        service.create_resource(session, officer, world.police, company_resource("视频", format=""))
    assert (exc.value.code, exc.value.detail) == (
        "catalog.vocab_value_required",
        {"field": "format"},
    )
    assert "请选择资源格式" in exc.value.message
    assert session.scalar(select(func.count()).select_from(Resource)) == before
    made = service.create_resource(
        session, officer, world.police, company_resource("地块", format="geospatial")
    )
    assert made.format == "geospatial"
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "catalog.vocabulary.publish")
    ).one()
    assert event.object_id == "resource_format:2"
    assert "新增地理空间数据" in event.summary and "停用流媒体→电子文件" in event.summary


def test_a_format_the_bureau_adds_lists_its_items_under_its_own_label(
    session: Session, world: World
) -> None:
    # Only the guide's unstructured formats (电子文件, 图形图像, 流媒体) may list no item.
    _formats_v2(session, world)
    officer = world.actor(session, "officer")
    with pytest.raises(DomainError) as exc:
        service.create_resource(
            session,
            officer,
            world.police,
            company_resource(format="geospatial", items=[], subject_kind="other"),
        )
    assert exc.value.code == "catalog.items_required"
    assert exc.value.message == "“地理空间数据”格式的政务数据资源须至少列出一个信息项。"
    made = service.create_resource(
        session,
        officer,
        world.police,
        company_resource(format="electronic_file", items=[], subject_kind="other"),
    )
    assert made.items == []


def test_resources_holding_a_retired_format_are_flagged_and_remapped(
    session: Session, world: World
) -> None:  # Art. 14
    officer = world.actor(session, "officer")
    held = service.create_resource(
        session, officer, world.police, company_resource(format="streaming")
    )
    other = service.create_resource(session, officer, world.police, person_resource())
    _formats_v2(session, world)
    (flag,) = vocabulary_flags.flagged(session, RESOURCE_FORMAT)
    assert (flag.code, flag.label, flag.maps_to_label, flag.remappable) == (
        "streaming",
        "流媒体",
        "电子文件",
        1,
    )
    assert (
        vocabulary_flags.flagged(session, RESOURCE_FORMAT, world.actor(session, "officer2")) == []
    )
    rows, total = vocabulary_flags.flagged_resources(session, officer, RESOURCE_FORMAT)
    assert ([r.id for r in rows], total) == ([held.id], 1)
    # The security level's flags are a list of their own: nothing retired there.
    assert vocabulary_flags.flagged(session, vocabularies.SECURITY_LEVEL) == []
    city = world.actor(session, "city")
    with pytest.raises(DomainError) as exc:
        vocabulary_flags.apply_mapping(session, city, RESOURCE_FORMAT, expected=2)
    assert exc.value.code == "catalog.vocab_counts_changed"
    applied = vocabulary_flags.apply_mapping(session, city, RESOURCE_FORMAT, expected=1)
    assert applied.changed == {"streaming": 1}
    session.refresh(held)
    session.refresh(other)
    assert (held.format, held.state) == ("electronic_file", "draft")
    assert other.format == "database"
    assert vocabulary_flags.flagged(session, RESOURCE_FORMAT) == []
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "catalog.vocabulary.apply_mapping")
    ).one()
    assert event.summary == "按资源格式第 2 版对应关系更新资源：流媒体→电子文件 1 条"


def test_format_codes_fit_the_column_they_are_stored_in(session: Session, world: World) -> None:
    city = world.actor(session, "city")
    before = _written(session)
    with pytest.raises(DomainError) as exc:
        vocabularies.publish(
            session, city, RESOURCE_FORMAT, [*FORMATS_V2, EntryIn("x" * 21, "超长代码")], {}
        )
    assert exc.value.code == "catalog.vocab_code_invalid" and "最多 20 个字符" in exc.value.message
    assert _written(session) == before


# --- update cycles: relabelled, never added or retired ----------------------------------------


def test_the_bureau_relabels_an_update_cycle_and_labels_follow(
    session: Session, world: World
) -> None:
    officer = world.actor(session, "officer")
    made = service.create_resource(
        session, officer, world.police, company_resource(update_cycle="quarterly")
    )
    city = world.actor(session, "city")
    order = [c.value for c in UpdateCycle]
    entries = _cycles(quarterly="每季")
    row = vocabularies.publish(session, city, UPDATE_CYCLE, entries[::-1], {})
    assert row.version == 2 and row.mapping == {}
    vocab = vocabularies.current(session, UPDATE_CYCLE)
    assert [e.code for e in vocab.active] == order[::-1]  # reordered, codes kept
    assert vocab.display(made.update_cycle) == "每季"
    assert vocabulary_flags.flagged(session, UPDATE_CYCLE) == []
    # Exports carry the new label; an import of the old or the new one means the same code.
    content = export_list(session, officer, world.police, "xlsx")
    sheets: dict[str, Any] = read_sheets(content)
    header = sheets["信息资源"][0]
    assert sheets["信息资源"][1][header.index("更新周期")] == "每季"
    rows = [person_row(**{"更新周期": "每季度"}), company_row("登记二", **{"更新周期": "每季"})]
    items = [*person_items(), *company_items("登记二")]
    officer2 = world.actor(session, "officer2")
    result = import_catalog(session, officer2, world.market, xlsx(rows, items))
    assert result.created == 2
    assert set(
        session.scalars(select(Resource.update_cycle).where(Resource.department_id == world.market))
    ) == {"quarterly"}


@pytest.mark.parametrize(
    ("entries", "what"),
    [
        ([*_cycles(), EntryIn("biennial", "每两年")], "an addition"),
        (_cycles()[:-1], "a retirement"),
    ],
)
def test_update_cycles_are_not_added_or_retired(
    session: Session, world: World, entries: list[EntryIn], what: str
) -> None:
    # Their codes drive deadlines and freshness (Art. 14, 20): a new one would have no period.
    city = world.actor(session, "city")
    before = _written(session)
    mapping = {} if len(entries) > len(UpdateCycle) else {"irregular": "annual"}
    with pytest.raises(DomainError) as exc:
        vocabularies.publish(session, city, UPDATE_CYCLE, entries, mapping)
    assert (exc.value.status, exc.value.code) == (400, "catalog.vocab_codes_fixed"), what
    assert exc.value.message == (
        "更新周期的代码决定更新期限和时效检查，只能更改名称和顺序，不能新增或停用取值。"
    )
    assert _written(session) == before


# --- spreadsheets and the open-data portal ----------------------------------------------------


def test_an_import_maps_a_retired_format_and_keeps_the_subtype(
    session: Session, world: World
) -> None:
    _formats_v2(session, world)
    officer = world.actor(session, "officer")
    rows = [
        person_row(**{"信息资源格式": "流媒体/HLS"}),
        company_row(**{"信息资源格式": "地理空间数据/shp"}),
    ]
    result = import_catalog(
        session, officer, world.police, xlsx(rows, [*person_items(), *company_items()])
    )
    assert result.created == 2
    stored = session.execute(
        select(Resource.format, Resource.format_subtype)
        .where(Resource.department_id == world.police)
        .order_by(Resource.name)
    ).all()
    assert sorted(tuple(r) for r in stored) == [("electronic_file", "HLS"), ("geospatial", "shp")]


def test_an_import_with_an_unknown_format_names_the_cell(session: Session, world: World) -> None:
    _formats_v2(session, world)
    officer = world.actor(session, "officer")
    err = rejected(
        session,
        officer,
        world.police,
        xlsx([person_row(**{"信息资源格式": "胶片"})], person_items()),
    )
    (problem,) = err.problems
    assert (problem.row, problem.column, problem.code) == (
        2,
        "信息资源格式",
        "catalog.import_label_unknown",
    )
    assert problem.message.startswith("“胶片”不是有效的信息资源格式，可填：电子文件、电子表格")
    assert "地理空间数据" in problem.message and "流媒体" not in problem.message


def test_an_export_carries_a_retired_formats_last_label_and_imports_back(
    session: Session, world: World
) -> None:
    officer = world.actor(session, "officer")
    service.create_resource(
        session, officer, world.police, company_resource(format="streaming", format_subtype="HLS")
    )
    _formats_v2(session, world)
    content = export_list(session, officer, world.police, "xlsx")
    sheets: dict[str, Any] = read_sheets(content)
    header = sheets["信息资源"][0]
    assert sheets["信息资源"][1][header.index("信息资源格式")] == "流媒体/HLS"
    result = import_catalog(session, officer, world.police, content)
    assert result.updated == 1
    session.expire_all()
    assert session.scalars(
        select(Resource.format).where(Resource.department_id == world.police)
    ).all() == ["electronic_file"]


def test_the_portal_labels_formats_and_cycles_by_the_current_lists(
    session: Session, world: World
) -> None:
    city = world.actor(session, "city")
    vocabularies.publish(
        session,
        city,
        RESOURCE_FORMAT,
        [EntryIn(e.code, "表格" if e.code == "spreadsheet" else e.label) for e in FORMATS_V2],
        {"streaming": "electronic_file"},
    )
    vocabularies.publish(session, city, UPDATE_CYCLE, _cycles(daily="每天"), {})
    label = labeller(session)
    assert label("format", "spreadsheet") == "表格"
    assert label("format", "streaming") == "流媒体"  # retired: its last label
    assert label("update_cycle", "daily") == "每天"
    assert label("open_type", "unconditional") == "无条件开放"
    assert label("format", "unheard_of") == "unheard_of"
