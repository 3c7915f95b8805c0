"""Tests for govdata.core.ids: the Art. 16 master keys (ID number and USCC)."""

from __future__ import annotations

import time
from datetime import date

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govdata.core.ids import (
    EARLIEST_BIRTH_DATE,
    ID_NUMBER_CHECK_CHARS,
    STRIP_CHARS,
    USCC_ALPHABET,
    id_number_check_char,
    id_number_valid_expr,
    is_valid_id_number,
    is_valid_uscc,
    make_id_number,
    make_uscc,
    normalize_id_number,
    normalize_uscc,
    uscc_check_char,
    uscc_valid_expr,
    validate_id_numbers,
    validate_usccs,
)

# A fixed "today" keeps every test independent of the wall clock.
TODAY = date(2025, 6, 30)

# Art. 16: natural persons are keyed by the 公民身份号码 (GB 11643-1999 example).
ID_EXAMPLE = "11010519491231002X"
# Art. 16: legal persons are keyed by the 统一社会信用代码 (GB 32100-2015).
USCC_EXAMPLES = ("91350100M000100Y43", "91110000600037341L")

ID_CHARS = "0123456789X"


# --------------------------------------------------------------------------- strategies

divisions = st.integers(min_value=100000, max_value=999999).map(str)
births = st.dates(min_value=EARLIEST_BIRTH_DATE, max_value=TODAY)
seqs = st.integers(min_value=0, max_value=999)
valid_ids = st.builds(make_id_number, divisions, births, seqs)

uscc_bodies = st.builds(
    lambda first, rest: first + rest,
    st.sampled_from("159Y"),
    st.text(alphabet=USCC_ALPHABET, min_size=16, max_size=16),
)
valid_usccs = uscc_bodies.map(make_uscc)


@st.composite
def mutated(draw: st.DrawFn, valid: st.SearchStrategy[str], alphabet: str) -> str:
    """A valid value with exactly one position replaced by a different allowed char."""
    s = draw(valid)
    pos = draw(st.integers(min_value=0, max_value=len(s) - 1))
    new = draw(st.sampled_from(alphabet).filter(lambda c: c != s[pos]))
    return s[:pos] + new + s[pos + 1 :]


# Characters chosen to trip up normalisation and regexes: full-width digits, the
# ligature ﬀ (uppercases to "FF"), dotless ı (→ "I"), Kelvin sign K, long s ſ,
# whitespace that is / is not in STRIP_CHARS, signs accepted by integer parsers.
TRICKY = "0123456789Xx ABCDEFGHJKLMNPQRTUWXYIOZSVabcyz\u3000\xa0\t\n\x1c\u2003１Ｘﬀıſ\u212a+-_"
padding = st.text(alphabet=STRIP_CHARS + "\x1c\u2003", max_size=2)
garbage = st.one_of(
    st.text(alphabet=TRICKY, max_size=22),
    st.text(alphabet=ID_CHARS + "x", min_size=18, max_size=18),
    st.text(alphabet=USCC_ALPHABET + "IOZSVy", min_size=18, max_size=18),
    st.text(max_size=20),
)
mixed_inputs = st.one_of(
    st.none(),
    valid_ids,
    valid_usccs,
    valid_ids.map(str.lower),
    valid_usccs.map(str.lower),
    mutated(valid_ids, ID_CHARS),
    mutated(valid_usccs, USCC_ALPHABET),
    st.builds(lambda a, s, b: a + s + b, padding, st.one_of(valid_ids, valid_usccs), padding),
    garbage,
)


# --------------------------------------------------------------------------- ID number


def test_id_known_example() -> None:
    # Art. 16: the GB 11643-1999 example number.
    assert id_number_check_char(ID_EXAMPLE[:17]) == "X"
    assert is_valid_id_number(ID_EXAMPLE)
    assert make_id_number("110105", date(1949, 12, 31), 2) == ID_EXAMPLE


@pytest.mark.parametrize(
    "s",
    [
        "11010519491231002X ",  # the review's example: a trailing blank
        f" {ID_EXAMPLE}",
        f"{ID_EXAMPLE}\u3000",
        f"\xa0{ID_EXAMPLE}\t",
        ID_EXAMPLE.lower(),  # the check character is an uppercase X
    ],
)
def test_id_validator_is_exact(s: str) -> None:
    # Art. 16: the validator accepts the key as stored, nothing around it; cleaning comes first.
    assert not is_valid_id_number(s)
    assert validate_id_numbers(pl.Series([s])).to_list() == [False]
    assert normalize_id_number(s) == ID_EXAMPLE
    assert is_valid_id_number(normalize_id_number(s))


@pytest.mark.parametrize(
    "s",
    [
        "",
        ID_EXAMPLE[:17],  # 17 characters
        ID_EXAMPLE + "0",  # 19 characters
        "110105491231002",  # old 15-digit number
        "11010519491231002Y",  # wrong check character
        "110105194912310020",
        "01010519491231002X",  # division code must not start with 0
        "1101051949123100X2",  # X only as the check character
        "１1010519491231002X",  # full-width digit
        "11010519491231002Ｘ",  # full-width X
        "+1010519491231002X",
        "110105 19491231002X",
        "\u2003" + ID_EXAMPLE,  # em space is not in STRIP_CHARS
        ID_EXAMPLE + "\x1c",  # str.isspace() but not stripped
    ],
)
def test_id_rejects_malformed(s: str) -> None:
    # Art. 16
    assert not is_valid_id_number(s)
    assert validate_id_numbers(pl.Series([s])).to_list() == [False]


@pytest.mark.parametrize("value", [None, 110105194912310020, b"11010519491231002X", ["x"]])
def test_id_rejects_non_str(value: object) -> None:
    assert not is_valid_id_number(value)  # type: ignore[arg-type]


def test_id_birth_date_bounds() -> None:
    # Art. 16: the birth date must be a real day in [1900-01-01, today].
    assert is_valid_id_number(make_id_number("500101", TODAY, 1), today=TODAY)
    tomorrow = date(2025, 7, 1)
    assert not is_valid_id_number(make_id_number("500101", tomorrow, 1), today=TODAY)
    assert is_valid_id_number(make_id_number("500101", tomorrow, 1), today=tomorrow)
    assert is_valid_id_number(make_id_number("500101", date(1900, 1, 1), 1), today=TODAY)
    assert not is_valid_id_number(make_id_number("500101", date(1899, 12, 31), 1), today=TODAY)
    # Default "today" is the real date: a birth date in the year 9999 is in the future.
    assert not is_valid_id_number(make_id_number("500101", date(9999, 1, 1), 1))


def _with_birth(ymd: str) -> str:
    first17 = "500101" + ymd + "123"
    return first17 + id_number_check_char(first17)


@pytest.mark.parametrize(
    ("ymd", "expected"),
    [
        ("20240230", False),  # Feb 30
        ("20240229", True),  # leap year
        ("20230229", False),
        ("20000229", True),  # divisible by 400
        ("19000229", False),  # divisible by 100, not by 400
        ("19960229", True),
        ("20240431", False),
        ("20241301", False),
        ("20240001", False),
        ("20240100", False),
        ("20241231", True),
    ],
)
def test_id_calendar(ymd: str, expected: bool) -> None:
    # Art. 16
    s = _with_birth(ymd)
    assert is_valid_id_number(s, today=TODAY) is expected
    assert validate_id_numbers(pl.Series([s]), today=TODAY).to_list() == [expected]


def test_id_date_grid_expr_matches_scalar() -> None:
    # Art. 16: exhaustive over awkward years, every month 00-13 and day 00-32.
    years = ["0000", "0001", "0999", "1600", "1899", "1900", "1904", "2000", "2024", "2100"]
    years += ["9999"]
    values = [
        _with_birth(f"{y}{m:02d}{d:02d}") for y in years for m in range(14) for d in range(33)
    ]
    far = date(9999, 12, 31)
    for today in (TODAY, far):
        expected = [is_valid_id_number(v, today=today) for v in values]
        assert validate_id_numbers(pl.Series(values), today=today).to_list() == expected
    # Sanity: the scalar agrees with datetime.date on what a real day is.
    assert sum(is_valid_id_number(v, today=far) for v in values) == sum(
        _is_date(v[6:14]) and v[6:10] >= "1900" for v in values
    )


def _is_date(ymd: str) -> bool:
    try:
        date(int(ymd[:4]), int(ymd[4:6]), int(ymd[6:]))
    except ValueError:
        return False
    return True


@given(valid_ids)
def test_id_generated_valid(s: str) -> None:
    # Art. 16
    assert is_valid_id_number(s, today=TODAY)
    assert s[17] in ID_NUMBER_CHECK_CHARS


@given(valid_ids, st.data())
def test_id_every_single_substitution_rejected(s: str, data: st.DataObject) -> None:
    # Art. 16: MOD 11-2 detects every single-character substitution.
    pos = data.draw(st.integers(min_value=0, max_value=17))
    new = data.draw(st.sampled_from(ID_CHARS).filter(lambda c: c != s[pos]))
    assert not is_valid_id_number(s[:pos] + new + s[pos + 1 :], today=TODAY)


def test_id_all_substitutions_of_example_rejected() -> None:
    # Art. 16: exhaustive for the GB example.
    mutants = [
        ID_EXAMPLE[:i] + c + ID_EXAMPLE[i + 1 :]
        for i in range(18)
        for c in ID_CHARS
        if c != ID_EXAMPLE[i]
    ]
    assert not any(is_valid_id_number(m) for m in mutants)
    assert not validate_id_numbers(pl.Series(mutants)).any()


def test_id_generator_rejects_bad_parts() -> None:
    with pytest.raises(ValueError, match="division"):
        make_id_number("010105", date(1990, 1, 1), 1)
    with pytest.raises(ValueError, match="division"):
        make_id_number("11010", date(1990, 1, 1), 1)
    with pytest.raises(ValueError, match="seq"):
        make_id_number("110105", date(1990, 1, 1), 1000)
    with pytest.raises(ValueError, match="seq"):
        make_id_number("110105", date(1990, 1, 1), -1)
    with pytest.raises(ValueError):
        id_number_check_char("1101051949123100")
    with pytest.raises(ValueError):
        id_number_check_char("１１０１０５１９４９１２３１００２")


# --------------------------------------------------------------------------- USCC


@pytest.mark.parametrize("code", USCC_EXAMPLES)
def test_uscc_known_examples(code: str) -> None:
    # Art. 16
    assert uscc_check_char(code[:17]) == code[17]
    assert make_uscc(code[:17]) == code
    assert is_valid_uscc(code)
    assert normalize_uscc(f" {code.lower()}\n") == code


@pytest.mark.parametrize("dressed", ["{} ", " {}", "\u3000{}", "{}\n", "{lower}"])
@pytest.mark.parametrize("code", USCC_EXAMPLES)
def test_uscc_validator_is_exact(code: str, dressed: str) -> None:
    # Art. 16: blanks around a code or lowercase letters are the cleaning's business.
    s = dressed.format(code, lower=code.lower())
    assert not is_valid_uscc(s)
    assert validate_usccs(pl.Series([s])).to_list() == [False]
    assert is_valid_uscc(normalize_uscc(s))


@pytest.mark.parametrize(
    "s",
    [
        "",
        USCC_EXAMPLES[0][:17],
        USCC_EXAMPLES[0] + "0",
        "91350100M000100Y44",  # wrong check character
        "91350100M000100Y4Z",
        "９1350100M000100Y43",  # full-width digit
        "91350100Ｍ000100Y43",  # full-width letter
        "91350100M 00100Y43",
    ],
)
def test_uscc_rejects_malformed(s: str) -> None:
    # Art. 16
    assert not is_valid_uscc(s)
    assert validate_usccs(pl.Series([s])).to_list() == [False]


@pytest.mark.parametrize("bad", "IOZSV")
@pytest.mark.parametrize("pos", [1, 5, 9, 16, 17])
def test_uscc_rejects_excluded_letters(bad: str, pos: int) -> None:
    # Art. 16: GB 32100-2015 never uses I, O, Z, S or V.
    code = USCC_EXAMPLES[0]
    s = code[:pos] + bad + code[pos + 1 :]
    assert not is_valid_uscc(s)
    assert not is_valid_uscc(s.lower())
    assert validate_usccs(pl.Series([s, s.lower()])).to_list() == [False, False]


def test_uscc_non_ascii_case_mapping_cannot_forge_a_code() -> None:
    # "ﬀ".upper() == "FF": a 17-character string must not become a valid 18-char code.
    code = make_uscc("91500000FF0000001")
    assert is_valid_uscc(code)
    forged = [
        code.replace("FF", "\ufb00"),  # ligature ﬀ
        make_uscc("91500000K00000001").replace("K", "\u212a"),  # Kelvin sign
    ]
    for s in forged:
        assert not is_valid_uscc(s)
    assert validate_usccs(pl.Series(forged)).to_list() == [False, False]


@pytest.mark.parametrize("authority", "159Y")
def test_uscc_accepted_registration_authorities(authority: str) -> None:
    # Art. 16: the platform accepts authorities 1, 5, 9 and Y.
    assert is_valid_uscc(make_uscc(authority + "1500000MA5U7XK9Q"))


@pytest.mark.parametrize("authority", "0234678ANX")
def test_uscc_other_registration_authorities_rejected(authority: str) -> None:
    # Art. 16: checksum-correct but from an authority outside USCC_REGISTRATION_AUTHORITIES.
    s = make_uscc(authority + "1500000MA5U7XK9Q")
    assert not is_valid_uscc(s)
    assert validate_usccs(pl.Series([s])).to_list() == [False]


@pytest.mark.parametrize("value", [None, 91350100, b"91350100M000100Y43"])
def test_uscc_rejects_non_str(value: object) -> None:
    assert not is_valid_uscc(value)  # type: ignore[arg-type]


@given(valid_usccs)
def test_uscc_generated_valid(s: str) -> None:
    # Art. 16
    assert is_valid_uscc(s)
    assert is_valid_uscc(normalize_uscc(s.lower()))


@given(valid_usccs, st.data())
def test_uscc_every_single_substitution_rejected(s: str, data: st.DataObject) -> None:
    # Art. 16: MOD 31 detects every single-character substitution.
    pos = data.draw(st.integers(min_value=0, max_value=17))
    new = data.draw(st.sampled_from(USCC_ALPHABET).filter(lambda c: c != s[pos]))
    assert not is_valid_uscc(s[:pos] + new + s[pos + 1 :])


@pytest.mark.parametrize("code", USCC_EXAMPLES)
def test_uscc_all_substitutions_of_examples_rejected(code: str) -> None:
    # Art. 16: exhaustive for the known codes.
    mutants = [
        code[:i] + c + code[i + 1 :] for i in range(18) for c in USCC_ALPHABET if c != code[i]
    ]
    assert not any(is_valid_uscc(m) for m in mutants)
    assert not validate_usccs(pl.Series(mutants)).any()


def test_uscc_generator_rejects_bad_body() -> None:
    for body in [
        "91350100M000100Y",
        "91350100M000100Y43",
        "91350100I000100Y4",
        "91350100m000100Y4",
    ]:
        with pytest.raises(ValueError):
            make_uscc(body)


# --------------------------------------------------------------------------- Polars


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(mixed_inputs, max_size=60))
def test_exprs_agree_with_scalar(values: list[str | None]) -> None:
    # Art. 16: bulk and single-value validation give the same verdict on every input.
    series = pl.Series("key", values, dtype=pl.String)
    expected_id = [is_valid_id_number(v, today=TODAY) for v in values]  # type: ignore[arg-type]
    expected_uscc = [is_valid_uscc(v) for v in values]  # type: ignore[arg-type]

    assert validate_id_numbers(series, today=TODAY).to_list() == expected_id
    assert validate_usccs(series).to_list() == expected_uscc

    # Eager and lazy (common-subexpression elimination) paths, str and Expr inputs.
    df = pl.DataFrame({"key": series})
    out = df.select(
        id_number_valid_expr("key", today=TODAY).alias("id"),
        uscc_valid_expr(pl.col("key")).alias("uscc"),
    )
    assert out["id"].to_list() == expected_id
    assert out["uscc"].to_list() == expected_uscc
    lazy = df.lazy().select(
        id_number_valid_expr(pl.col("key"), today=TODAY).alias("id"),
        uscc_valid_expr("key").alias("uscc"),
    )
    assert lazy.collect().equals(out)


def test_series_wrappers() -> None:
    s = pl.Series("pid", [ID_EXAMPLE, None, "x", USCC_EXAMPLES[0]])
    ids = validate_id_numbers(s)
    assert ids.name == "pid"
    assert ids.dtype == pl.Boolean
    assert ids.to_list() == [True, False, False, False]
    assert validate_usccs(s).to_list() == [False, False, False, True]
    # All-null series (dtype Null) and empty series.
    assert validate_id_numbers(pl.Series([None, None])).to_list() == [False, False]
    assert validate_usccs(pl.Series([None])).to_list() == [False]
    assert validate_usccs(pl.Series([], dtype=pl.String)).to_list() == []
    with pytest.raises(TypeError):
        validate_id_numbers(pl.Series([110105194912310020]))


def test_exprs_are_native() -> None:
    # The 10-million-row benchmark depends on no Python callback per row or per batch.
    plan = (
        pl.LazyFrame({"k": [ID_EXAMPLE]})
        .select(id_number_valid_expr("k"), uscc_valid_expr("k").alias("u"))
        .explain()
    )
    assert "python" not in plan.lower()
    assert "map" not in plan.lower()


def test_expr_output_name_and_filter() -> None:
    df = pl.DataFrame({"uscc": [*USCC_EXAMPLES, "bad"], "pid": [ID_EXAMPLE, "bad", None]})
    assert df.select(uscc_valid_expr("uscc")).columns == ["uscc"]
    assert df.filter(uscc_valid_expr("uscc") & id_number_valid_expr("pid")).height == 1


@pytest.mark.parametrize("char", USCC_ALPHABET)
def test_uscc_every_alphabet_char(char: str) -> None:
    # Art. 16: each character's value is its index in the alphabet; lowercase is cleaned first.
    codes = [make_uscc("9" + char * 16), make_uscc("Y" + char * 16)]
    assert all(is_valid_uscc(c) for c in codes)
    assert validate_usccs(pl.Series(codes)).all()
    lower = [c.lower() for c in codes]
    expected = [c == c.lower() for c in codes]  # only a code of digits has no case
    assert [is_valid_uscc(c) for c in lower] == expected
    assert validate_usccs(pl.Series(lower)).to_list() == expected
    assert all(is_valid_uscc(normalize_uscc(c)) for c in lower)


def test_exprs_stay_vectorised_with_nulls_and_short_rows() -> None:
    # Art. 16 bulk checks: nulls and wrong-length rows must not push any kernel off its
    # vectorised path (a per-row fallback was ~40 s per million rows, this is ~0.1 s).
    base = [ID_EXAMPLE, USCC_EXAMPLES[0], None, "x", "9135010", *USCC_EXAMPLES]
    df = pl.DataFrame({"k": base * 30_000}, schema={"k": pl.String})
    started = time.perf_counter()
    out = df.select(
        id_number_valid_expr("k", today=TODAY).alias("id"), uscc_valid_expr("k").alias("uscc")
    )
    elapsed = time.perf_counter() - started
    assert out["id"].sum() == 30_000
    assert out["uscc"].sum() == 90_000
    assert elapsed < 5.0, f"{len(df)} rows took {elapsed:.1f} s"
