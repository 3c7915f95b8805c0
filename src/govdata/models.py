"""Every domain's tables in ``Base.metadata`` (Alembic, tests): see ``govdata.app.domains``."""

from __future__ import annotations

from govdata.app.domains import load_all_models

__all__ = ["load_all_models"]
