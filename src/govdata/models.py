"""Imports every domain's models so that ``Base.metadata`` knows all tables (Alembic, tests)."""

from __future__ import annotations


def load_all_models() -> None:
    import govdata.aggregation.models
    import govdata.catalog.models
    import govdata.core.audit
    import govdata.core.calendar
    import govdata.core.obligations
    import govdata.org.models  # noqa: F401
