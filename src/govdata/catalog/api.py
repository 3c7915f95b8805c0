"""JSON API of the catalog under ``/api/v1/catalog`` (thin: HTTP to service and back)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request, Response

from govdata.catalog import (
    demands,
    publishing,
    review,
    service,
    submissions,
    updates,
    versions,
    vocabularies,
)
from govdata.catalog.models import (
    CatalogPublication,
    DemandStatus,
    ResourceState,
    ReviewEntry,
    SubmissionStatus,
)
from govdata.catalog.schemas import (
    ChangedResourceOut,
    ChangeIn,
    ChangeOut,
    CompilationOut,
    Decision,
    DemandIn,
    DemandOut,
    DiffOut,
    EntryOut,
    FieldChangeOut,
    MatchIn,
    OverdueOut,
    PublicationOut,
    PublishedPage,
    PublishedResourceOut,
    PublishIn,
    ResourceIn,
    ResourceOut,
    ResourceSummaryOut,
    ResponsibilityOut,
    SearchOut,
    SubmissionIn,
    SubmissionOut,
    VersionOut,
    VocabularyOut,
)
from govdata.catalog.vocab import Category, OpenType, ShareType, UpdateCycle
from govdata.core.pagination import PageOut, page_out
from govdata.core.schemas import ERROR_RESPONSES
from govdata.core.types import DbId, Offset
from govdata.org import policy as org_policy
from govdata.web.deps import ApiActor, CurrentActor, DbSession, OptionalActor, unit_of_work

router = APIRouter(prefix="/api/v1/catalog", tags=["catalog"], responses=ERROR_RESPONSES)

Limit = Annotated[int, Query(ge=1, le=200)]
SearchText = Annotated[str | None, Query(max_length=100)]
VersionNumber = Annotated[int | None, Query(ge=1, le=2**31 - 1)]


async def _filter(
    department_id: DbId | None = None,
    region_id: DbId | None = None,
    category: Category | None = None,
    share_type: ShareType | None = None,
    open_type: OpenType | None = None,
    update_cycle: UpdateCycle | None = None,
    # A code of the city bureau's 资源格式 list (any it has had: published revisions keep theirs).
    format: Annotated[str | None, Query(max_length=32, pattern=r"^[a-z0-9_]+$")] = None,
) -> versions.CatalogFilter:
    """The published catalog's filters as query parameters (shared by listing and search)."""
    return versions.CatalogFilter(
        department_id=department_id,
        region_id=region_id,
        category=category.value if category else None,
        share_type=share_type.value if share_type else None,
        open_type=open_type.value if open_type else None,
        update_cycle=update_cycle.value if update_cycle else None,
        format=format or None,
    )


CatalogQuery = Annotated[versions.CatalogFilter, Depends(_filter)]


def _published_page(version: Any, page: Any) -> PublishedPage:
    return PublishedPage(
        version=version.number,
        items=[PublishedResourceOut.of(r) for r in page.items],
        total=page.total,
        offset=page.offset,
        limit=page.limit,
    )


# --- a department's list (Art. 12 ¶1) ---------------------------------------------------------


@router.get("/resources", response_model=PageOut[ResourceSummaryOut])
@unit_of_work
def list_resources(
    session: DbSession,
    actor: CurrentActor,
    department_id: DbId | None = None,
    state: ResourceState | None = None,
    q: SearchText = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> PageOut[ResourceSummaryOut]:
    org_policy.require_staff(actor)
    page = service.list_resources(
        session, actor, department_id=department_id, state=state, q=q, offset=offset, limit=limit
    )
    return page_out(page, ResourceSummaryOut)


@router.post("/departments/{department_id}/resources", response_model=ResourceOut, status_code=201)
@unit_of_work
def create_resource(
    session: DbSession, actor: ApiActor, department_id: DbId, body: ResourceIn
) -> ResourceOut:
    resource = service.create_resource(session, actor, department_id, body)
    return ResourceOut.model_validate(resource)


@router.get("/resources/{resource_id}", response_model=ResourceOut)
@unit_of_work
def get_resource(session: DbSession, actor: CurrentActor, resource_id: DbId) -> ResourceOut:
    return ResourceOut.model_validate(service.get_resource(session, actor, resource_id))


@router.put("/resources/{resource_id}", response_model=ResourceOut)
@unit_of_work
def update_resource(
    session: DbSession, actor: ApiActor, resource_id: DbId, body: ResourceIn
) -> ResourceOut:
    return ResourceOut.model_validate(service.update_resource(session, actor, resource_id, body))


@router.delete("/resources/{resource_id}", status_code=204)
@unit_of_work
def withdraw_resource(session: DbSession, actor: ApiActor, resource_id: DbId) -> Response:
    service.withdraw_resource(session, actor, resource_id)
    return Response(status_code=204)


# --- submissions and review (Art. 12, 14) ------------------------------------------------------


@router.post(
    "/departments/{department_id}/submissions", response_model=SubmissionOut, status_code=201
)
@unit_of_work
def submit(
    session: DbSession, actor: ApiActor, department_id: DbId, body: SubmissionIn
) -> SubmissionOut:
    submission = review.submit(
        session, actor, department_id, note=body.note, change_id=body.change_id
    )
    return SubmissionOut.model_validate(submission)


@router.get("/submissions", response_model=PageOut[SubmissionOut])
@unit_of_work
def list_submissions(
    session: DbSession,
    actor: CurrentActor,
    status: SubmissionStatus | None = None,
    department_id: DbId | None = None,
    region_id: DbId | None = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> PageOut[SubmissionOut]:
    page = submissions.list_submissions(
        session,
        actor,
        status=status,
        department_id=department_id,
        region_id=region_id,
        offset=offset,
        limit=limit,
    )
    return page_out(page, SubmissionOut)


@router.get("/submissions/{submission_id}/entries", response_model=list[EntryOut])
@unit_of_work
def submission_entries(
    session: DbSession, actor: CurrentActor, submission_id: DbId
) -> list[EntryOut]:
    submission = submissions.get_submission(session, actor, submission_id)
    return [EntryOut.model_validate(e) for e in submission.entries]


@router.post("/regions/{region_id}/compilations", response_model=CompilationOut, status_code=201)
@unit_of_work
def compile_district(session: DbSession, actor: ApiActor, region_id: DbId) -> CompilationOut:
    return CompilationOut.model_validate(review.compile_district(session, actor, region_id))


@router.post("/entries/{entry_id}/decision", response_model=EntryOut)
@unit_of_work
def decide(session: DbSession, actor: ApiActor, entry_id: DbId, body: Decision) -> EntryOut:
    entry: ReviewEntry = review.decide(
        session, actor, entry_id, approve=body.approve, reason=body.reason
    )
    return EntryOut.model_validate(entry)


@router.post(
    "/versions",
    response_model=VersionOut,
    status_code=201,
    deprecated=True,
    description="在本次请求内发布新版目录（大版本可能需时数十秒）。请改用 POST /publications。",
)
@unit_of_work
def publish(session: DbSession, actor: ApiActor, body: PublishIn) -> VersionOut:
    return VersionOut.model_validate(review.publish(session, actor, note=body.note))


def _publication_out(publication: CatalogPublication) -> PublicationOut:
    stage, done, total = publishing.progress(publication)
    return PublicationOut(
        id=publication.id,
        status=publication.status,
        stage=stage,
        stage_label=publishing.STAGES.get(stage, stage),
        done=done,
        total=total,
        note=publication.note,
        requested_at=publication.requested_at,
        started_at=publication.started_at,
        finished_at=publication.finished_at,
        version_number=publication.version_number,
        error=publication.error,
    )


@router.post("/publications", response_model=PublicationOut, status_code=202)
@unit_of_work
def request_publication(
    session: DbSession,
    actor: ApiActor,
    body: PublishIn,
    request: Request,
    response: Response,
    background: BackgroundTasks,
) -> PublicationOut:
    """Publish the next version as a background job (Art. 12 ¶3): 202 with the publication
    to follow (``Location``); 409 ``catalog.publication_running`` while another runs."""
    publication = publishing.request(session, actor, note=body.note)
    state = request.app.state
    # Runs after the response, when the unit of work has committed the publication.
    background.add_task(
        publishing.start, state.sessionmaker, state.engine, state.settings.jobs, publication.id
    )
    response.headers["Location"] = f"/api/v1/catalog/publications/{publication.id}"
    return _publication_out(publication)


@router.get("/publications/{publication_id}", response_model=PublicationOut)
@unit_of_work
def get_publication(session: DbSession, actor: ApiActor, publication_id: DbId) -> PublicationOut:
    """A publication's status, stage and progress (the city bureau and auditors)."""
    return _publication_out(publishing.get(session, actor, publication_id))


# --- the published catalog (Art. 12 ¶3, 13, 26, 32) --------------------------------------------


@router.get("/versions", response_model=list[VersionOut])
@unit_of_work
def list_versions(session: DbSession, actor: CurrentActor) -> list[VersionOut]:
    return [VersionOut.model_validate(v) for v in versions.list_versions(session, actor)]


@router.get("/versions/{number}/diff", response_model=DiffOut)
@unit_of_work
def version_diff(  # ``against``: any other version (default the previous); the older is the base
    session: DbSession,
    actor: CurrentActor,
    number: DbId,
    against: VersionNumber = None,
) -> DiffOut:
    d = (
        versions.diff(session, actor, number)
        if against is None
        else versions.compare(session, actor, number, against)
    )
    return DiffOut(
        old_version=d.old.number if d.old else None,
        new_version=d.new.number,
        added=[PublishedResourceOut.of(r) for r in d.added],
        removed=[PublishedResourceOut.of(r) for r in d.removed],
        changed=[
            ChangedResourceOut(
                code=c.code,
                name=c.name,
                changes=[FieldChangeOut(field=f.field, old=f.old, new=f.new) for f in c.changes],
            )
            for c in d.changed
        ],
    )


@router.get("/published", response_model=PublishedPage)
@unit_of_work
def published(
    session: DbSession,
    actor: CurrentActor,
    flt: CatalogQuery,
    version: VersionNumber = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> PublishedPage:
    v, page = versions.published(
        session, actor, number=version, flt=flt, offset=offset, limit=limit
    )
    return _published_page(v, page)


@router.get("/published/{code:path}", response_model=PublishedResourceOut)
@unit_of_work
def published_resource(
    session: DbSession, actor: CurrentActor, code: str, version: VersionNumber = None
) -> PublishedResourceOut:
    return PublishedResourceOut.of(versions.published_revision(session, actor, code[:32], version))


@router.get("/share-catalog", response_model=PublishedPage)
@unit_of_work
def share_catalog(
    session: DbSession,
    actor: CurrentActor,
    department_id: DbId | None = None,
    share_type: ShareType | None = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> PublishedPage:
    """The share catalog (Art. 26)."""
    flt = versions.CatalogFilter(
        department_id=department_id, share_type=share_type.value if share_type else None
    )
    v, page = versions.share_catalog(session, actor, flt=flt, offset=offset, limit=limit)
    return _published_page(v, page)


@router.get("/open-catalog", response_model=PublishedPage)
@unit_of_work
def open_catalog(
    session: DbSession,
    actor: OptionalActor,
    department_id: DbId | None = None,
    open_type: OpenType | None = None,
    offset: Offset = 0,
    limit: Limit = 50,
) -> PublishedPage:
    """The open catalog (Art. 32): public, no sign-in needed."""
    flt = versions.CatalogFilter(
        department_id=department_id, open_type=open_type.value if open_type else None
    )
    v, page = versions.open_catalog(session, flt=flt, offset=offset, limit=limit)
    return _published_page(v, page)


@router.get("/responsibility/{department_id}", response_model=ResponsibilityOut)
@unit_of_work
def responsibility(
    session: DbSession, actor: CurrentActor, department_id: DbId, version: VersionNumber = None
) -> ResponsibilityOut:
    """A department's responsibility list (Art. 13)."""
    rl = versions.responsibility_list(session, actor, department_id, version)
    return ResponsibilityOut.model_validate(rl, from_attributes=True)


@router.get("/search", response_model=SearchOut)
@unit_of_work
def search(
    session: DbSession,
    actor: CurrentActor,
    q: Annotated[str, Query(max_length=100)],
    flt: CatalogQuery,
    offset: Offset = 0,
    limit: Limit = 20,
) -> SearchOut:
    from govdata.catalog import search as catalog_search

    result = catalog_search.search(session, actor, q, flt, offset=offset, limit=limit)
    return SearchOut(
        version=result.version.number,
        items=[PublishedResourceOut.of(r) for r in result.hits],
        total=result.total,
        offset=offset,
        limit=limit,
        facets=result.facets,
    )


# --- the code lists the city bureau keeps (issue 16; Art. 12 ¶3) ----------------------------------


@router.get("/vocabularies", response_model=list[VocabularyOut])
@unit_of_work
def list_vocabularies(session: DbSession, actor: CurrentActor) -> list[VocabularyOut]:
    """Every code list (安全级别, 资源格式, 更新周期) as its current version says: each entry's
    code, label, whether in use, and for a retired code the code it maps to."""
    return [VocabularyOut.of(v) for v in vocabularies.readable(session, actor)]


@router.get("/vocabularies/{name}", response_model=VocabularyOut)
@unit_of_work
def get_vocabulary(
    session: DbSession, actor: CurrentActor, name: str, version: VersionNumber = None
) -> VocabularyOut:
    """One code list as its current version (or ``version``) says; 404 for an unknown list or
    version."""
    return VocabularyOut.of(vocabularies.readable_list(session, actor, name[:40], version))


# --- demands (Art. 12 ¶2) -------------------------------------------------------------------------


@router.get("/demands", response_model=PageOut[DemandOut])
@unit_of_work
def list_demands(
    session: DbSession,
    actor: CurrentActor,
    department_id: DbId | None = None,
    status: DemandStatus | None = None,
    unmet: bool = False,
    offset: Offset = 0,
    limit: Limit = 50,
) -> PageOut[DemandOut]:
    page = demands.list_demands(
        session,
        actor,
        department_id=department_id,
        status=status,
        unmet=unmet,
        offset=offset,
        limit=limit,
    )
    return page_out(page, DemandOut)


@router.post("/departments/{department_id}/demands", response_model=DemandOut, status_code=201)
@unit_of_work
def create_demand(
    session: DbSession, actor: ApiActor, department_id: DbId, body: DemandIn
) -> DemandOut:
    return DemandOut.model_validate(demands.create_demand(session, actor, department_id, body))


@router.put("/demands/{demand_id}", response_model=DemandOut)
@unit_of_work
def update_demand(
    session: DbSession, actor: ApiActor, demand_id: DbId, body: DemandIn
) -> DemandOut:
    return DemandOut.model_validate(demands.update_demand(session, actor, demand_id, body))


@router.delete("/demands/{demand_id}", status_code=204)
@unit_of_work
def delete_demand(session: DbSession, actor: ApiActor, demand_id: DbId) -> Response:
    demands.delete_demand(session, actor, demand_id)
    return Response(status_code=204)


@router.get("/demands/{demand_id}/suggestions", response_model=list[PublishedResourceOut])
@unit_of_work
def demand_suggestions(
    session: DbSession, actor: CurrentActor, demand_id: DbId
) -> list[PublishedResourceOut]:
    return [
        PublishedResourceOut.of(r) for r in demands.suggest_resources(session, actor, demand_id)
    ]


@router.post("/demands/{demand_id}/match", response_model=DemandOut)
@unit_of_work
def match_demand(session: DbSession, actor: ApiActor, demand_id: DbId, body: MatchIn) -> DemandOut:
    return DemandOut.model_validate(
        demands.match_demand(session, actor, demand_id, body.resource_code)
    )


# --- updates within deadlines (Art. 14) ---------------------------------------------------------


@router.post("/departments/{department_id}/changes", response_model=ChangeOut, status_code=201)
@unit_of_work
def record_change(
    session: DbSession, actor: ApiActor, department_id: DbId, body: ChangeIn
) -> ChangeOut:
    return ChangeOut.model_validate(updates.record_change(session, actor, department_id, body))


@router.get("/changes", response_model=PageOut[ChangeOut])
@unit_of_work
def list_changes(
    session: DbSession,
    actor: CurrentActor,
    department_id: DbId | None = None,
    overdue_only: bool = False,
    offset: Offset = 0,
    limit: Limit = 50,
) -> PageOut[ChangeOut]:
    page = updates.list_changes(
        session,
        actor,
        department_id=department_id,
        overdue_only=overdue_only,
        offset=offset,
        limit=limit,
    )
    return page_out(page, ChangeOut)


@router.get("/overdue", response_model=OverdueOut)
@unit_of_work
def overdue(session: DbSession, actor: CurrentActor) -> OverdueOut:
    report = updates.overdue(session, actor)
    return OverdueOut(
        today=report.today,
        changes=[ChangeOut.model_validate(c) for c in report.changes],
        reviews=[SubmissionOut.model_validate(s) for s in report.reviews],
    )
