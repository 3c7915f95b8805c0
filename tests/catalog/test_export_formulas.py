"""Catalog exports never carry a live formula (Art. 39; CSV/formula injection): text a
department typed (an abstract, conditions, a legal basis) starting with = + - @ or their
full-width forms is text in the xlsx and apostrophe-prefixed in the CSV."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest
from openpyxl import load_workbook  # type: ignore[import-untyped]

from govdata.catalog import service
from govdata.catalog.spreadsheet import RESOURCE_SHEET, export_list
from govdata.core.spreadsheet_safety import FORMULA_START
from tests.catalog.factories import company_resource

ATTACKS = {
    "abstract": '=HYPERLINK("http://x","y")',
    "share_conditions": "+cmd|' /C calc'!A0",
    "usage_requirements": "@SUM(1)",
    "legal_basis": "-1+1",
    "open_conditions": "＝1+1",
}


def test_exports_hold_no_formula(session, world) -> None:  # type: ignore[no-untyped-def]
    officer = world.actor(session, "officer")
    service.create_resource(
        session,
        officer,
        world.police,
        company_resource(share_type="conditional", open_type="conditional", **ATTACKS),
    )
    session.flush()

    workbook = load_workbook(io.BytesIO(export_list(session, officer, world.police, "xlsx")))
    found = set()
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                if cell.value in ATTACKS.values():
                    assert cell.quotePrefix and sheet.title == RESOURCE_SHEET
                    found.add(cell.value)
    assert found == set(ATTACKS.values())  # unchanged: an export imports back as it was

    archive = zipfile.ZipFile(io.BytesIO(export_list(session, officer, world.police, "csv")))
    fields = [
        field
        for name in archive.namelist()
        for row in csv.reader(io.StringIO(archive.read(name).decode("utf-8-sig")))
        for field in row
    ]
    assert not [f for f in fields if f.startswith(FORMULA_START)]
    assert {"'" + a for a in ATTACKS.values()} <= set(fields)


# --- imports: a zip bomb or a sparse sheet refused before it is read (Art. 39) ----------------


def test_an_import_bomb_is_refused_and_nothing_is_stored(
    session, world, monkeypatch, settings
) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from govdata.catalog.spreadsheet import import_catalog, reading
    from govdata.core.errors import InvalidInput
    from tests.catalog.test_spreadsheet import counts
    from tests.core.test_xlsx_limits import HEAD, TAIL, workbook

    low = replace(settings, catalog_xlsx_max_expanded_bytes=1 << 20, xlsx_max_cells=10_000)
    monkeypatch.setattr(reading, "get_settings", lambda: low)
    officer = world.actor(session, "officer")
    before = counts(session)
    sparse = HEAD + '<row r="1"><c r="A1"><v>1</v></c></row>'
    sparse += '<row r="1048576"><c r="XFD1048576"><v>2</v></c></row>' + TAIL
    row = '<row r="1"><c r="A1" t="inlineStr"><is><t>' + "a" * 1000 + "</t></is></c></row>"
    for xml, reason in ((sparse, "cells"), (HEAD + row * 5000 + TAIL, "expanded")):
        with pytest.raises(InvalidInput) as err:
            import_catalog(session, officer, world.police, workbook(xml))
        assert (err.value.code, err.value.status) == ("catalog.import_too_large", 413)
        assert err.value.detail["reason"] == reason and "请分批导入" in err.value.message
    assert counts(session) == before
