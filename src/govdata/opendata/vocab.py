"""Open data's vocabularies: licences (the terms a dataset is opened under) and the data-use
agreement a conditional-open applicant accepts (Art. 33 ¶2)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Licence:
    id: str  # CKAN's ``license_id``
    title: str
    url: str  # the terms' page on the portal (DCAT ``dct:license``)


LICENCES: dict[str, Licence] = {
    "cq-open-data-1.0": Licence(
        "cq-open-data-1.0", "重庆市公共数据开放许可协议（1.0）", "/open/terms#licence"
    ),
    "cc-by-4.0": Licence(
        "cc-by-4.0", "知识共享署名 4.0 国际许可协议", "https://creativecommons.org/licenses/by/4.0/"
    ),
}
DEFAULT_LICENCE = "cq-open-data-1.0"

# The data-use agreement (数据利用协议) a conditional-open application accepts (Art. 33 ¶2).
AGREEMENT_VERSION = "2026-1"
