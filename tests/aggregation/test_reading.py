"""Reading load files (Art. 17 ¶1): bad input of any shape is refused with a stable code, the
row and item, and a zh-CN message, within a bounded memory; good input reads the same whatever
the chunk size."""

from __future__ import annotations

import io
import json
import re
import tracemalloc
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from govdata.aggregation import loading, pools, reading
from govdata.aggregation.models import BadRowPolicy, Load, LoadProblem, LoadStatus, QuarantinedRow
from govdata.core.errors import InvalidInput
from govdata.core.ids import make_id_number
from tests.aggregation.factories import person_pool_resource
from tests.world import World

Rows = list[tuple[Any, ...]]


def read(path: Path, file_format: str = "csv") -> Rows:
    frames = list(reading.batches(reading.Source(path, file_format), batch_rows=1000))
    return pl.concat(frames, how="diagonal").rows() if frames else []


def refusal(path: Path, file_format: str = "csv") -> InvalidInput:
    with pytest.raises(InvalidInput) as exc:
        read(path, file_format)
    return exc.value


def write(tmp_path: Path, text: str | bytes, name: str = "t.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def chunk_sizes(path: Path) -> list[int]:
    """Every chunk size up to the file's (and one past it): every cut a file can have."""
    return list(range(1, path.stat().st_size + 2))


def zh_cn_only(message: str) -> bool:
    """No English in a message users read (names of formats and programs aside)."""
    return set(re.findall(r"[A-Za-z]{3,}", message)) <= {
        "CSV",
        "UTF",
        "JSON",
        "Lines",
        "Excel",
        "xlsx",
        "xls",
        "WPS",
    }


@pytest.fixture
def every_chunk_size(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], None]:
    def use(size: int) -> None:
        monkeypatch.setattr(reading, "_CSV_CHUNK", size)

    return use


# --- quotes --------------------------------------------------------------------------------


GOOD = (
    'a,b,c\r\n1,"多\r\n行",""\r\n"""x""","a,b","q""q"\r\n'
    '2,他说"你好",y\r\n"",,"末\n行"\r\n3,"""",z'  # no newline at the end
)


def test_good_quoting_reads_the_same_at_every_cut(
    tmp_path: Path, every_chunk_size: Callable[[int], None]
) -> None:
    path = write(tmp_path, GOOD)
    whole = pl.read_csv(io.BytesIO(GOOD.encode()), infer_schema=False)
    expected = [(n, *row) for n, row in enumerate(whole.rows(), start=2)]
    assert expected[2][2] == '他说"你好"'  # two literal quotes on one line are data
    for size in chunk_sizes(path):
        every_chunk_size(size)
        assert read(path) == expected, size


def test_a_stray_quote_is_refused_with_its_row_and_item(
    tmp_path: Path, every_chunk_size: Callable[[int], None]
) -> None:
    # Art. 17 ¶1: an inch mark left unescaped in an unquoted field.
    path = write(tmp_path, '编号,尺寸,备注\n1,5,无\n2,5",无\n3,6,无\n')
    for size in chunk_sizes(path):
        every_chunk_size(size)
        exc = refusal(path)
        assert exc.code == "aggregation.csv_stray_quote", size
        assert exc.detail == {"row": 3, "item": "尺寸"}
        assert exc.message.startswith("第 3 行“尺寸”有未成对的英文双引号")
        assert zh_cn_only(exc.message)


def test_a_multi_line_field_after_a_stray_quote(
    tmp_path: Path, every_chunk_size: Callable[[int], None]
) -> None:
    # Parity alone would take the stray quote as opening a field and cut inside the quoted
    # field that follows; the file is refused at the stray quote whatever the cut.
    text = '编号,备注\n1,甲\n2,5"长\n3,乙\n4,"第一行\n第二行"\n5,丙\n'
    path = write(tmp_path, text)
    for size in chunk_sizes(path):
        every_chunk_size(size)
        exc = refusal(path)
        assert (exc.code, exc.detail) == ("aggregation.csv_stray_quote", {"row": 3, "item": "备注"})


def test_an_unclosed_quote_is_refused_at_its_opening(
    tmp_path: Path, every_chunk_size: Callable[[int], None]
) -> None:
    path = write(tmp_path, '编号,备注\n1,甲\n2,"没有闭合""的\n3,乙\n4,丙\n')
    for size in chunk_sizes(path):
        every_chunk_size(size)
        exc = refusal(path)
        assert exc.code == "aggregation.csv_unclosed_quote", size
        assert exc.detail == {"row": 3, "item": "备注"}
        assert "没有闭合" in exc.message and zh_cn_only(exc.message)


def test_a_stray_quote_keeps_the_reader_within_its_memory_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One stray quote and no quote after it: parity stays odd to the end of the file. The
    reader used to carry the rest of the file (and count its quotes again at every read)."""
    monkeypatch.setattr(reading, "_CSV_CHUNK", 64 << 10)
    monkeypatch.setattr(reading, "_MAX_RECORD", 256 << 10)
    monkeypatch.setattr(reading, "_SNIFF_BYTES", 64 << 10)
    rows = [f"{n},甲乙丙丁戊己庚辛壬癸{n}" for n in range(200_000)]
    rows[10] = '10,长 5"'
    path = write(tmp_path, "编号,备注\n" + "\n".join(rows) + "\n")
    assert path.stat().st_size > 6 << 20
    read(write(tmp_path, 'a\n""\n', "warm.csv"))  # imports done before measuring
    tracemalloc.start()
    try:
        exc = refusal(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (exc.code, exc.detail) == ("aggregation.csv_stray_quote", {"row": 12, "item": "备注"})
    assert peak < 2 << 20


def test_a_record_longer_than_the_bound_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reading, "_CSV_CHUNK", 64)
    monkeypatch.setattr(reading, "_MAX_RECORD", 256)
    path = write(tmp_path, "编号,备注\n1,甲\n2," + "长" * 200 + "\n3,乙\n")
    exc = refusal(path)
    assert (exc.code, exc.detail) == ("aggregation.csv_record_too_long", {"row": 3})
    # A quoted field that never closes is named as such, not as a long record.
    path = write(tmp_path, '编号,备注\n1,甲\n2,"' + "长\n" * 200)
    exc = refusal(path)
    assert (exc.code, exc.detail) == ("aggregation.csv_unclosed_quote", {"row": 3, "item": "备注"})


# --- malformed records, header, encoding ---------------------------------------------------


def test_a_malformed_csv_is_refused_in_zh_cn_with_row_and_item(
    tmp_path: Path, every_chunk_size: Callable[[int], None]
) -> None:
    # Polars' own text was "could not parse `"张"三` as dtype `str` at column '姓名'".
    path = write(tmp_path, '编号,姓名\n1,甲\n2,"张"三\n3,乙\n')
    for size in chunk_sizes(path):
        every_chunk_size(size)
        exc = refusal(path)
        assert (exc.code, exc.detail) == ("aggregation.csv_bad_quote", {"row": 3, "item": "姓名"})
        assert exc.message.startswith("第 3 行“姓名”的英文双引号") and zh_cn_only(exc.message)


def test_a_record_with_more_fields_than_the_header(
    tmp_path: Path, every_chunk_size: Callable[[int], None]
) -> None:
    path = write(tmp_path, "编号,姓名\n1,甲\n2,乙\n3,丙,多余\n")
    for size in chunk_sizes(path):
        every_chunk_size(size)
        exc = refusal(path)
        assert (exc.code, exc.detail) == ("aggregation.csv_too_many_fields", {"row": 4})
        assert "第 4 行有 3 个字段，多于表头的 2 列" in exc.message and zh_cn_only(exc.message)


def test_a_record_shorter_than_the_header_reads_as_missing_values(
    tmp_path: Path, every_chunk_size: Callable[[int], None]
) -> None:
    # A chunk that began with a short record used to be refused (Polars: "new_columns does
    # not match"), while the same file read whole was fine.
    path = write(tmp_path, "编号,姓名\n1\n2,乙\n3\n")
    for size in chunk_sizes(path):
        every_chunk_size(size)
        assert read(path) == [(2, "1", None), (3, "2", "乙"), (4, "3", None)], size


def test_a_lone_carriage_return_is_refused_in_zh_cn(tmp_path: Path) -> None:
    exc = refusal(write(tmp_path, "编号,姓名\n1,甲\r2,乙\n"))
    assert (exc.code, exc.detail) == ("aggregation.malformed_csv", {"row": 2})
    assert "单独的回车符" in exc.message and zh_cn_only(exc.message)


def test_a_duplicate_header_is_named_as_a_duplicate_item(tmp_path: Path) -> None:
    # Polars renamed the second column 企业名称_duplicated_0, reported as an unknown item.
    exc = refusal(write(tmp_path, "企业名称,地址, 企业名称\n甲,乙,丙\n"))
    assert exc.code == "aggregation.duplicate_column"
    assert exc.detail == {"columns": ["企业名称"]}
    assert exc.message == "表头中有重复的信息项：“企业名称”（第 1、3 列）。每个信息项只能有一列。"
    exc = refusal(write(tmp_path, "编号,_row\n1,2\n"))
    assert exc.code == "aggregation.reserved_column"


def test_utf8_that_breaks_after_the_sniffed_megabyte(tmp_path: Path) -> None:
    # The encoding is sniffed from the first MiB; a GB18030 row further on was refused with
    # Polars' "invalid utf-8 sequence".
    good = "".join(f"{n},甲乙丙丁戊己庚辛壬癸{n}\n" for n in range(40_000)).encode()
    assert len(good) > 1 << 20
    path = write(tmp_path, "编号,姓名\n".encode() + good + "40000,张三\n".encode("gb18030"))
    exc = refusal(path)
    assert (exc.code, exc.detail) == ("aggregation.bad_encoding", {"row": 40_002, "item": "姓名"})
    assert zh_cn_only(exc.message)


# --- JSON Lines ----------------------------------------------------------------------------


def test_jsonl_that_is_not_utf8_is_refused_with_its_row(tmp_path: Path) -> None:
    # The reader raised Python's UnicodeDecodeError ("'utf-8' codec can't decode byte …").
    lines = [json.dumps({"姓名": "甲"}, ensure_ascii=False).encode()]
    lines.append(json.dumps({"姓名": "张三"}, ensure_ascii=False).encode("gb18030"))
    exc = refusal(write(tmp_path, b"\n".join(lines), "p.jsonl"), "jsonl")
    assert (exc.code, exc.detail) == ("aggregation.bad_encoding", {"row": 2})
    assert exc.message.startswith("第 2 行含有不是 UTF-8 编码的字节") and zh_cn_only(exc.message)


def test_jsonl_values_that_are_not_strings_are_marked(tmp_path: Path) -> None:
    text = "\n".join(
        json.dumps(obj, ensure_ascii=False)
        for obj in [{"姓名": "甲", "年龄": 3}, {"姓名": ["乙"], "年龄": "4"}, {"姓名": 5}]
    )
    frames = list(reading.batches(reading.Source(write(tmp_path, text, "p.jsonl"), "jsonl")))
    frame = pl.concat(frames)
    assert frame["姓名"].to_list() == ["甲", '["乙"]', "5"]
    assert frame[reading.JSON_TYPE + "姓名"].to_list() == [None, "array", "number"]
    assert frame[reading.JSON_TYPE + "年龄"].to_list() == ["number", None, None]


def test_jsonl_keys_repeated_after_trimming_or_reserved(tmp_path: Path) -> None:
    exc = refusal(write(tmp_path, '{"姓名": "甲", " 姓名": "乙"}\n', "p.jsonl"), "jsonl")
    assert exc.code == "aggregation.duplicate_column"
    exc = refusal(write(tmp_path, '{"姓名": "甲", "_row": 3}\n', "p.jsonl"), "jsonl")
    assert exc.code == "aggregation.reserved_column"


def test_an_xlsx_that_cannot_be_read_is_refused_in_zh_cn(tmp_path: Path) -> None:
    exc = refusal(write(tmp_path, b"PK\x03\x04 not a workbook", "p.xlsx"), "xlsx")
    assert exc.code == "aggregation.malformed_xlsx" and zh_cn_only(exc.message)


# --- a refused file at the load level -------------------------------------------------------


def test_a_fault_after_batches_were_written_leaves_the_pool_as_it_was(
    session: Session, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Art. 17 ¶1: the stray quote sits in a later chunk, after batches were staged (and, on
    SQLite, committed): the load is refused, its staging table, problems and quarantined rows
    are gone, and the pool keeps its data."""
    resource = person_pool_resource(session, world, world.police, "读取测试", [("备注", "C", 20)])
    officer = world.actor(session, "officer")

    def load(text: str) -> Load:
        path = write(tmp_path, text, "p.csv")
        created = loading.create_load(
            session,
            officer,
            resource_code=resource.code,
            path=path,
            filename="p.csv",
            policy=BadRowPolicy.QUARANTINE,
        )
        session.commit()
        return loading.execute(session, created.id, batch_rows=5)

    keys = [make_id_number("500103", date(1990, 1, 1 + n % 28), n) for n in range(60)]
    first = load("公民身份号码,备注\n" + "".join(f"{k},甲\n" for k in keys[:3]))
    assert first.status == LoadStatus.SUCCEEDED
    monkeypatch.setattr(reading, "_CSV_CHUNK", 256)
    rows = [f"{k},乙\n" for k in keys]
    rows[50] = f'{keys[50]},长 5"\n'
    second = load("公民身份号码,备注\n" + "".join(rows))
    assert (second.status, second.error_code) == (
        LoadStatus.REJECTED,
        "aggregation.csv_stray_quote",
    )
    assert second.error_message.startswith("第 52 行“备注”有未成对的英文双引号")
    assert second.rows_loaded == 0 and second.problems_recorded == 0
    held = session.scalars(select(LoadProblem).where(LoadProblem.load_id == second.id)).all()
    assert (
        held == []
        and not session.scalars(
            select(QuarantinedRow).where(QuarantinedRow.load_id == second.id)
        ).all()
    )
    assert not [n for n in inspect(session.connection()).get_table_names() if "stage" in n]
    pool = pools.get_pool(session, officer, second.pool_id)
    assert pool.current_load_id == first.id and pool.row_count == 3
