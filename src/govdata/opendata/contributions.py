"""What the public contributes to the open-data portal (Art. 36, 37): feedback on datasets,
requests for data not yet open, and reuses of open data. The rules they share: who may
contribute, how their text and links are checked, and the bureau's moderation decision.

- Contributing needs a signed-in person whose identity is checked (``policy.require_identity``,
  Art. 33 ¶3's identity authentication applied to contributions): a product decision, so that
  what is published under the portal's name comes from an accountable person. A department
  system's token is not a user of the portal.
- Text is stripped, bounded and free of control characters (PostgreSQL text cannot hold NUL;
  a control character in a page is never what a person meant). Links are absolute http(s) URLs
  with a host and no credentials: anything else (``javascript:``, ``data:``, a relative path)
  is refused, so a published link can never run script in the portal's origin.
"""

from __future__ import annotations

from enum import StrEnum
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from govdata.core.actor import Actor
from govdata.core.errors import Conflict, InvalidInput, PermissionDenied
from govdata.core.text import has_control
from govdata.opendata import policy

TITLE_MAX = 200
TEXT_MAX = 2000
NOTE_MAX = 500
URL_MAX = 500
# Pending submissions one person may have of a kind (a product decision against flooding the
# bureau's queue): more wait until the bureau has answered some.
MAX_PENDING = 10


class Decision(StrEnum):
    """The city bureau's moderation decision on feedback and reuses (Art. 36, 37)."""

    PUBLISH = "publish"
    REJECT = "reject"


def require_contributor(session: Session, actor: Actor | None) -> Actor:
    """A signed-in person with a checked identity (product decision, see the module)."""
    return policy.require_identity(session, actor)


def limit_pending(pending: int) -> None:
    """Refuse a submission past ``MAX_PENDING`` of its kind waiting for the bureau."""
    if pending >= MAX_PENDING:
        raise Conflict(
            "opendata.too_many_pending",
            f"您已有{MAX_PENDING}项提交等待审核或答复，请待数据主管部门处理后再提交。",
        )


def require_moderator(actor: Actor) -> None:
    """Art. 36, 37: the city bureau reviews what the public contributes before it is shown."""
    if not policy.can_moderate(actor):
        raise PermissionDenied("opendata.not_moderator", "只有数据主管部门可以审核公众提交的内容。")


def clean_text(
    value: str | None, what: str, *, limit: int = TEXT_MAX, required: bool = True
) -> str:
    """``value`` stripped; refused (``opendata.invalid_text``) when missing, too long or holding
    a control character. ``what`` names the field in the zh-CN message."""
    text = (value or "").strip()
    if required and not text:
        raise InvalidInput("opendata.invalid_text", f"请填写{what}。")
    if len(text) > limit:
        raise InvalidInput("opendata.invalid_text", f"{what}过长（不超过{limit}字）。")
    if has_control(text, multiline=True):
        raise InvalidInput("opendata.invalid_text", f"{what}含有不允许的控制字符。")
    return text


def clean_url(value: str | None, *, required: bool = True) -> str:
    """An absolute http or https URL with a host and no user name or password."""
    url = (value or "").strip()
    if not url:
        if required:
            raise InvalidInput("opendata.invalid_url", "请填写链接地址。")
        return ""
    if len(url) > URL_MAX or has_control(url) or any(c.isspace() for c in url):
        raise InvalidInput("opendata.invalid_url", "链接地址无效。")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as exc:
        raise InvalidInput("opendata.invalid_url", "链接地址无效。") from exc
    if parts.scheme.lower() not in ("http", "https"):
        raise InvalidInput("opendata.invalid_url", "链接地址须以 http:// 或 https:// 开头。")
    if not host:
        raise InvalidInput("opendata.invalid_url", "链接地址缺少域名。")
    if parts.username is not None or parts.password is not None:
        raise InvalidInput("opendata.invalid_url", "链接地址不得含有用户名或密码。")
    return url


def decision_of(value: str) -> Decision:
    try:
        return Decision(value)
    except ValueError as exc:
        raise InvalidInput("opendata.invalid_decision", "审核结论应为“公开”或“不予公开”。") from exc
