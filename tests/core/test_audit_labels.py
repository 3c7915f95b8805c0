"""Every audit action and object type the code emits has a zh-CN name (Art. 41, 42, 49: the
auditor reads names, not codes). The sources are scanned for ``audit.record(...)`` calls."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import govdata
from govdata.core.audit_labels import (
    ACTION_LABELS,
    OBJECT_LABELS,
    action_groups,
    action_label,
    actions_named,
)
from govdata.opendata.contributions import Decision
from govdata.opendata.data_requests import RequestStatus

SRC = Path(govdata.__file__).parent


def _constants(tree: ast.Module) -> dict[str, str]:
    """Module-level ``NAME = "text"`` assignments (``ACTION = "audit.access_sealed"``)."""
    out: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            for target in node.targets:
                if isinstance(target, ast.Name) and isinstance(node.value.value, str):
                    out[target.id] = node.value.value
    return out


def _strings(node: ast.expr, constants: dict[str, str]) -> list[str | re.Pattern[str]]:
    """The action codes an argument can take: a literal, either branch of ``a if c else b``,
    a module constant, or an f-string (as a pattern)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.IfExp):
        return _strings(node.body, constants) + _strings(node.orelse, constants)
    if isinstance(node, ast.Name) and node.id in constants:
        return [constants[node.id]]
    if isinstance(node, ast.JoinedStr):
        parts = [
            re.escape(v.value) if isinstance(v, ast.Constant) else "[a-z_]+" for v in node.values
        ]
        return [re.compile("".join(parts))]
    raise AssertionError(f"an audit action the test cannot read: {ast.unparse(node)}")


def _emitted() -> tuple[list[tuple[str, str | re.Pattern[str]]], set[str]]:
    actions: list[tuple[str, str | re.Pattern[str]]] = []
    objects: set[str] = set()
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text("utf-8"))
        constants = _constants(tree)
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "record"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "audit"
                and len(node.args) >= 3
            ):
                continue
            where = f"{path.relative_to(SRC)}:{node.lineno}"
            actions += [(where, s) for s in _strings(node.args[2], constants)]
            for kw in node.keywords:
                if kw.arg == "object_type":
                    objects.update(s for s in _strings(kw.value, constants) if isinstance(s, str))
    return actions, objects


def test_the_scan_finds_the_audited_code() -> None:
    actions, objects = _emitted()
    literal = {a for _, a in actions if isinstance(a, str)}
    # A scan that found nothing would pass every check below.
    assert {"auth.sign_in", "org.person.create", "catalog.list.submit"} <= literal
    assert "audit.access_sealed" in literal  # through a module constant
    assert "person" in objects and len(actions) > 100


def test_every_emitted_action_has_a_label() -> None:
    actions, _ = _emitted()
    missing = [
        f"{where}: {a}" for where, a in actions if isinstance(a, str) and a not in ACTION_LABELS
    ]
    assert not missing, missing
    for where, pattern in actions:
        if isinstance(pattern, re.Pattern):
            assert any(pattern.fullmatch(code) for code in ACTION_LABELS), (where, pattern)


def test_the_formatted_actions_are_labelled_for_every_value() -> None:
    for decision in Decision:
        assert f"opendata.feedback.{decision.value}" in ACTION_LABELS
        assert f"opendata.reuse.{decision.value}" in ACTION_LABELS
    for status in (RequestStatus.ANSWERED, RequestStatus.REJECTED):
        assert f"opendata.request.{status.value}" in ACTION_LABELS


def test_every_emitted_object_type_has_a_label() -> None:
    _, objects = _emitted()
    assert not sorted(objects - set(OBJECT_LABELS))


def test_labels_are_chinese_and_distinct() -> None:
    assert all(not label.isascii() for label in ACTION_LABELS.values())
    assert all(not label.isascii() for label in OBJECT_LABELS.values())
    assert len(set(ACTION_LABELS.values())) == len(ACTION_LABELS)


def test_names_find_actions() -> None:
    assert action_label("auth.sign_in") == "登录"
    assert action_label("legacy.unknown") == "legacy.unknown"  # shown, never hidden
    assert set(actions_named("登录")) >= {"auth.sign_in", "auth.sign_in_failed", "auth.sign_out"}
    assert "org.person.create" not in actions_named("登录")
    assert set(actions_named("数据共享")) >= {"sharing.grant_created", "sharing.objection_raised"}
    assert actions_named("  ") == []
    groups = {g.prefix: g for g in action_groups()}
    assert ("auth.sign_in", "登录") in groups["auth."].actions
    assert sum(len(g.actions) for g in groups.values()) == len(ACTION_LABELS)
