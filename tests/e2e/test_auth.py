"""Signing in and out, lockout, scoping of another department's pages, the keyboard path, and
the account page's devices and password change (Art. 39)."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import Page, expect
from sqlalchemy.orm import sessionmaker

from govdata.org.demo import BOOTSTRAP
from govdata.org.schemas import PersonCreate
from govdata.org.service import create_person
from tests.e2e.helpers import (
    LOCKOUT_NAME,
    LOCKOUT_PASSWORD,
    LOCKOUT_USERNAME,
    LiveServer,
    login,
    login_ok,
)

WRONG_CREDENTIALS = "用户名或密码错误"


def _submit_login(page: Page, username: str, password: str) -> int:
    """Submit the sign-in form; the HTTP status of the form's response."""
    page.get_by_label("用户名", exact=True).fill(username)
    page.get_by_label("密码", exact=True).fill(password)
    with page.expect_response(lambda r: r.request.method == "POST") as info:
        page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()
    return info.value.status


def test_officer_is_refused_another_departments_pages(page: Page, live_server: LiveServer) -> None:
    market = live_server.departments["市市场监督管理局"]
    police = live_server.departments["市公安局"]

    login_ok(page, "demo.officer")
    # Own department: reachable through 本部门.
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="本部门").click()
    expect(page).to_have_url(re.compile(rf"/org/departments/{police}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("市公安局")

    # Another department: not found, never a leak of its name.
    response = page.goto(f"/org/departments/{market}")
    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("未找到")
    expect(page.locator("main")).not_to_contain_text("市市场监督管理局")

    # The audit log is for oversight only.
    response = page.goto("/audit")
    assert response is not None
    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("无权访问")
    expect(page.locator("table")).to_have_count(0)


def test_the_same_department_page_is_open_to_its_own_officer(
    page: Page, live_server: LiveServer
) -> None:
    # The control for the test above: the URL is right, only the actor differs.
    market = live_server.departments["市市场监督管理局"]
    login_ok(page, "demo.officer2")
    response = page.goto(f"/org/departments/{market}")
    assert response is not None
    assert response.status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text("市市场监督管理局")


def test_sign_out_ends_the_session(page: Page) -> None:
    login_ok(page, "demo.head")
    expect(page.get_by_test_id("who")).to_contain_text("赵局长")
    old_cookies = page.context.cookies()
    assert any(c["name"] == "govdata_session" for c in old_cookies)

    page.get_by_role("button", name="退出登录").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("登录")
    expect(page.get_by_role("button", name="退出登录")).to_have_count(0)

    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))
    expect(page.get_by_label("用户名", exact=True)).to_be_visible()

    # The session ended on the server too: replaying the old cookie does not sign back in.
    page.context.add_cookies([c for c in old_cookies if c["name"] == "govdata_session"])  # type: ignore[misc]
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))


def test_lockout_after_five_failures_and_unlock_by_the_city_admin(
    page: Page, new_page, live_server: LiveServer
) -> None:
    page.goto("/login")
    for attempt in range(1, 6):
        status = _submit_login(page, LOCKOUT_USERNAME, f"wrong-{attempt}")
        assert status == 401, f"attempt {attempt}"
        expect(page.get_by_test_id("login-error")).to_contain_text(WRONG_CREDENTIALS)

    # Locked now, yet the answer is the one any wrong password gets (it must not tell an
    # attacker that the account exists), with the hint that accounts lock; even the right
    # password is refused.
    status = _submit_login(page, LOCKOUT_USERNAME, LOCKOUT_PASSWORD)
    assert status == 401
    expect(page.get_by_test_id("login-error")).to_contain_text(WRONG_CREDENTIALS)
    expect(page.get_by_test_id("login-error")).to_contain_text("临时锁定")
    expect(page.get_by_role("button", name="退出登录")).to_have_count(0)

    # The city admin unlocks the account from the person's page.
    admin = new_page()
    login_ok(admin, "demo.city")
    admin.goto(f"/org/people/{live_server.lockout_person_id}")
    expect(admin.get_by_role("heading", level=1)).to_contain_text(LOCKOUT_NAME)
    expect(admin.get_by_test_id("locked-until")).not_to_have_text("—")
    admin.get_by_role("button", name="解除登录锁定").click()
    expect(admin.get_by_role("status")).to_have_text("已解除锁定。")
    expect(admin.get_by_test_id("locked-until")).to_have_text("—")

    login_ok(page, LOCKOUT_USERNAME, LOCKOUT_PASSWORD)
    expect(page.get_by_test_id("who")).to_contain_text(LOCKOUT_NAME)
    # The owner is told of the failed attempts at this sign-in, on the account page.
    expect(page).to_have_url(re.compile(r"/account\?notice=failures"))
    expect(page.get_by_role("status")).to_contain_text("有人使用您的用户名登录失败")
    expect(page.get_by_test_id("failures").locator("tbody tr")).to_have_count(6)


def test_keyboard_only_sign_in(page: Page) -> None:
    page.goto("/login")
    username = page.get_by_label("用户名", exact=True)
    password = page.get_by_label("密码", exact=True)
    submit = page.get_by_role("button", name="登录")

    # From the header's last link, Tab walks the form in order.
    page.get_by_role("link", name="重庆市政务数据资源管理平台").focus()
    page.keyboard.press("Tab")
    expect(username).to_be_focused()
    page.keyboard.type("demo.officer")
    page.keyboard.press("Tab")
    expect(password).to_be_focused()
    page.keyboard.type("Demo2026pass")
    page.keyboard.press("Tab")
    expect(submit).to_be_focused()

    # Back to the password field; Enter submits the form.
    page.keyboard.press("Shift+Tab")
    expect(password).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_test_id("who")).to_contain_text("王专员")


def test_wrong_password_keeps_the_username_and_says_why(page: Page) -> None:
    login(page, "no.such.user", "not-the-password")
    expect(page.get_by_test_id("login-error")).to_contain_text(WRONG_CREDENTIALS)
    expect(page.get_by_label("用户名", exact=True)).to_have_value("no.such.user")
    expect(page.get_by_label("密码", exact=True)).to_have_value("")


def test_account_page_lists_devices_ends_them_and_changes_the_password(
    page: Page, new_page: Callable[[], Page], live_server: LiveServer
) -> None:
    username, first, second = "e2e.devices", "Chaotianmen at dawn 1891", "Ciqikou teahouse 2026"
    factory = sessionmaker(bind=live_server.engine, expire_on_commit=False)
    with factory() as session, session.begin():
        create_person(
            session,
            BOOTSTRAP,
            PersonCreate(
                username=username,
                name="设备测试员",
                password=first,
                department_id=live_server.departments["市公安局"],
            ),
        )
    laptop = new_page()  # the same person at another computer
    login_ok(laptop, username, first)
    login_ok(page, username, first)

    page.goto("/account")
    sessions = page.get_by_test_id("sessions").get_by_test_id("session")
    expect(sessions).to_have_count(2)
    expect(page.get_by_test_id("current-session")).to_have_count(1)
    expect(page.locator('[data-testid="session"][aria-current="true"]')).to_contain_text("当前设备")

    form = page.locator('form[action="/account/password"]')
    # A wrong current password is refused on the page (and counts towards the lockout).
    form.get_by_label("当前密码").fill("not my password")
    form.get_by_label("新密码").fill(second)
    form.get_by_role("button", name="修改密码").click()
    expect(page.get_by_test_id("password-error")).to_have_text("当前密码不正确。")
    # A common password is refused with the reason, whatever its length.
    form.get_by_label("当前密码").fill(first)
    form.get_by_label("新密码").fill("password12345")
    form.get_by_role("button", name="修改密码").click()
    expect(page.get_by_test_id("password-error")).to_contain_text("过于常见")
    # The right current password and a good new one: this device stays, the other one ends.
    form.get_by_label("当前密码").fill(first)
    form.get_by_label("新密码").fill(second)
    form.get_by_role("button", name="修改密码").click()
    expect(page.get_by_role("status")).to_have_text("密码已修改，您在其他设备上的登录已全部退出。")
    expect(sessions).to_have_count(1)
    laptop.goto("/account")
    expect(laptop).to_have_url(re.compile(r"/login\?next=/account$"))

    # The laptop signs in again with the new password; this device ends that session...
    login_ok(laptop, username, second)
    page.reload()
    expect(sessions).to_have_count(2)
    page.locator('[data-testid="session"]:not([aria-current])').get_by_role(
        "button", name=re.compile("^退出该设备")
    ).click()
    expect(page.get_by_role("status")).to_have_text("已退出该设备上的登录。")
    expect(sessions).to_have_count(1)
    laptop.reload()
    expect(laptop).to_have_url(re.compile(r"/login"))
    # ...and then ends its own, which signs it out.
    page.get_by_test_id("current-session").locator("xpath=ancestor::tr").get_by_role(
        "button", name=re.compile("^退出该设备")
    ).click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("button", name="退出登录")).to_have_count(0)
