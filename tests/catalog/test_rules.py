"""The regulation's rules on a resource's metadata, without a database."""

from __future__ import annotations

import pytest

from govdata.catalog.rules import check_resource, infer_subject, require_valid
from govdata.catalog.schemas import InfoItemIn
from govdata.catalog.vocab import SubjectKind
from govdata.core.errors import InvalidInput
from tests.catalog.factories import company_resource, person_resource


def codes(data) -> set[str]:  # type: ignore[no-untyped-def]
    return {p.code for p in check_resource(data)}


def test_valid_inputs_have_no_problems() -> None:
    assert check_resource(person_resource()) == []
    assert check_resource(company_resource()) == []


@pytest.mark.parametrize("share", ["conditional", "none"])
def test_restricted_sharing_needs_a_legal_basis(share: str) -> None:
    # Art. 25(1)
    data = company_resource(share_type=share, share_conditions="仅限税务部门", legal_basis="")
    assert "catalog.share_legal_basis_required" in codes(data)
    data = company_resource(share_type=share, share_conditions="仅限税务部门", legal_basis="某法")
    assert "catalog.share_legal_basis_required" not in codes(data)


def test_an_item_restricted_alone_also_needs_a_legal_basis() -> None:
    # Art. 25(1): "仅能够部分提供" is conditional sharing too, item by item.
    items = [
        *company_resource().items,
        InfoItemIn(name="股东信息", data_type="M", share_type="none"),
    ]
    assert "catalog.share_legal_basis_required" in codes(company_resource(items=items))


@pytest.mark.parametrize("open_type", ["conditional", "none"])
def test_restricted_opening_needs_a_legal_basis(open_type: str) -> None:
    # Art. 31
    data = company_resource(open_type=open_type, open_conditions="实名申请")
    assert "catalog.open_legal_basis_required" in codes(data)
    assert "catalog.open_legal_basis_required" not in codes(
        company_resource(open_type=open_type, open_conditions="实名申请", legal_basis="某条例")
    )


def test_conditions_are_written_for_conditional_types() -> None:
    # Art. 24, 30: conditional means particular conditions, which must be stated.
    data = company_resource(share_type="conditional", open_type="conditional", legal_basis="x")
    assert {"catalog.share_conditions_required", "catalog.open_conditions_required"} <= codes(data)


def test_base_resources_are_shared_unconditionally() -> None:
    # Art. 25(2)
    data = person_resource(share_type="conditional", share_conditions="x")
    assert "catalog.base_items_must_share" in codes(data)
    items = [*person_resource().items, InfoItemIn(name="照片", data_type="I", share_type="none")]
    assert "catalog.base_items_must_share" in codes(person_resource(items=items))


def test_person_data_is_keyed_by_id_number() -> None:
    # Art. 16 ¶2
    items = [InfoItemIn(name="姓名", data_type="C", length=50, is_subject_key=True)]
    data = person_resource(items=items)
    assert infer_subject(data) is SubjectKind.PERSON  # by its class 基础/人口
    assert "catalog.person_id_number_required" in codes(data)


def test_legal_person_data_is_keyed_by_uscc() -> None:
    # Art. 16 ¶2
    items = [InfoItemIn(name="企业名称", data_type="C", length=200, is_subject_key=True)]
    assert "catalog.legal_person_uscc_required" in codes(company_resource(items=items))


def test_subject_is_inferred_from_the_subject_key() -> None:
    data = company_resource(subject_kind=None)
    assert infer_subject(data) is SubjectKind.LEGAL_PERSON
    other = company_resource(
        subject_kind=None, items=[InfoItemIn(name="站点", data_type="C", length=9)]
    )
    assert infer_subject(other) is SubjectKind.OTHER


def test_item_rules() -> None:
    dup = [InfoItemIn(name="名称", data_type="C", length=5)] * 2
    assert "catalog.item_name_duplicate" in codes(company_resource(subject_kind="other", items=dup))
    nolen = [InfoItemIn(name="名称", data_type="C")]
    assert "catalog.item_length_required" in codes(
        company_resource(subject_kind="other", items=nolen)
    )
    assert "catalog.items_required" in codes(company_resource(subject_kind="other", items=[]))
    # A scanned document has no fields to list.
    assert (
        check_resource(company_resource(subject_kind="other", items=[], format="electronic_file"))
        == []
    )
    keys = [
        InfoItemIn(name="统一社会信用代码", data_type="C", length=18, is_subject_key=True),
        InfoItemIn(name="社会信用代码", data_type="C", length=18, is_subject_key=True),
    ]
    assert "catalog.subject_key_multiple" in codes(company_resource(items=keys))


def test_class_path_has_at_most_three_levels() -> None:
    assert "catalog.class_path_invalid" in codes(company_resource(class_path="a/b/c/d"))
    assert "catalog.class_path_invalid" in codes(company_resource(class_path="a//c"))


def test_require_valid_raises_the_first_problem_and_lists_all() -> None:
    data = company_resource(share_type="none", open_type="none", legal_basis="")
    with pytest.raises(InvalidInput) as err:
        require_valid(data)
    assert err.value.code == "catalog.share_legal_basis_required"
    assert "第二十五条" in err.value.message
    assert len(err.value.detail["problems"]) == 2


def test_rules_reading_an_unknown_field_are_left_out_and_the_others_run() -> None:
    # A field that could not be read holds a stand-in: no rule may judge it, every other runs.
    data = company_resource(share_type="conditional", open_type="none", legal_basis="")
    assert codes(data) == {
        "catalog.share_conditions_required",
        "catalog.share_legal_basis_required",
        "catalog.open_legal_basis_required",
    }
    found = {p.code for p in check_resource(data, unknown={"share_type"})}
    assert found == {"catalog.open_legal_basis_required"}  # Art. 31 needs no share type
    assert check_resource(data, unknown={"legal_basis", "share_conditions"}) == []


def test_a_restriction_read_anywhere_is_certain() -> None:
    # Art. 25(1): one item not shared is enough, whatever the unreadable ones say.
    items = [
        *company_resource().items,
        InfoItemIn(name="股东信息", data_type="M", share_type="none"),
        InfoItemIn(name="备注", data_type="M"),
    ]
    data = company_resource(items=items, legal_basis="")
    found = {p.code for p in check_resource(data, unknown={"items.4.share_type"})}
    assert "catalog.share_legal_basis_required" in found
    unrestricted = company_resource(items=[*company_resource().items, items[4]], legal_basis="")
    found = {p.code for p in check_resource(unrestricted, unknown={"items.3.share_type"})}
    assert "catalog.share_legal_basis_required" not in found  # it might be restricted or not


def test_item_rules_skip_the_items_not_read() -> None:
    items = [
        InfoItemIn(name="统一社会信用代码", data_type="C", length=18, is_subject_key=True),
        InfoItemIn(name="名称", data_type="C"),  # its length could not be read
        InfoItemIn(name="地址", data_type="C"),  # no length given: a problem
        InfoItemIn(name="名称", data_type="C", length=5),  # a name not read is no duplicate
    ]
    found = check_resource(
        company_resource(items=items), unknown={"items.1.length", "items.3.name"}
    )
    assert [(p.code, p.item) for p in found] == [("catalog.item_length_required", 2)]
    # Art. 16: with an unreadable data type among the items the key rule cannot be judged.
    keyless = company_resource(items=[InfoItemIn(name="企业名称", data_type="C", length=9)])
    assert "catalog.legal_person_uscc_required" in codes(keyless)
    assert check_resource(keyless, unknown={"items.0.data_type"}) == []
