"""Background jobs (DESIGN: procrastinate on PostgreSQL; run inline on SQLite).

A job is a registered function taking only JSON-able keyword arguments (ids), which opens its
own sessions. ``defer`` queues it in procrastinate's tables when the settings say
``jobs="procrastinate"``; otherwise the caller runs it in-process (the web layer hands it to a
background task after the response). Workers: ``govdata worker``, or the thread that
``govdata serve`` starts on PostgreSQL.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import Any

import procrastinate
import structlog
from croniter import croniter
from sqlalchemy import make_url
from sqlalchemy.orm import Session, sessionmaker

from govdata.core.db import make_engine, make_sessionmaker

log = structlog.get_logger(__name__)
QUEUE = "govdata"
Job = Callable[..., None]
_JOBS: dict[str, Job] = {}
# Modules whose jobs register themselves on import; the shell (govdata.app) names them from
# each domain's registration, so this module knows no domain.
_JOB_MODULES: list[str] = []
# (job name, cron) pairs run on a schedule (UTC).
_PERIODIC: dict[str, str] = {}
# Jobs that procrastinate retries when they raise (a job's own retry policy).
_RETRY: dict[str, procrastinate.RetryStrategy] = {}


def register_job_modules(*modules: str) -> None:
    for module in modules:
        if module not in _JOB_MODULES:
            _JOB_MODULES.append(module)


def register_periodic(name: str, cron: str) -> None:
    """Run job ``name`` (taking no arguments) on the schedule ``cron``."""
    _PERIODIC[name] = cron


def periodic_jobs() -> dict[str, str]:
    return dict(_PERIODIC)


def load_all_jobs() -> None:
    import importlib

    for module in _JOB_MODULES:
        importlib.import_module(module)


def conninfo(database_url: str) -> str:
    """The libpq connection string of a SQLAlchemy PostgreSQL URL."""
    url = make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


@cache
def _factory(database_url: str) -> sessionmaker[Session]:
    return make_sessionmaker(make_engine(database_url))


def job(
    name: str, *, retry: procrastinate.RetryStrategy | None = None
) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Register ``fn(factory, **kwargs)`` as the job ``name`` ("domain.verb").

    ``retry``: procrastinate runs the job again by this strategy when it raises (on
    PostgreSQL; a job run inline is the caller's to handle)."""

    def register(fn: Callable[..., None]) -> Callable[..., None]:
        _JOBS[name] = fn
        if retry is not None:
            _RETRY[name] = retry
        return fn

    return register


def run_inline(name: str, factory: sessionmaker[Session], **kwargs: Any) -> None:
    load_all_jobs()
    _JOBS[name](factory, **kwargs)


@cache
def procrastinate_app(database_url: str) -> procrastinate.App:
    load_all_jobs()
    app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(conninfo=conninfo(database_url))
    )
    for name in _JOBS:
        task = app.task(name=name, queue=QUEUE, pass_context=False, retry=_RETRY.get(name, False))(
            _runner(name, database_url)
        )
        if name in _PERIODIC:
            # One deferral per tick however many workers run (procrastinate's periodic lock).
            app.periodic(cron=_PERIODIC[name])(task)
    return app


def _runner(name: str, database_url: str) -> Callable[..., None]:
    def run(**kwargs: Any) -> None:
        kwargs.pop("timestamp", None)  # what procrastinate passes to a periodic task
        _JOBS[name](_factory(database_url), **kwargs)

    run.__name__ = name.replace(".", "_")
    return run


def uses_queue(jobs_mode: str, database_url: str) -> bool:
    """Whether jobs go to procrastinate's queue (PostgreSQL only) rather than run in-process."""
    return jobs_mode == "procrastinate" and not database_url.startswith("sqlite")


def defer(name: str, database_url: str, **kwargs: Any) -> int:
    """Queue job ``name`` in procrastinate; returns its job id."""
    app = procrastinate_app(database_url)
    with app.open():
        return app.configure_task(name, queue=QUEUE).defer(**kwargs)


def run_worker(database_url: str, *, wait: bool = True) -> None:
    """Run jobs until stopped (``wait``) or until the queue is empty."""
    app = procrastinate_app(database_url)
    if wait:
        app.run_worker(queues=[QUEUE], wait=True, install_signal_handlers=True)
        return
    # Draining runs in a thread of its own: the caller's thread may already have an event loop
    # running (asyncio.run refuses to start another in it).
    errors: list[BaseException] = []

    def drain() -> None:
        try:
            app.run_worker(queues=[QUEUE], wait=False, install_signal_handlers=False)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=drain, name="govdata-worker-drain")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


def start_worker_thread(database_url: str) -> threading.Thread:
    """A worker inside the web process (small installations; larger ones run `govdata worker`)."""
    thread = threading.Thread(
        target=lambda: procrastinate_app(database_url).run_worker(
            queues=[QUEUE], install_signal_handlers=False
        ),
        name="govdata-worker",
        daemon=True,
    )
    thread.start()
    return thread


def next_runs(now: datetime) -> dict[str, datetime]:
    """When each periodic job is next due after ``now`` (UTC)."""
    return {name: croniter(cron, now).get_next(datetime) for name, cron in _PERIODIC.items()}


def start_periodic_thread(
    factory: sessionmaker[Session], stop: threading.Event | None = None
) -> threading.Thread:
    """Periodic jobs where there is no procrastinate queue (SQLite): one thread in the web
    process runs each job in-process when its schedule falls due. A failing run is logged and
    the schedule goes on."""
    load_all_jobs()
    stopped = stop or threading.Event()

    def loop() -> None:
        due = next_runs(datetime.now(UTC))
        while not stopped.is_set():
            name, at = min(due.items(), key=lambda item: item[1], default=(None, None))
            if name is None or at is None:
                return
            if stopped.wait(max((at - datetime.now(UTC)).total_seconds(), 0)):
                return
            try:
                _JOBS[name](factory)
            except Exception:
                log.exception("jobs.periodic_failed", job=name)
            due[name] = croniter(_PERIODIC[name], datetime.now(UTC)).get_next(datetime)

    thread = threading.Thread(target=loop, name="govdata-periodic", daemon=True)
    thread.start()
    return thread


def run_periodic_once(factory: sessionmaker[Session]) -> None:
    """Run every periodic job once now, in-process (a worker catching up as it starts)."""
    load_all_jobs()
    for name in _PERIODIC:
        _JOBS[name](factory)
