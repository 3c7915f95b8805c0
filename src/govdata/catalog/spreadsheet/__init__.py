"""Catalog lists in spreadsheets: import a department's list from xlsx, export lists and versions.

Departments keep their 目录清单 in spreadsheets (Art. 11, 12). The workbook has two sheets:

``信息资源``
    one row per resource. Headers (matched by name, in any order): 信息资源分类 (基础, 主题 or
    部门, optionally followed by ``/项/目/细目``), 信息资源名称, 信息资源代码 (blank: a new
    resource, the platform issues its code), 信息资源提供方 (the department's name, for
    reading only), 信息资源提供方代码 (blank: the department imported into), 信息资源摘要,
    信息资源格式 (``数据库`` or ``数据库/PostgreSQL``: format, "/", sub-type), 共享类型,
    共享条件, 共享方式, 开放类型, 开放条件, 更新周期, 发布日期 (a date cell, or the text
    ``YYYY-MM-DD``, ``YYYY/MM/DD`` or ``YYYY年M月D日``), 关联资源代码 (separated by ``;``,
    ``；`` or ``,``), 法律依据, 安全级别 (公开/内部/敏感/受限, blank: 内部), and two optional
    headers the platform adds so that round trips are lossless: 使用要求 and 数据主体
    (自然人/法人/其他, blank: inferred from the subject-key item or the class, Art. 16).
``信息项``
    one row per info item: 信息资源名称 (naming its resource in the first sheet), 信息项名称,
    数据类型 (the guide's letter, or its label such as 字符型), 数据长度, and optionally 共享类型
    and 开放类型 (blank: the item inherits the resource's) and 是否主体标识 (是/否, Y/N, 1/0,
    TRUE/FALSE; blank: 否).

Columns whose cell is always needed (分类, 名称, 格式, 共享类型, 开放类型, 更新周期; 信息资源名称,
信息项名称, 数据类型) must be present; any other column may be left out and then reads as blank
cells. A row replaces the resource's metadata and its whole list of items; resources of the
department that the file does not mention are left as they are (withdrawing is done on the page).

Import is all or nothing (DESIGN principle 4): every row is checked first — the regulation's
rules (``rules.check_resource``, reported with the rules' own codes), labels, required cells,
codes, names and related codes (``catalog.import_*`` codes) — and if anything is wrong,
``ImportRejected`` lists every problem with its sheet, row (as the spreadsheet numbers it: the
header is row 1), column, code and a zh-CN message, and nothing is stored. Otherwise the rows are
stored in the caller's transaction (this module flushes, never commits) with one audit event
``catalog.list.import`` for the whole file. A row equal to the stored resource changes nothing,
not even its state. Small imports go through ``service.create_resource`` /
``service.update_resource``; large ones through a set-based path here that writes the same rows
(same codes, items, states; BENCHMARKS.md, "Catalog import and publish").

Export writes the same two-sheet layout, so an exported list imports back unchanged:

``xlsx``
    the workbook above (``export_list``: a department's working list without withdrawn or
    retired resources; ``export_published``: a published version).
``csv``
    a zip holding ``resources.csv`` and ``items.csv``: the two sheets, same headers and cells,
    UTF-8 with a BOM (so that Excel opens Chinese text correctly), CRLF line ends. A cell that
    begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading ``'`` so
    that a spreadsheet does not run it as a formula (OWASP "CSV injection").
``json``
    ``{"kind": "list"|"published", ..., "resources": [...]}``; each resource has ``code``,
    ``department_code``, ``department_name`` and the fields of ``schemas.ResourceIn`` with their
    stable English values (an item's ``share_type``/``open_type`` is null when it inherits).
"""

from __future__ import annotations

from govdata.catalog.spreadsheet.columns import (
    I_LENGTH,
    I_NAME,
    I_OPEN_TYPE,
    I_RESOURCE,
    I_SHARE_TYPE,
    I_SUBJECT_KEY,
    I_TYPE,
    ITEM_FIELD_COLUMNS,
    ITEM_HEADERS,
    ITEM_REQUIRED,
    ITEM_SHEET,
    MAX_PROBLEMS,
    R_ABSTRACT,
    R_CATEGORY,
    R_CODE,
    R_FORMAT,
    R_LEGAL_BASIS,
    R_NAME,
    R_OPEN_CONDITIONS,
    R_OPEN_TYPE,
    R_PROVIDER,
    R_PROVIDER_CODE,
    R_PUBLISHED_ON,
    R_RELATED,
    R_SECURITY,
    R_SHARE_CONDITIONS,
    R_SHARE_METHOD,
    R_SHARE_TYPE,
    R_SUBJECT,
    R_UPDATE_CYCLE,
    R_USAGE,
    RELATED_SEPARATORS,
    RESOURCE_FIELD_COLUMNS,
    RESOURCE_HEADERS,
    RESOURCE_REQUIRED,
    RESOURCE_SHEET,
    SHEETS,
    Cell,
    ImportProblem,
    ImportRejected,
    ImportResult,
)
from govdata.catalog.spreadsheet.exporting import (
    EXPORT_FORMATS,
    _Entry,
    _export_xlsx,
    export_list,
    export_published,
    problems_report_xlsx,
)
from govdata.catalog.spreadsheet.reading import (
    MAX_FILE_BYTES,
    MAX_ITEM_ROWS,
    MAX_RESOURCE_ROWS,
    MAX_UNCOMPRESSED_BYTES,
    _check,
    _open_workbook,
)
from govdata.catalog.spreadsheet.storing import (
    BULK_THRESHOLD,
    _store_bulk,
    _store_with_services,
    _stored,
    import_catalog,
)

# The names this had as one module (``columns``: layout, cells, problems; ``reading``: the
# workbook and the checks; ``storing``: import_catalog and both ways of storing; ``exporting``).
# The limits here are copies, to be read: a test or benchmark that changes one sets it on the
# module that reads it (``reading.MAX_FILE_BYTES``, ``columns.MAX_PROBLEMS``,
# ``storing.BULK_THRESHOLD``), and wraps a private function where it is called from.
__all__ = [
    "BULK_THRESHOLD",
    "EXPORT_FORMATS",
    "ITEM_FIELD_COLUMNS",
    "ITEM_HEADERS",
    "ITEM_REQUIRED",
    "ITEM_SHEET",
    "I_LENGTH",
    "I_NAME",
    "I_OPEN_TYPE",
    "I_RESOURCE",
    "I_SHARE_TYPE",
    "I_SUBJECT_KEY",
    "I_TYPE",
    "MAX_FILE_BYTES",
    "MAX_ITEM_ROWS",
    "MAX_PROBLEMS",
    "MAX_RESOURCE_ROWS",
    "MAX_UNCOMPRESSED_BYTES",
    "RELATED_SEPARATORS",
    "RESOURCE_FIELD_COLUMNS",
    "RESOURCE_HEADERS",
    "RESOURCE_REQUIRED",
    "RESOURCE_SHEET",
    "R_ABSTRACT",
    "R_CATEGORY",
    "R_CODE",
    "R_FORMAT",
    "R_LEGAL_BASIS",
    "R_NAME",
    "R_OPEN_CONDITIONS",
    "R_OPEN_TYPE",
    "R_PROVIDER",
    "R_PROVIDER_CODE",
    "R_PUBLISHED_ON",
    "R_RELATED",
    "R_SECURITY",
    "R_SHARE_CONDITIONS",
    "R_SHARE_METHOD",
    "R_SHARE_TYPE",
    "R_SUBJECT",
    "R_UPDATE_CYCLE",
    "R_USAGE",
    "SHEETS",
    "Cell",
    "ImportProblem",
    "ImportRejected",
    "ImportResult",
    "_Entry",
    "_check",
    "_export_xlsx",
    "_open_workbook",
    "_store_bulk",
    "_store_with_services",
    "_stored",
    "export_list",
    "export_published",
    "import_catalog",
    "problems_report_xlsx",
]
