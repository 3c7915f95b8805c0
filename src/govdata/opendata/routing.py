"""Path parameters of the open-data routes (registered once, on import, before any route
that names them is declared)."""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor


class DatasetCode(Convertor[str]):
    """A dataset's code in a path: a catalog resource code, ``<classification>/<sequence>``
    (``catalog.service.issue_code``), one slash at most. Unlike ``{code:path}``, it leaves
    ``/open/datasets/{code}/apply`` and other sub-pages to their own routes."""

    regex = "[^/]+(?:/[^/]+)?"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("dataset_code", DatasetCode())
