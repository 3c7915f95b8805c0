"""The security domain's refusals: stable codes, zh-CN messages."""

from __future__ import annotations

from govdata.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied


def forbidden() -> PermissionDenied:
    return PermissionDenied(
        "security.forbidden", "安全监测仅对市数据主管部门管理员和审计监督人员开放。"
    )


def manage_forbidden() -> PermissionDenied:
    return PermissionDenied(
        "security.manage_forbidden", "只有市数据主管部门管理员可以处理安全预警和设置监测阈值。"
    )


def signal_not_found() -> NotFound:
    return NotFound("security.signal_not_found", "未找到该安全预警。")


def rule_not_found() -> NotFound:
    return NotFound("security.rule_not_found", "没有这一类安全监测规则。")


def already_acknowledged() -> Conflict:
    return Conflict("security.already_acknowledged", "该安全预警已被确认，无需重复处理。")


def note_required() -> InvalidInput:
    return InvalidInput("security.note_required", "确认安全预警时须填写处理说明。")


def hours_invalid() -> InvalidInput:
    return InvalidInput("security.hours_invalid", "工作时间的开始时刻须早于结束时刻（0—24 时）。")
