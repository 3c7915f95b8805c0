"""Forms, and the links to them, appear only to those who may submit them; after submitting,
the page leads back to the officer's own list, not to a review queue they may not open
(issue 16; Art. 7 ¶2, Art. 12)."""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from govdata.catalog import review, service
from tests.catalog.factories import person_resource
from tests.world import World

HTML = {"Accept": "text/html,application/xhtml+xml"}


def test_new_person_form_is_refused_to_an_officer(sign_in) -> None:  # type: ignore[no-untyped-def]
    officer = sign_in("officer")
    r = officer.get("/org/people/new", headers=HTML)
    assert r.status_code == 403
    assert "org.cannot_manage_people" in r.text and "您无权新建人员账户" in r.text
    assert 'href="/org/people/new' not in officer.get("/org/people", headers=HTML).text
    for user in ("head", "auditor"):
        assert sign_in(user).get("/org/people/new", headers=HTML).status_code == 403, user


def test_new_person_form_opens_for_those_who_may_create(sign_in, world: World) -> None:  # type: ignore[no-untyped-def]
    for user in ("city", "yz_admin"):
        c = sign_in(user)
        assert 'href="/org/people/new"' in c.get("/org/people", headers=HTML).text, user
        r = c.get("/org/people/new", headers=HTML)
        assert r.status_code == 200 and 'action="/org/people"' in r.text, user


def test_after_submitting_the_officer_is_led_back_to_the_own_list(
    sign_in, session: Session, world: World
) -> None:  # type: ignore[no-untyped-def]
    officer = world.actor(session, "officer")
    service.create_resource(session, officer, world.police, person_resource())
    submission = review.submit(session, officer, world.police)
    session.commit()
    page = sign_in("officer").get(f"/catalog/submissions/{submission.id}", headers=HTML).text
    links = re.search(r'data-testid="back-links">(.*?)</p>', page, re.S)
    assert links is not None
    assert f'href="/catalog/departments/{world.police}/list"' in links.group(1)
    assert "/catalog/review" not in page  # the queue answers an officer 403
    assert sign_in("officer").get("/catalog/review", headers=HTML).status_code == 403
    city = sign_in("city").get(f"/catalog/submissions/{submission.id}", headers=HTML).text
    back = re.search(r'data-testid="back-links">(.*?)</p>', city, re.S)
    assert back is not None and 'href="/catalog/review"' in back.group(1)


def test_the_list_submit_form_redirects_to_the_submission_with_the_back_link(
    sign_in, session: Session, world: World
) -> None:  # type: ignore[no-untyped-def]
    service.create_resource(
        session, world.actor(session, "officer"), world.police, person_resource()
    )
    session.commit()
    c = sign_in("officer")
    r = c.post(
        f"/catalog/departments/{world.police}/submit",
        data={"note": ""},
        headers=HTML,
        follow_redirects=True,
    )
    assert r.status_code == 200 and "/catalog/submissions/" in str(r.url)
    assert "返回市公安局目录清单" in r.text
