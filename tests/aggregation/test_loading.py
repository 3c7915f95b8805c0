"""The load pipeline at the service level (Art. 15, 16, 17 ¶1): formats, validation, cleaning,
bad-row policies, duplicate keys, incremental loads, atomic replacement, permissions."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.aggregation import loading, pools, reading
from govdata.aggregation.models import (
    BadRowPolicy,
    ItemSpec,
    Load,
    LoadMode,
    LoadProblem,
    LoadStatus,
    QuarantinedRow,
)
from govdata.catalog.models import Resource
from govdata.core.audit import AuditEvent
from govdata.core.errors import InvalidInput, NotFound, PermissionDenied
from govdata.core.ids import make_id_number
from tests.aggregation.factories import person_pool_resource, publish, resource_input
from tests.world import World

ITEMS = [("姓名", "C", 10), ("出生日期", "D", None), ("子女数", "I", None), ("在册", "L", None)]
HEADER = "公民身份号码,姓名,出生日期,子女数,在册"


def pid(n: int, year: int = 1990) -> str:
    return make_id_number("500103", date(year, 1, 1 + n % 28), n)


@pytest.fixture
def resource(session: Session, world: World) -> Resource:
    return person_pool_resource(session, world, world.police, "户籍人口测试", ITEMS)


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def run(
    session: Session,
    world: World,
    resource: Resource,
    path: Path,
    *,
    user: str = "officer",
    policy: BadRowPolicy = BadRowPolicy.REJECT_FILE,
    mode: LoadMode = LoadMode.REPLACE,
) -> Load:
    actor = world.actor(session, user)
    load = loading.create_load(
        session,
        actor,
        resource_code=resource.code,
        path=path,
        filename=path.name,
        policy=policy,
        mode=mode,
    )
    session.commit()
    return loading.execute(session, load.id, batch_rows=3)


def current(session: Session, world: World, load: Load) -> dict[str, dict[str, object]]:
    rows = pools.read_rows(session, world.actor(session, "city"), load.pool_id, limit=1000)
    return {str(r["公民身份号码"]): r for r in rows.rows}


def good_csv(n: int = 5) -> str:
    lines = [HEADER] + [f"{pid(i)},居民{i},1990-01-{1 + i % 28:02d},{i % 3},是" for i in range(n)]
    return "\n".join(lines) + "\n"


def test_full_load(session: Session, world: World, resource: Resource, tmp_path: Path) -> None:
    load = run(session, world, resource, write(tmp_path, "people.csv", good_csv(7)))
    assert load.status == LoadStatus.SUCCEEDED, load.error_message
    assert (load.rows_read, load.rows_loaded, load.rows_bad) == (7, 7, 0)
    data = current(session, world, load)
    row = data[pid(3)]
    assert row["姓名"] == "居民3"
    assert row["出生日期"] == date(1990, 1, 4)
    assert row["子女数"] == 0
    assert row["在册"] is True
    pool = pools.get_pool(session, world.actor(session, "officer"), load.pool_id)
    assert pool.row_count == 7 and pool.current_load_id == load.id
    actions = set(
        session.scalars(select(AuditEvent.action).where(AuditEvent.object_id == str(load.id)))
    )
    assert {"aggregation.load_created", "aggregation.load_succeeded"} <= actions


def test_gb18030_csv_is_detected(session: Session, world: World, resource, tmp_path: Path) -> None:
    path = write(tmp_path, "gbk.csv", good_csv(4), encoding="gb18030")
    load = run(session, world, resource, path)
    assert load.status == LoadStatus.SUCCEEDED and load.encoding == "gb18030"
    assert current(session, world, load)[pid(2)]["姓名"] == "居民2"


def test_xlsx_load(session: Session, world: World, resource: Resource, tmp_path: Path) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(HEADER.split(","))
    ws.append([pid(1), "张三", date(1990, 1, 2), 2, "否"])
    ws.append([pid(2), "李四", "1990年1月3日", None, "1"])
    path = tmp_path / "people.xlsx"
    wb.save(path)
    load = run(session, world, resource, path)
    assert load.status == LoadStatus.SUCCEEDED, load.error_message
    data = current(session, world, load)
    assert data[pid(1)]["出生日期"] == date(1990, 1, 2) and data[pid(1)]["在册"] is False
    assert data[pid(2)]["出生日期"] == date(1990, 1, 3) and data[pid(2)]["子女数"] is None


def test_jsonl_load(session: Session, world: World, resource: Resource, tmp_path: Path) -> None:
    lines = [
        json.dumps({"公民身份号码": pid(1), "姓名": "张三", "出生日期": "1990-01-02", "子女数": 1})
    ]
    lines.append(json.dumps({"公民身份号码": pid(2), "姓名": "李四", "在册": False}))
    load = run(session, world, resource, write(tmp_path, "p.jsonl", "\n".join(lines)))
    assert load.status == LoadStatus.SUCCEEDED, load.error_message
    assert current(session, world, load)[pid(2)]["在册"] is False


def test_cleaning(session: Session, world: World, resource: Resource, tmp_path: Path) -> None:
    # Full-width digits, blanks, Chinese date forms, lower-case x in an ID number.
    x_id = next(p for p in (pid(i, 1985) for i in range(200)) if p.endswith("X"))
    wide = "".join(chr(ord(c) + 0xFEE0) for c in pid(5))
    text = f"{HEADER}\n {x_id.lower()} ,　王五　,1985年3月1日,２,true\n{wide},赵六,1985/03/02,,否\n"
    load = run(session, world, resource, write(tmp_path, "c.csv", text))
    assert load.status == LoadStatus.SUCCEEDED, load.error_message
    data = current(session, world, load)
    assert data[x_id]["姓名"] == "王五" and data[x_id]["子女数"] == 2
    assert data[x_id]["出生日期"] == date(1985, 3, 1)
    assert data[pid(5)]["出生日期"] == date(1985, 3, 2)


BAD_ROWS = (
    f"{HEADER}\n"
    f"{pid(1)},好人,1990-01-02,1,是\n"
    "500103199001011234,坏号码,1990-01-02,1,是\n"  # row 3: check digit
    f"{pid(3)},名字太长太长太长太长太长,1990-01-02,1,是\n"  # row 4: longer than 10
    f"{pid(4)},坏日期,1990-02-30,1,是\n"  # row 5: no such day
    f"{pid(5)},坏整数,1990-01-02,一,是\n"  # row 6
    f"{pid(6)},坏逻辑,1990-01-02,1,也许\n"  # row 7
    ",无号码,1990-01-02,1,是\n"  # row 8: the subject key is required (Art. 16)
)


def test_every_kind_of_bad_row_is_reported(
    session: Session, world: World, resource, tmp_path: Path
) -> None:
    load = run(session, world, resource, write(tmp_path, "bad.csv", BAD_ROWS))
    assert load.status == LoadStatus.REJECTED
    assert load.error_code == "aggregation.bad_rows"
    assert load.rows_bad == 6 and load.rows_loaded == 0
    problems = {
        (p.row_number, p.column, p.code)
        for p in session.scalars(select(LoadProblem).where(LoadProblem.load_id == load.id))
    }
    assert problems == {
        (3, "公民身份号码", "aggregation.invalid_id_number"),
        (4, "姓名", "aggregation.too_long"),
        (5, "出生日期", "aggregation.bad_date"),
        (6, "子女数", "aggregation.bad_integer"),
        (7, "在册", "aggregation.bad_boolean"),
        (8, "公民身份号码", "aggregation.required_missing"),
    }
    message = session.scalars(
        select(LoadProblem.message).where(
            LoadProblem.load_id == load.id, LoadProblem.row_number == 3
        )
    ).one()
    assert "公民身份号码" in message and "校验" in message


def test_rejected_file_leaves_previous_version(
    session: Session, world: World, resource, tmp_path: Path
) -> None:
    first = run(session, world, resource, write(tmp_path, "ok.csv", good_csv(3)))
    second = run(session, world, resource, write(tmp_path, "bad.csv", BAD_ROWS))
    assert second.status == LoadStatus.REJECTED
    pool = pools.get_pool(session, world.actor(session, "city"), first.pool_id)
    assert pool.current_load_id == first.id and pool.row_count == 3
    assert set(current(session, world, first)) == {pid(0), pid(1), pid(2)}


def test_quarantine_loads_good_rows_and_keeps_bad_ones(
    session: Session, world: World, resource, tmp_path: Path
) -> None:
    load = run(
        session,
        world,
        resource,
        write(tmp_path, "bad.csv", BAD_ROWS),
        policy=BadRowPolicy.QUARANTINE,
    )
    assert load.status == LoadStatus.SUCCEEDED
    assert (load.rows_read, load.rows_loaded, load.rows_bad) == (7, 1, 6)
    assert set(current(session, world, load)) == {pid(1)}
    kept = session.scalars(select(QuarantinedRow).where(QuarantinedRow.load_id == load.id)).all()
    assert sorted(q.row_number for q in kept) == [3, 4, 5, 6, 7, 8]
    row4 = next(q for q in kept if q.row_number == 4)
    assert row4.data["姓名"] == "名字太长太长太长太长太长"  # as read: nothing lost


def test_duplicate_subject_keys_keep_the_later_row(
    session: Session, world: World, resource, tmp_path: Path
) -> None:
    text = f"{HEADER}\n{pid(1)},旧名,1990-01-02,1,是\n{pid(2)},乙,1990-01-03,0,是\n{pid(1)},新名,1990-01-02,2,是\n"
    load = run(session, world, resource, write(tmp_path, "dup.csv", text))
    assert load.status == LoadStatus.SUCCEEDED
    assert load.duplicates_removed == 1 and load.rows_loaded == 2
    assert current(session, world, load)[pid(1)]["姓名"] == "新名"
    note = session.scalars(select(LoadProblem).where(LoadProblem.load_id == load.id)).one()
    assert (note.row_number, note.code, note.kind) == (
        2,
        "aggregation.duplicate_subject_key",
        "cleaned",
    )


def test_unknown_and_missing_columns_refuse_the_file(
    session: Session, world: World, resource, tmp_path: Path
) -> None:
    load = run(
        session, world, resource, write(tmp_path, "u.csv", f"{HEADER},籍贯\n{pid(1)},甲,,,,重庆\n")
    )
    assert (load.status, load.error_code) == (LoadStatus.REJECTED, "aggregation.unknown_column")
    assert "籍贯" in load.error_message
    load = run(session, world, resource, write(tmp_path, "m.csv", "姓名\n甲\n"))
    assert (load.status, load.error_code) == (LoadStatus.REJECTED, "aggregation.missing_column")


def test_malformed_and_empty_files(
    session: Session, world: World, resource, tmp_path: Path
) -> None:
    load = run(session, world, resource, write(tmp_path, "h.csv", HEADER + "\n"))
    assert load.error_code == "aggregation.no_rows"
    load = run(
        session, world, resource, write(tmp_path, "j.jsonl", '{"公民身份号码": 1}\nnot json\n')
    )
    assert load.error_code == "aggregation.malformed_jsonl"
    with pytest.raises(InvalidInput) as exc:
        run(session, world, resource, write(tmp_path, "e.csv", ""))
    assert exc.value.code == "aggregation.empty_file"
    with pytest.raises(InvalidInput) as exc:
        run(session, world, resource, write(tmp_path, "p.pdf", "x"))
    assert exc.value.code == "aggregation.unsupported_format"


def test_specification_required_and_allowed_values(
    session: Session, world: World, tmp_path: Path
) -> None:
    # Art. 15: the aggregation specification adds required items and allowed values.
    res = person_pool_resource(
        session, world, world.police, "规范测试", [("性别", "C", 2), ("姓名", "C", 10)]
    )
    session.add(
        ItemSpec(resource_id=res.id, item_name="性别", required=True, allowed_values=["男", "女"])
    )
    session.add(ItemSpec(resource_id=res.id, item_name="姓名", required=True))
    session.flush()
    text = f"公民身份号码,性别,姓名\n{pid(1)},男,甲\n{pid(2)},未知,乙\n{pid(3)},女,\n"
    load = run(session, world, res, write(tmp_path, "s.csv", text), policy=BadRowPolicy.QUARANTINE)
    codes = {
        (p.row_number, p.code)
        for p in session.scalars(select(LoadProblem).where(LoadProblem.load_id == load.id))
    }
    assert codes == {(3, "aggregation.not_allowed_value"), (4, "aggregation.required_missing")}
    # A file without a required item is refused as a whole.
    load = run(session, world, res, write(tmp_path, "s2.csv", f"公民身份号码,姓名\n{pid(1)},甲\n"))
    assert load.error_code == "aggregation.missing_column" and "性别" in load.error_message


def test_upsert_merges_by_subject_key(
    session: Session, world: World, resource, tmp_path: Path
) -> None:
    first = run(session, world, resource, write(tmp_path, "a.csv", good_csv(3)))
    text = f"{HEADER}\n{pid(1)},改名,1990-01-02,9,否\n{pid(9)},新人,1990-01-10,0,是\n"
    second = run(session, world, resource, write(tmp_path, "b.csv", text), mode=LoadMode.UPSERT)
    assert second.status == LoadStatus.SUCCEEDED
    data = current(session, world, second)
    assert set(data) == {pid(0), pid(1), pid(2), pid(9)}
    assert data[pid(1)]["姓名"] == "改名" and data[pid(1)]["_load_id"] == second.id
    assert data[pid(0)]["_load_id"] == first.id  # untouched records keep their provenance
    pool = pools.get_pool(session, world.actor(session, "city"), second.pool_id)
    assert pool.row_count == 4 and pool.table_name == f"pool_{pool.id}_{first.id}"


def test_load_permissions(session: Session, world: World, resource, tmp_path: Path) -> None:
    path = write(tmp_path, "p.csv", good_csv(2))
    for user in ("officer2", "yz_officer", "auditor", "head", "citizen"):
        with pytest.raises(PermissionDenied):
            run(session, world, resource, path, user=user)
    # The city bureau may load on the department's behalf (product decision).
    assert run(session, world, resource, path, user="city").status == LoadStatus.SUCCEEDED
    # Another department cannot even see the pool or its loads.
    load = session.scalars(select(Load).where(Load.pool_id.is_not(None))).first()
    assert load is not None
    with pytest.raises(NotFound):
        loading.get_load(session, world.actor(session, "officer2"), load.id)


def test_unpublished_resource_has_no_pool(session: Session, world: World, tmp_path: Path) -> None:
    from govdata.catalog import service

    draft = service.create_resource(
        session,
        world.actor(session, "officer"),
        world.police,
        resource_input("未发布资源", [("公民身份号码", "C", 18)], key="公民身份号码"),
    )
    with pytest.raises(InvalidInput) as exc:
        run(session, world, draft, write(tmp_path, "p.csv", "公民身份号码\n1\n"))
    assert exc.value.code == "aggregation.resource_not_published"


def test_legal_person_key_checked_as_uscc(session: Session, world: World, tmp_path: Path) -> None:
    from govdata.core.ids import make_uscc

    res = publish(
        session,
        world,
        world.market,
        resource_input(
            "企业测试",
            [("统一社会信用代码", "C", 18), ("名称", "C", 50)],
            key="统一社会信用代码",
            subject_kind="legal_person",
        ),
    )
    ok = make_uscc("91500000MA5U000A1")
    text = f"统一社会信用代码,名称\n{ok},甲公司\n91500000MA5U000A1Z,乙公司\n"
    load = run(
        session,
        world,
        res,
        write(tmp_path, "c.csv", text),
        user="officer2",
        policy=BadRowPolicy.QUARANTINE,
    )
    assert load.rows_loaded == 1
    problem = session.scalars(select(LoadProblem).where(LoadProblem.load_id == load.id)).one()
    assert problem.code == "aggregation.invalid_uscc" and problem.row_number == 3


def test_csv_chunks_end_at_record_boundaries(
    session: Session,
    world: World,
    resource: Resource,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Quoted fields with newlines, commas and escaped quotes across many small chunks: every
    record is read whole, and numbered by record, not by line."""
    monkeypatch.setattr(reading, "_CSV_CHUNK", 16)
    names = ['"第一行\n第二行"', '"含,逗号"', '"含""引号"""', "普通"]
    lines = [HEADER] + [f"{pid(i)},{n},1990-01-02,{i},是" for i, n in enumerate(names)]
    load = run(session, world, resource, write(tmp_path, "q.csv", "\r\n".join(lines) + "\r\n"))
    assert load.status == LoadStatus.SUCCEEDED, load.error_message
    assert load.rows_read == 4
    data = current(session, world, load)
    # 姓名 is at most 10 characters; these fit.
    assert [data[pid(i)]["姓名"] for i in range(4)] == [
        "第一行\n第二行",
        "含,逗号",
        '含"引号"',
        "普通",
    ]
    assert [data[pid(i)]["_row"] for i in range(4)] == [2, 3, 4, 5]


@pytest.mark.parametrize(
    ("buf", "cut"),
    [
        (b"a,b\n1,2\n3,", 7),
        (b'a,"x\ny"\n1,', 7),
        (b'a,"x\n', -1),
        (b'"a""\nb"\n', 7),
        (b"no newline", -1),
    ],
)
def test_last_record_boundary(buf: bytes, cut: int) -> None:
    assert reading._last_boundary(buf) == cut
