"""A throwaway domain that exists only in the tests: registered with the shell, it must appear in
the app, its navigation, its home page and its jobs without any other file naming it."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session, sessionmaker

from govdata.core.actor import Actor, Role
from govdata.core.jobs import job
from govdata.web.deps import CurrentActor, DbSession, unit_of_work
from govdata.web.domain import Domain, HomeSections, NavEntry, PeriodicJob, Section, Stat
from govdata.web.templating import render

RUNS: list[str] = []

api = APIRouter(prefix="/api/v1/probe")
pages = APIRouter(prefix="/probe", include_in_schema=False)


@api.get("/ping")
@unit_of_work
def ping(session: DbSession, actor: CurrentActor) -> dict[str, str]:
    return {"pong": actor.name}


@pages.get("")
def probe_page(request: Request, actor: CurrentActor) -> Response:
    return render(request, "probe/page.html")


def can_probe(actor: Actor) -> bool:
    """The probe's own rule: only the city bureau."""
    return actor.has(Role.CITY_BUREAU_ADMIN)


def _sections(session: Session, actor: Actor) -> list[Section]:
    return [Section("探针概况", [Stat("probe", "探针次数", len(RUNS))])] if can_probe(actor) else []


def _home() -> HomeSections:
    return _sections


@job("probe.tick")
def tick(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        session.connection()  # a job opens its own session
    RUNS.append("tick")


PROBE = Domain(
    name="probe",
    templates=Path(__file__).resolve().parent / "templates",
    job_modules=(__name__,),
    api_routers=lambda: [api],
    page_routers=lambda: [pages],
    nav=(NavEntry("探针", "/probe", can_probe, order=150),),
    home_sections=_home,
    periodic=(PeriodicJob("probe.tick", "*/5 * * * *"),),
)
