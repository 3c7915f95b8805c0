"""The one list of the platform's domains. Adding a domain is a package with a ``domain.py``
and one line here; nothing else in the platform names it."""

from __future__ import annotations

import importlib
from collections.abc import Sequence

from govdata.core import jobs
from govdata.web.domain import Domain
from govdata.web.templating import add_template_dir


def all_domains() -> list[Domain]:
    from govdata.aggregation.domain import DOMAIN as AGGREGATION
    from govdata.app.domain import PLATFORM
    from govdata.catalog.domain import DOMAIN as CATALOG
    from govdata.opendata.domain import DOMAIN as OPENDATA
    from govdata.org.domain import DOMAIN as ORG
    from govdata.security.domain import DOMAIN as SECURITY
    from govdata.sharing.domain import DOMAIN as SHARING

    # The order routers are included in, and home sections shown in.
    return [PLATFORM, ORG, CATALOG, AGGREGATION, SHARING, OPENDATA, SECURITY]


def install(domains: Sequence[Domain]) -> None:
    """Make the domains' tables and jobs known (idempotent): SQLAlchemy's metadata, the job
    registry and the periodic schedule."""
    for domain in domains:
        for module in domain.model_modules:
            importlib.import_module(module)
        jobs.register_job_modules(*domain.job_modules)
        for periodic in domain.periodic:
            jobs.register_periodic(periodic.job, periodic.cron)
        if domain.templates is not None:
            add_template_dir(domain.templates)


def load_all_models() -> None:
    """Every domain's tables in ``Base.metadata`` (Alembic, tests)."""
    install(all_domains())


def is_unmanaged_table(name: str, domains: Sequence[Domain] | None = None) -> bool:
    """A table some domain keeps outside its models (run-time data tables, search indexes)."""
    return any(d.unmanaged_tables(name) for d in (domains or all_domains()) if d.unmanaged_tables)
