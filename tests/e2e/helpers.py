"""Shared by the browser tests: the live server's facts and the sign-in helpers."""

from __future__ import annotations

from dataclasses import dataclass

from playwright.sync_api import Page, expect
from sqlalchemy import Engine

from govdata.org.demo import DEMO_PASSWORD

# A dedicated account for the lockout test, so that no demo account is ever locked.
LOCKOUT_USERNAME = "e2e.lockout"
LOCKOUT_NAME = "锁定测试员"
LOCKOUT_PASSWORD = "Lockout2026x"
LOCKED_USERNAME = "e2e.locked"  # locked from the start, for the home page stat


@dataclass(frozen=True)
class LiveServer:
    url: str
    engine: Engine
    departments: dict[str, int]  # department name -> id
    lockout_person_id: int
    lockout_department: str  # the department name of the lockout account


def login(page: Page, username: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in through the form, as a person would; waits for the page that follows."""
    if not page.url.split("?")[0].endswith("/login"):
        page.goto("/login")
    page.get_by_label("用户名", exact=True).fill(username)
    page.get_by_label("密码", exact=True).fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="登录").click()


def login_ok(page: Page, username: str, password: str = DEMO_PASSWORD) -> None:
    login(page, username, password)
    expect(page.get_by_test_id("login-error")).to_have_count(0)
    expect(page.get_by_role("button", name="退出登录")).to_be_visible()
