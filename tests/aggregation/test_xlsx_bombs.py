"""A load's xlsx that would blow up calamine's memory is refused before it is read, with a
stable code and a zh-CN message, and nothing is stored (Art. 39; zip bombs)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy.orm import Session

from govdata.aggregation import formats
from govdata.catalog.models import Resource
from govdata.core.settings import Settings
from tests.aggregation.factories import person_pool_resource
from tests.aggregation.test_reading import refusal, write, zh_cn_only
from tests.core.test_xlsx_limits import HEAD, TAIL, workbook
from tests.world import World

SPARSE = workbook(
    HEAD
    + '<row r="1"><c r="A1" t="inlineStr"><is><t>公民身份号码</t></is></c></row>'
    + '<row r="1048576"><c r="XFD1048576"><v>2</v></c></row>'
    + TAIL
)
BOMB = workbook(
    HEAD
    + ('<row r="1"><c r="A1" t="inlineStr"><is><t>' + "a" * 1000 + "</t></is></c></row>") * 5000
    + TAIL
)


@pytest.fixture
def low_limits(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    low = replace(settings, xlsx_max_expanded_bytes=1 << 20, xlsx_max_cells=10_000)
    monkeypatch.setattr(formats, "get_settings", lambda: low)


@pytest.mark.usefixtures("low_limits")
@pytest.mark.parametrize("content", [SPARSE, BOMB], ids=["sparse", "bomb"])
def test_the_reader_refuses_before_calamine(tmp_path, content: bytes) -> None:  # type: ignore[no-untyped-def]
    exc = refusal(write(tmp_path, content, "p.xlsx"), "xlsx")
    assert (exc.code, exc.status) == ("aggregation.file_too_large_expanded", 413)
    assert zh_cn_only(exc.message) and exc.detail["reason"] in {"cells", "expanded"}


@pytest.fixture
def resource(session: Session, world: World) -> Resource:
    r = person_pool_resource(session, world, world.police, "压缩炸弹测试", [("姓名", "C", 20)])
    session.commit()
    return r


@pytest.mark.usefixtures("low_limits")
def test_an_uploaded_bomb_is_rejected_and_nothing_is_stored(sign_in, resource: Resource) -> None:  # type: ignore[no-untyped-def]
    c = sign_in("officer")
    r = c.post(
        f"/api/v1/aggregation/loads?resource={resource.code}",
        files={"file": ("p.xlsx", SPARSE, "application/octet-stream")},
    )
    assert r.status_code == 202, r.text
    load = c.get(f"/api/v1/aggregation/loads/{r.json()['id']}").json()
    assert load["status"] == "rejected", load
    assert load["error_code"] == "aggregation.file_too_large_expanded"
    assert load["rows_loaded"] == 0 and load["rows_read"] == 0
