"""Open data's domain errors (Ch. 5): a stable code, a zh-CN message, raised fresh each time."""

from __future__ import annotations

from govdata.core.errors import Conflict, InvalidInput, NotAuthenticated, NotFound, PermissionDenied


class DatasetNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("opendata.dataset_not_found", "开放目录中没有该数据集。")


class ReleaseNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("opendata.release_not_found", "未找到该数据发布版本。")


class NoRelease(NotFound):
    """Art. 31 ¶2: data is opened only as a published (desensitized, scanned) release."""

    def __init__(self) -> None:
        super().__init__(
            "opendata.no_release", "该数据集尚未发布经脱敏处理的开放数据，暂无可下载的数据。"
        )


class IdentityRequired(NotAuthenticated):
    """Art. 33 ¶3: open data is obtained after identity authentication."""

    def __init__(self) -> None:
        super().__init__(
            "opendata.identity_required",
            "获取开放数据前须完成身份认证（第三十三条第三款）：请实名注册或通过统一身份认证平台登录。",
        )


class ConditionalNotGranted(PermissionDenied):
    """Art. 33 ¶2: conditionally open data only to an approved applicant, for the period."""

    def __init__(self) -> None:
        super().__init__(
            "opendata.application_required",
            "该数据集为有条件开放，须提交开放申请并经数据提供部门同意后，在同意的期限内获取。",
        )


class NotProvider(PermissionDenied):
    def __init__(self) -> None:
        super().__init__(
            "opendata.not_provider", "只有数据提供部门或数据主管部门可以管理该数据集的开放。"
        )


class NotOpen(InvalidInput):
    def __init__(self) -> None:
        super().__init__("opendata.not_open", "该资源在开放目录中属于不予开放类，不能开放。")


class ReleaseState(Conflict):
    def __init__(self, message: str) -> None:
        super().__init__("opendata.release_state", message)


class PeopleOnly(PermissionDenied):
    """A department system's API token is not a user of the portal (``policy``): open data
    is obtained by people, or by their developer keys."""

    def __init__(self) -> None:
        super().__init__(
            "opendata.people_only",
            "开放数据由公众账户获取：部门系统的接口令牌不能获取开放数据，请使用开发者密钥。",
        )
