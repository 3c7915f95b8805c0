"""zh-CN names of the audit chain's actions and object types (Art. 41, 42, 49: oversight).

The chain stores stable codes (``auth.sign_in``, ``person``); auditors read and filter by names
(``登录``, ``人员``). Every action the code emits has a label here: a test scans the sources for
``audit.record(...)`` calls and fails on an action or object type without one
(tests/core/test_audit_labels.py). An unknown code (an event written by an older release) is
shown as it is, never hidden.
"""

from __future__ import annotations

from dataclasses import dataclass

# The first part of an action code: the area of the platform it belongs to.
DOMAIN_LABELS: dict[str, str] = {
    "auth": "登录与会话",
    "org": "组织机构与人员",
    "catalog": "政务数据资源目录",
    "aggregation": "数据汇聚",
    "sharing": "数据共享",
    "opendata": "数据开放",
    "obligation": "法定时限事项",
    "workdays": "工作日历",
    "security": "安全监测",
    "audit": "审计",
    "demo": "演示数据",
}

ACTION_LABELS: dict[str, str] = {
    # auth
    "auth.sign_in": "登录",
    "auth.sign_in_failed": "登录失败",
    "auth.sign_out": "退出登录",
    "auth.session_end": "会话结束",
    # org
    "org.department.create": "新建部门",
    "org.department.update": "修改部门",
    "org.person.create": "新建人员",
    "org.person.update": "修改人员",
    "org.person.password_change": "修改本人密码",
    "org.person.password_reset": "重置密码",
    "org.person.unlock": "解除账户锁定",
    "org.role.grant": "授予角色",
    "org.role.revoke": "撤销角色",
    "org.token.issue": "签发接口令牌",
    "org.token.revoke": "吊销接口令牌",
    # catalog
    "catalog.resource.create": "新建目录资源",
    "catalog.resource.update": "修改目录资源",
    "catalog.resource.withdraw": "撤回或删除目录资源",
    "catalog.list.import": "导入目录清单",
    "catalog.list.submit": "报送目录清单",
    "catalog.list.compile": "区县汇总报送",
    "catalog.entry.approve": "审核通过目录条目",
    "catalog.entry.return": "退回目录条目",
    "catalog.version.publish": "发布目录新版本",
    "catalog.version.publish_request": "申请发布目录新版本",
    "catalog.entry.district_return": "区县退回目录条目",
    "catalog.synonym.add": "添加检索同义词",
    "catalog.synonym.remove": "删除检索同义词",
    "catalog.vocabulary.publish": "发布代码表新版本",
    "catalog.vocabulary.apply_mapping": "按代码表对应关系更新资源",
    "catalog.change.record": "登记目录变更",
    "catalog.demand.create": "登记共享需求",
    "catalog.demand.update": "修改共享需求",
    "catalog.demand.delete": "删除共享需求",
    "catalog.demand.match": "匹配共享需求",
    # aggregation
    "aggregation.load_created": "提交数据加载",
    "aggregation.pool_row.reveal": "查看资源池记录明文（说明理由）",
    "aggregation.pool_value.correct": "直接更正本部门数据",
    "aggregation.load_succeeded": "数据加载成功",
    "aggregation.load_rejected": "数据加载被拒绝",
    "aggregation.load_failed": "数据加载失败",
    "aggregation.load_swept": "清理中断的加载",
    "aggregation.spec_set": "设置汇聚规范",
    "aggregation.quality.measure": "数据质量测评",
    "aggregation.correction.extend": "延长更正期限",
    "aggregation.correction.accept": "受理数据更正",
    "aggregation.correction.reject": "不予更正",
    "aggregation.correction.apply": "执行数据更正",
    "aggregation.base.define": "定义基础库",
    "aggregation.base.lead": "指定基础库牵头部门",
    "aggregation.base.item.add": "新增基础库信息项",
    "aggregation.base.item.source": "设置基础库信息项来源",
    "aggregation.base.item.remove": "移除基础库信息项",
    "aggregation.base.build": "构建基础库",
    "aggregation.base.rebuild": "重建基础库",
    "aggregation.base.stale": "标记基础库待更新",
    "aggregation.base.record.read": "查看基础库记录",
    "aggregation.base.conflict.resolve": "处理基础库冲突",
    "aggregation.thematic.define": "登记主题库",
    "aggregation.thematic.refresh": "刷新主题库",
    # sharing
    "sharing.application.register": "登记共享申请",
    "sharing.application.submit": "提交共享申请",
    "sharing.application.approve": "同意共享申请",
    "sharing.application.refuse": "不同意共享申请",
    "sharing.application.withdraw": "撤回共享申请",
    "sharing.grant_created": "建立共享授权",
    "sharing.grant_systems": "设置授权的调用系统",
    "sharing.grant_revoked": "撤销共享授权",
    "sharing.signing_key.create": "生成共享签名密钥",
    "sharing.signing_key.rotate": "轮换共享签名密钥",
    "sharing.document_class.set": "认定共享资源类别",
    "sharing.objection_raised": "提出共享异议",
    "sharing.objection_note": "记录异议处理意见",
    "sharing.objection_taken_up": "受理共享异议",
    "sharing.objection_extended": "延长异议处理期限",
    "sharing.objection_settled": "办结共享异议",
    "sharing.objection_withdrawn": "撤回共享异议",
    # opendata
    "opendata.rules_set": "设置开放数据脱敏规则",
    "opendata.release_requested": "生成开放数据版本",
    "opendata.release_published": "发布开放数据版本",
    "opendata.application.submit": "提交开放数据申请",
    "opendata.application.approve": "同意开放数据申请",
    "opendata.application.refuse": "不同意开放数据申请",
    "opendata.application.withdraw": "撤回开放数据申请",
    "opendata.correction.submit": "提交开放数据纠错",
    "opendata.correction.agree": "采纳开放数据纠错",
    "opendata.correction.refuse": "不采纳开放数据纠错",
    "opendata.request.submit": "提交数据开放需求",
    "opendata.request.answered": "答复数据开放需求",
    "opendata.request.rejected": "不予采纳数据开放需求",
    "opendata.feedback.submit": "提交开放数据评价",
    "opendata.feedback.publish": "公开开放数据评价",
    "opendata.feedback.reject": "不公开开放数据评价",
    "opendata.feedback.reply": "答复开放数据评价",
    "opendata.reuse.submit": "提交数据应用成果",
    "opendata.reuse.publish": "公开数据应用成果",
    "opendata.reuse.reject": "不公开数据应用成果",
    "opendata.identity.register": "注册公众账户",
    "opendata.identity.complete": "完成实名核验",
    "opendata.identity.oidc_account": "经统一身份认证建立账户",
    "opendata.key.issue": "签发开发者密钥",
    "opendata.key.revoke": "吊销开发者密钥",
    # obligations and the calendar
    "obligation.open": "登记法定时限事项",
    "obligation.answer": "办结法定时限事项",
    "obligation.overdue_scan": "逾期事项检查",
    "obligation.extension.request": "申请延期",
    "obligation.extension.approve": "同意延期",
    "obligation.extension.refuse": "不同意延期",
    "workdays.day.set": "设置节假日或调休",
    "workdays.day.remove": "删除节假日设置",
    "workdays.year.import": "导入年度节假日安排",
    "workdays.year.publish": "公布年度节假日安排",
    # security
    "security.rule.update": "修改安全监测规则",
    "security.signals_raised": "发出安全预警",
    "security.signal.acknowledge": "处置安全预警",
    # the audit itself
    "audit.access_sealed": "封存调用记录",
    "audit.export": "导出审计日志",
    # the demo data
    "demo.org.load": "载入演示组织机构",
    "demo.catalog.load": "载入演示目录",
    "demo.catalog.synonyms": "载入演示检索同义词",
    "demo.history.load": "载入演示城市的历史数据",
    "demo.aggregation.load": "载入演示汇聚数据",
    "demo.sharing.load": "载入演示共享数据",
}

OBJECT_LABELS: dict[str, str] = {
    "person": "人员",
    "department": "部门",
    "region": "区县",
    "api_token": "接口令牌",
    "resource": "目录资源",
    "submission": "目录报送",
    "district_compilation": "区县汇总",
    "review_entry": "审核条目",
    "catalog_version": "目录版本",
    "catalog_publication": "目录发布",
    "search_synonym": "检索同义词",
    "vocabulary": "代码表",
    "demo": "演示数据",
    "catalog_change": "目录变更",
    "catalog": "目录",
    "demand": "共享需求",
    "load": "数据加载",
    "pool": "数据池",
    "item_spec": "汇聚规范",
    "correction": "数据更正",
    "base_database": "基础库",
    "base_item": "基础库信息项",
    "base_record": "基础库记录",
    "base_conflict": "基础库冲突",
    "thematic_database": "主题库",
    "aggregation": "汇聚数据",
    "share_application": "共享申请",
    "grant": "共享授权",
    "sharing_signing_key": "共享签名密钥",
    "sharing_source": "共享资源",
    "objection": "共享异议",
    "sharing": "共享数据",
    "open_dataset": "开放数据集",
    "open_release": "开放数据版本",
    "open_application": "开放数据申请",
    "open_correction": "开放数据纠错",
    "open_data_request": "数据开放需求",
    "open_feedback": "开放数据评价",
    "open_reuse": "数据应用成果",
    "developer_key": "开发者密钥",
    "obligation": "法定时限事项",
    "obligation_scan": "逾期检查",
    "calendar_day": "日历日期",
    "calendar_year": "年度日历",
    "security_rule": "安全监测规则",
    "security_scan": "安全监测",
    "security_signal": "安全预警",
    "access_batch": "调用记录批次",
    "audit_export": "审计日志导出",
}


def action_label(action: str) -> str:
    """The action's zh-CN name; an unknown code as it is."""
    return ACTION_LABELS.get(action, action)


def object_label(object_type: str) -> str:
    return OBJECT_LABELS.get(object_type, object_type)


def domain_of(action: str) -> str:
    return action.split(".", 1)[0]


@dataclass(frozen=True)
class ActionGroup:
    """The actions of one area, for the filter's grouped choice list."""

    prefix: str  # "auth." — choosing the group filters by every action in it
    label: str
    actions: list[tuple[str, str]]  # (code, label)


def action_groups() -> list[ActionGroup]:
    groups: dict[str, list[tuple[str, str]]] = {d: [] for d in DOMAIN_LABELS}
    for code, label in ACTION_LABELS.items():
        groups.setdefault(domain_of(code), []).append((code, label))
    return [
        ActionGroup(f"{d}.", DOMAIN_LABELS.get(d, d), actions)
        for d, actions in groups.items()
        if actions
    ]


def actions_named(text: str) -> list[str]:
    """The codes whose name (or whose area's name) contains ``text``: "登录" finds 登录,
    登录失败 and 退出登录; "数据共享" every sharing action."""
    needle = text.strip()
    if not needle:
        return []
    return [
        code
        for code, label in ACTION_LABELS.items()
        if needle in label or needle in DOMAIN_LABELS.get(domain_of(code), "")
    ]
