"""How a domain plugs into the platform: one ``Domain`` value per domain package.

A domain (``org``, ``catalog``, ``aggregation``, next ``sharing`` …) declares itself once in its
``domain.py``: its routers, its navigation entries (each calling the domain's own ``can_*`` rule,
so navigation never restates a permission in its own words), its home-page sections, the modules
that define its tables and its background jobs, and its periodic jobs. The shell
(``govdata.app``) is the only place that lists the domains and builds the app from them.

Routers and home sections are given as callables, so that reading a domain's tables or jobs
(migrations, ``govdata worker``) does not import its pages.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from sqlalchemy.orm import Session

from govdata.core.actor import Actor


@dataclass(frozen=True)
class NavEntry:
    """A navigation entry: shown to an actor for whom ``visible`` (a policy rule) is true."""

    label: str
    href: str
    visible: Callable[[Actor], bool]
    # Pages reached from this entry that live under other paths (the entry stays current there).
    also_under: tuple[str, ...] = ()
    # Where it stands in the bar: lower first; domains interleave by it.
    order: int = 500


@dataclass(frozen=True)
class Stat:
    """One figure on the home page, linking to the list it counts."""

    key: str
    label: str
    value: int | str
    href: str | None = None


@dataclass(frozen=True)
class Section:
    """A card of figures on a role's home page."""

    title: str
    stats: list[Stat] = field(default_factory=list)
    note: str | None = None


HomeSections = Callable[[Session, Actor], list[Section]]


@dataclass(frozen=True)
class PeriodicJob:
    """A registered job (``govdata.core.jobs.job``) run on a schedule: by procrastinate's
    periodic tasks on PostgreSQL, by a loop in ``govdata serve`` on SQLite."""

    job: str
    cron: str  # five fields, minute hour day month weekday (croniter syntax), Beijing time


@dataclass(frozen=True)
class Domain:
    name: str
    # Modules whose import defines the domain's tables / registers its jobs.
    model_modules: tuple[str, ...] = ()
    job_modules: tuple[str, ...] = ()
    api_routers: Callable[[], list[APIRouter]] = lambda: []
    page_routers: Callable[[], list[APIRouter]] = lambda: []
    nav: tuple[NavEntry, ...] = ()
    # Returns the function that gives an actor's home-page sections of this domain.
    home_sections: Callable[[], HomeSections] | None = None
    periodic: tuple[PeriodicJob, ...] = ()
    # Tables in the database that its models do not declare (created at run time or kept by a
    # migration): Alembic's autogenerate leaves them alone.
    unmanaged_tables: Callable[[str], bool] | None = None
    # Its templates' directory (names inside it start with the domain: ``catalog/…``).
    templates: Path | None = None
    # Adds the domain's commands to the ``govdata`` command line (a ``typer.Typer``).
    cli: Callable[[Any], None] | None = None
    # Pure ASGI middlewares the domain puts innermost, inside the platform's own (rate limits,
    # body size, headers), ahead of routing: a hot path's dispatch (``sharing.hot_dispatch``).
    asgi_middleware: Callable[[], list[Any]] = lambda: []
    # Releases what the domain opened while the app served (a connection pool of its own), at
    # the app's shutdown; given the app.
    shutdown: Callable[[Any], Awaitable[None]] | None = None
    # Other ways to sign in offered on the shared sign-in page, given the settings:
    # (label, path); the page adds ``?next=`` (open data: the city's identity platform).
    sign_in_links: Callable[[Any], list[tuple[str, str]]] = lambda settings: []
