"""Sharing's domain errors (Ch. 4): a stable code, a zh-CN message, raised fresh each time.

The data access API's refusals each have their own code (issue 13 §4), and none says more than
the code: a refusal never tells whether a subject exists, what an ungranted item holds, or
whose a grant is.
"""

from __future__ import annotations

from govdata.core.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied


class SourceNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("sharing.source_not_found", "共享目录中没有该政务数据资源。")


class NotShared(InvalidInput):
    """Art. 24: a "not shared" source or item cannot be applied for; object instead (Art. 27)."""

    def __init__(self, what: str = "该资源") -> None:
        super().__init__(
            "sharing.not_shared",
            f"{what}属于不予共享类，不能申请共享；如有异议，可向数据主管部门提出（第二十七条）。",
        )


class ApplicationNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("sharing.application_not_found", "未找到该共享申请。")


class GrantNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("sharing.grant_not_found", "未找到该授权。")


class ObjectionNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("sharing.objection_not_found", "未找到该异议。")


class AlreadyAnswered(Conflict):
    def __init__(self) -> None:
        super().__init__("sharing.already_answered", "该申请已答复或已撤回，不能再办理。")


class GrantAlreadyRevoked(Conflict):
    def __init__(self) -> None:
        super().__init__("sharing.grant_already_revoked", "该授权已被撤销。")


# --- the data access API's refusals (Art. 26 ¶2, 40, 50(4)(5)) -------------------------------


class AccessRefused(DomainError):
    """A refused data access call: recorded (outcome ``refused``, this code) and answered 403."""

    status = 403


class NoGrant(AccessRefused):
    def __init__(self) -> None:
        super().__init__("sharing.no_grant", "本系统没有使用该授权获取数据的权限。")


class GrantOfAnotherDepartment(AccessRefused):
    def __init__(self) -> None:
        super().__init__("sharing.grant_other_department", "该授权不属于本部门，不能使用。")


class SystemNotNamed(AccessRefused):
    def __init__(self) -> None:
        super().__init__(
            "sharing.system_not_named", "该授权未列明本系统，只有授权列明的系统可以使用。"
        )


class GrantExpired(AccessRefused):
    def __init__(self) -> None:
        super().__init__("sharing.grant_expired", "该授权已过期，请重新申请。")


class GrantNotYetValid(AccessRefused):
    def __init__(self) -> None:
        super().__init__("sharing.grant_not_yet_valid", "该授权尚未生效。")


class GrantRevoked(AccessRefused):
    def __init__(self) -> None:
        super().__init__("sharing.grant_revoked", "该授权已被撤销。")


class ItemNotGranted(AccessRefused):
    def __init__(self) -> None:
        super().__init__("sharing.item_not_granted", "所请求的信息项不在授权范围内。")


class PurposeMismatch(AccessRefused):
    def __init__(self) -> None:
        super().__init__(
            "sharing.purpose_mismatch", "调用所声明的用途与授权用途不符（第五十条第（五）项）。"
        )


class OutsideRowConditions(AccessRefused):
    def __init__(self) -> None:
        super().__init__("sharing.outside_row_conditions", "所请求的数据超出授权的数据范围。")


class VerificationOnly(AccessRefused):
    def __init__(self) -> None:
        super().__init__("sharing.verification_only", "该授权仅可用于数据核验，不能获取数据。")


class SourceNotLoaded(NotFound):
    def __init__(self) -> None:
        super().__init__("sharing.source_not_loaded", "该资源尚未汇聚数据。")


class SubjectNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("sharing.subject_not_found", "未找到该主体的数据。")


class BadCursor(InvalidInput):
    def __init__(self) -> None:
        super().__init__("sharing.bad_cursor", "分页游标无效或已失效，请从第一页重新获取。")


class RecordUnavailable(DomainError):
    """Fail closed (Art. 40): the access record could not be written, so no data is returned."""

    status = 503

    def __init__(self) -> None:
        super().__init__(
            "sharing.record_unavailable", "调用记录暂时无法写入，本次调用未返回数据，请稍后重试。"
        )


class NotTheProvider(PermissionDenied):
    def __init__(self) -> None:
        super().__init__("sharing.not_provider", "只有数据提供部门可以办理此事项。")


# --- signed documents and signing keys (Art. 28) ---------------------------------------------


class SigningKeyNotFound(NotFound):
    def __init__(self) -> None:
        super().__init__("sharing.signing_key_not_found", "未找到该签名密钥。")


class NoSigningKey(DomainError):
    """The providing department has no current key: a document of Art. 28 is not delivered
    unsigned (it would not have the force of the original)."""

    status = 503

    def __init__(self) -> None:
        super().__init__(
            "sharing.no_signing_key",
            "数据提供部门尚未设置签名密钥，暂不能出具具有原件效力的签名文书（第二十八条）。",
        )


class SigningKeyExists(Conflict):
    def __init__(self) -> None:
        super().__init__(
            "sharing.signing_key_exists", "该部门已有在用的签名密钥；如需更换，请轮换密钥。"
        )


class SigningKeyUnavailable(DomainError):
    """The private key does not open under the platform's key-encryption key (the KEK was
    changed or lost, or the sealed key altered): refuse to sign rather than sign with another."""

    status = 503

    def __init__(self) -> None:
        super().__init__(
            "sharing.signing_key_unavailable",
            "签名私钥无法用平台的密钥加密密钥解开（密钥加密密钥已更换或丢失，或密文被改动），"
            "已拒绝签名。请运维人员恢复原密钥加密密钥，或由部门负责人轮换签名密钥。",
        )


class SigningForbidden(PermissionDenied):
    def __init__(self) -> None:
        super().__init__(
            "sharing.signing_forbidden", "只有本部门负责人或市数据主管部门可以管理签名密钥。"
        )


class DocumentClassForbidden(PermissionDenied):
    def __init__(self) -> None:
        super().__init__(
            "sharing.document_class_forbidden",
            "只有数据提供部门负责人或市数据主管部门可以认定文书类、证照类、合同类资源。",
        )


class NotSignable(InvalidInput):
    """The document cannot be put in canonical form (a value JSON cannot carry exactly)."""

    def __init__(self, why: str) -> None:
        super().__init__("sharing.not_signable", f"该文书无法规范化签名：{why}。")
