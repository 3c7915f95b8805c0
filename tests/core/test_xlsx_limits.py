"""Uploaded xlsx are checked before calamine reads them (Art. 39; zip bombs): small synthetic
bombs, built here, with low limits."""

from __future__ import annotations

import io
import struct
import zipfile

import pytest
from openpyxl import Workbook  # type: ignore[import-untyped]
from python_calamine import CalamineWorkbook

from govdata.core import xlsx_limits
from govdata.core.xlsx_limits import XlsxLimits, XlsxTooLarge, check_xlsx

LIMITS = XlsxLimits(max_expanded_bytes=50 << 20)
HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
)
TAIL = "</sheetData></worksheet>"


def workbook(sheet_xml: str, *, extra: dict[str, bytes] | None = None) -> bytes:
    """A minimal xlsx calamine opens, with ``sheet_xml`` as its one sheet."""
    main = "http://schemas.openxmlformats.org"
    parts = {
        "[Content_Types].xml": f'<Types xmlns="{main}/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.sheet.main+xml"/></Types>',
        "_rels/.rels": f'<Relationships xmlns="{main}/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{main}/officeDocument/2006/relationships/'
        'officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<workbook xmlns="{main}/spreadsheetml/2006/main" '
        f'xmlns:r="{main}/officeDocument/2006/relationships"><sheets>'
        '<sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{main}/package/2006/'
        f'relationships"><Relationship Id="rId1" Type="{main}/officeDocument/2006/'
        'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": sheet_xml,
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def refused(content: bytes, limits: XlsxLimits = LIMITS) -> XlsxTooLarge:
    with pytest.raises(XlsxTooLarge) as err:
        check_xlsx(content, limits)
    assert err.value.message.endswith("。")
    return err.value


def rows_xml(n: int, columns: str = "ABC") -> str:
    return "".join(
        f'<row r="{r}">' + "".join(f'<c r="{c}{r}"><v>{r}</v></c>' for c in columns) + "</row>"
        for r in range(1, n + 1)
    )


def test_an_ordinary_workbook_passes_and_calamine_reads_it() -> None:
    wb = Workbook()
    ws = wb.active
    for r in range(1, 3001):
        ws.append([r, f"名称{r}", -r, "=不是公式" if r == 5 else None])
    buffer = io.BytesIO()
    wb.save(buffer)
    check_xlsx(buffer.getvalue(), XlsxLimits(max_expanded_bytes=50 << 20, max_cells=3000 * 4))
    with pytest.raises(XlsxTooLarge):  # one cell fewer than the grid: refused
        check_xlsx(buffer.getvalue(), XlsxLimits(max_expanded_bytes=50 << 20, max_cells=11_999))
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(buffer.getvalue())).get_sheet_by_index(0)
    assert sheet.height == 3000


def test_a_sparse_sheet_of_two_cells_is_refused() -> None:
    # 1.5 KB; calamine would allocate 1,048,576 × 16,384 cells and abort the process.
    xml = HEAD + '<row r="1"><c r="A1"><v>1</v></c></row>'
    xml += '<row r="1048576"><c r="XFD1048576"><v>2</v></c></row>' + TAIL
    err = refused(workbook(xml))
    assert err.reason == "cells" and err.detail["columns"] == 16_384


def test_a_cell_far_out_in_an_ordinary_looking_row_is_refused() -> None:
    # The row says 2; the cell's own reference (which calamine follows) is far beyond.
    xml = HEAD + rows_xml(100) + '<row r="101"><c r="A900000"><v>1</v></c></row>' + TAIL
    err = refused(workbook(xml), XlsxLimits(max_expanded_bytes=50 << 20, max_cells=1000))
    assert err.reason == "cells" and err.detail["rows"] == 900_000


@pytest.mark.parametrize(
    "cell",
    [
        "<x:c r='XFD1'><x:v>1</x:v></x:c>",  # a prefix, single quotes
        '<c\tr="XFD1"><v>1</v></c>',  # a tab
        '<c s="1" r="XFD1"><v>1</v></c>',  # the reference not first
        '<c r = "XFD1"><v>1</v></c>',  # spaces around '='
        '<c r="xfd1"><v>1</v></c>',  # lower case
    ],
)
def test_unusual_xml_takes_the_general_way_and_is_refused_too(cell: str) -> None:
    xml = HEAD + rows_xml(50) + f'<row r="51">{cell}</row>' + TAIL
    err = refused(workbook(xml), XlsxLimits(max_expanded_bytes=50 << 20, max_cells=100_000))
    assert err.reason == "cells"


def test_rows_and_cells_without_references_are_counted_as_calamine_counts_them() -> None:
    wide = "<row>" + "<c><v>1</v></c>" * 200 + "</row>"
    xml = HEAD + "<row/>" * 500 + wide + TAIL
    err = refused(workbook(xml), XlsxLimits(max_expanded_bytes=50 << 20, max_cells=50_000))
    assert err.reason == "cells" and err.detail["rows"] >= 501 and err.detail["columns"] >= 200
    check_xlsx(workbook(xml), XlsxLimits(max_expanded_bytes=50 << 20, max_cells=1_000_000))


def test_too_many_rows_is_refused() -> None:
    xml = HEAD + rows_xml(10) + '<row r="2000000"><c r="A2000000"><v>1</v></c></row>' + TAIL
    assert refused(workbook(xml)).reason == "rows"


def test_a_reference_written_with_character_references_is_refused() -> None:
    xml = HEAD + '<row r="1"><c r="&#88;FD1"><v>1</v></c></row>' + TAIL
    assert refused(workbook(xml)).reason == "unreadable"


def test_a_zip_bomb_is_refused_by_what_it_expands_to() -> None:
    # 20 MB of XML compressing to about 60 KB: refused at 5 MB, as it streams.
    row = '<row r="1"><c r="A1" t="inlineStr"><is><t>' + "a" * 1000 + "</t></is></c></row>"
    content = workbook(HEAD + row * 20_000 + TAIL)
    assert len(content) < 200_000
    err = refused(content, XlsxLimits(max_expanded_bytes=5 << 20))
    assert err.reason == "expanded"


def test_a_compression_ratio_beyond_the_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(xlsx_limits, "RATIO_MIN_BYTES", 1 << 20)
    content = workbook(HEAD + TAIL, extra={"xl/media/padding.bin": b"\0" * (4 << 20)})
    err = refused(content, XlsxLimits(max_expanded_bytes=50 << 20, max_ratio=100))
    assert err.reason == "ratio"


def test_too_many_entries_is_refused() -> None:
    extra = {f"xl/x/{i}.xml": b"<x/>" for i in range(20)}
    err = refused(workbook(HEAD + TAIL, extra=extra), XlsxLimits(50 << 20, max_entries=10))
    assert err.reason == "entries"


def _lie_about_size(content: bytes, name: str, size: int) -> bytes:
    """The entry's uncompressed size, in its local header and the central directory, set to
    ``size``: a header that lies."""
    data = bytearray(content)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        info = archive.getinfo(name)
    struct.pack_into("<I", data, info.header_offset + 22, size)
    central = data.find(b"PK\x01\x02")
    while central >= 0:
        length = struct.unpack_from("<H", data, central + 28)[0]
        if bytes(data[central + 46 : central + 46 + length]) == name.encode():
            struct.pack_into("<I", data, central + 24, size)
            break
        central = data.find(b"PK\x01\x02", central + 1)
    return bytes(data)


def test_a_header_that_lies_about_the_size_does_not_get_past() -> None:
    row = '<row r="1"><c r="A1" t="inlineStr"><is><t>' + "a" * 1000 + "</t></is></c></row>"
    content = _lie_about_size(workbook(HEAD + row * 20_000 + TAIL), "xl/worksheets/sheet1.xml", 100)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert archive.getinfo("xl/worksheets/sheet1.xml").file_size == 100
    # Either refused for what it really expands to, or as a damaged zip: never read whole.
    with pytest.raises((XlsxTooLarge, zipfile.BadZipFile)):
        check_xlsx(content, XlsxLimits(max_expanded_bytes=5 << 20))
