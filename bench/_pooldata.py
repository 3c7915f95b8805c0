"""Generated person data for the aggregation benchmarks (issue 5), vectorized with Polars.

Every value is a pure function of the row's index (``Expr.hash`` with fixed seeds), so a file
is the same on every run of the same Polars version, and the generators write 10,000,000 rows
in chunks without a Python loop per row.

ID numbers (公民身份号码, GB 11643, Art. 16): row ``i`` gets ``k = i·A mod M`` with ``A`` prime to
``M`` = districts × birth days × 1000 sequence numbers, so distinct rows get distinct numbers
(a bijection, no birthday collisions) spread over 38 Chongqing district codes and birth dates
1940-2019; the check character is computed the way ``govdata.core.ids.id_number_check_char``
does, in Polars.

The persons file (``persons_csv``) has 20 info items of types C, D, I, N and L. On purpose:

* about 0.1 % bad rows (one defect each, six kinds: wrong ID check character, missing ID,
  impossible date, 身高 not an integer, 性别 too long, 是否户主 not a logical value);
* about 0.2 % duplicate subject keys (a later row repeats an earlier row's ID number with
  other values: the pipeline keeps the later one);
* work for the cleaner: dates as ``2001/5/3`` or ``2001年05月03日``, full-width digits in phone
  numbers, blanks around names, ``x`` for ``X`` in ID numbers, booleans as 是/否, true/false, 1/0.
"""

from __future__ import annotations

import math
import time
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

# (division code, district name): Chongqing's districts and counties (GB/T 2260).
DISTRICTS = [
    ("500101", "万州区"), ("500102", "涪陵区"), ("500103", "渝中区"), ("500104", "大渡口区"),
    ("500105", "江北区"), ("500106", "沙坪坝区"), ("500107", "九龙坡区"), ("500108", "南岸区"),
    ("500109", "北碚区"), ("500110", "綦江区"), ("500111", "大足区"), ("500112", "渝北区"),
    ("500113", "巴南区"), ("500114", "黔江区"), ("500115", "长寿区"), ("500116", "江津区"),
    ("500117", "合川区"), ("500118", "永川区"), ("500119", "南川区"), ("500120", "璧山区"),
    ("500151", "铜梁区"), ("500152", "潼南区"), ("500153", "荣昌区"), ("500154", "开州区"),
    ("500155", "梁平区"), ("500156", "武隆区"), ("500229", "城口县"), ("500230", "丰都县"),
    ("500231", "垫江县"), ("500233", "忠县"), ("500235", "云阳县"), ("500236", "奉节县"),
    ("500237", "巫山县"), ("500238", "巫溪县"), ("500240", "石柱土家族自治县"),
    ("500241", "秀山土家族苗族自治县"), ("500242", "酉阳土家族苗族自治县"),
    ("500243", "彭水苗族土家族自治县"),
]  # fmt: skip
BIRTH_FIRST = date(1940, 1, 1)
BIRTH_DAYS = (date(2019, 12, 31) - BIRTH_FIRST).days + 1
KEY_SPACE = len(DISTRICTS) * BIRTH_DAYS * 1000
KEY_MULTIPLIER = 686_202_937  # ~0.62 of KEY_SPACE, prime to it (checked below)
assert math.gcd(KEY_MULTIPLIER, KEY_SPACE) == 1

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"

SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋")
GIVEN = list("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国志红玉梅琴云飞鹏辉宇浩")
NATIONS = ["土家族", "苗族", "回族", "蒙古族", "藏族", "壮族", "满族", "彝族", "侗族", "仡佬族"]
STREETS = ["解放碑街道", "观音桥街道", "杨家坪街道", "南坪街道", "两路街道", "磁器口街道",
           "大坪街道", "石桥铺街道", "龙溪街道", "鱼洞街道", "天生街道", "白市驿镇"]  # fmt: skip
ROADS = ["民族路", "邹容路", "建新北路", "五一路", "中山四路", "渝州路", "金开大道", "江南大道",
         "红旗河沟", "嘉陵路", "长江一路", "学府大道", "科园一路", "龙山路"]  # fmt: skip
MARITAL = ["未婚", "已婚", "离婚", "丧偶"]
EDUCATION = ["小学", "初中", "高中", "中专", "大学专科", "大学本科", "硕士研究生", "博士研究生"]
OCCUPATIONS = ["公务员", "教师", "医生", "护士", "工程师", "会计", "律师", "个体工商户",
               "农民", "工人", "销售人员", "司机", "厨师", "程序员", "退休人员"]  # fmt: skip
EMPLOYERS = ["重庆市第一人民医院", "重庆大学", "西南大学", "重庆长安汽车股份有限公司",
             "重庆银行股份有限公司", "重庆市渝中区人民政府", "重庆轨道交通（集团）有限公司",
             "中国移动通信集团重庆有限公司", "重庆市巴南区李家沱小学",
             "重庆火锅餐饮管理有限公司"]  # fmt: skip
MAIL_DOMAINS = ["163.com", "qq.com", "126.com", "sina.com", "cq.gov.cn", "foxmail.com"]
REMARKS = ["", "", "", "", "", "", "", "户籍迁入", "临时居住", "信息已核实", "待补充联系方式"]

# The persons resource: 20 info items (name, data type, length), the key first (Art. 16).
PERSON_ITEMS: list[tuple[str, str, int | None]] = [
    ("公民身份号码", "C", 18),
    ("姓名", "C", 50),
    ("性别", "C", 2),
    ("出生日期", "D", None),
    ("民族", "C", 20),
    ("户籍地址", "C", 200),
    ("现住址", "C", 200),
    ("联系电话", "C", 20),
    ("婚姻状况", "C", 10),
    ("文化程度", "C", 20),
    ("职业", "C", 50),
    ("工作单位", "C", 100),
    ("登记日期", "D", None),
    ("身高", "I", None),
    ("月收入", "N", None),
    ("是否户主", "L", None),
    ("是否流动人口", "L", None),
    ("家庭人口数", "I", None),
    ("电子邮箱", "C", 100),
    ("备注", "C", 200),
]

BAD_EVERY = 1009  # one row in 1009 has one defect (~0.1 %)
DUP_EVERY = 499  # one row in 499 repeats an earlier row's key (~0.2 %)
DUP_BACK = 997  # ... the key of the row this many rows earlier


def _pick(values: list[str], h: pl.Expr) -> pl.Expr:
    return pl.lit(pl.Series(values, dtype=pl.String)).gather(h % len(values))


def _h(seed: int) -> pl.Expr:
    return pl.col("i").hash(seed)


def key_parts(index: pl.Expr) -> tuple[pl.Expr, pl.Expr, pl.Expr]:
    """(division index, birth day offset, sequence number) of the ID number of key index."""
    k = (index * KEY_MULTIPLIER) % KEY_SPACE
    return k // (BIRTH_DAYS * 1000), (k // 1000) % BIRTH_DAYS, k % 1000


def id_number_frame(indexes: pl.DataFrame, column: str = "k") -> pl.DataFrame:
    """``indexes`` with ``id`` (a valid ID number for key index ``column``) and ``birth``."""
    division, day, seq = key_parts(pl.col(column))
    codes = [d for d, _ in DISTRICTS]
    df = indexes.with_columns(
        _div=division,
        birth=(pl.lit(BIRTH_FIRST) + pl.duration(days=day)).cast(pl.Date),
        _seq=seq,
    ).with_columns(
        _first17=pl.concat_str(
            _pick(codes, pl.col("_div")),
            pl.col("birth").dt.strftime("%Y%m%d"),
            pl.col("_seq").cast(pl.String).str.zfill(3),
        )
    )
    total = pl.sum_horizontal(
        [pl.col("_first17").str.slice(j, 1).cast(pl.Int32) * w for j, w in enumerate(WEIGHTS)]
    )
    return df.with_columns(
        id=pl.concat_str(pl.col("_first17"), _pick(list(CHECK_CHARS), total % 11))
    ).drop("_div", "_first17")


def person_chunk(start: int, n: int) -> pl.DataFrame:
    """Rows ``start … start+n-1`` of the persons file, as the strings written to the CSV."""
    i = pl.col("i")
    df = pl.DataFrame({"i": pl.int_range(start, start + n, dtype=pl.Int64, eager=True)})
    dup = (i % DUP_EVERY == 11) & (i >= DUP_BACK)
    df = df.with_columns(k=pl.when(dup).then(i - DUP_BACK).otherwise(i))
    df = id_number_frame(df)
    district_names = [name for _, name in DISTRICTS]
    bad = i % BAD_EVERY == 5
    kind = (i // BAD_EVERY) % 6
    birth = pl.col("birth")
    birth_text = (
        pl.when(i % 7 == 0)
        .then(
            pl.concat_str(
                birth.dt.year(), pl.lit("/"), birth.dt.month(), pl.lit("/"), birth.dt.day()
            )
        )
        .when(i % 7 == 1)
        .then(birth.dt.strftime("%Y年%m月%d日"))
        .otherwise(birth.dt.strftime("%Y-%m-%d"))
    )
    id_text = (
        pl.when((i % 2 == 0) & pl.col("id").str.ends_with("X"))
        .then(pl.col("id").str.replace("X", "x", literal=True))
        .otherwise(pl.col("id"))
    )
    wrong_check = pl.concat_str(
        pl.col("id").str.slice(0, 17),
        pl.when(pl.col("id").str.ends_with("0")).then(pl.lit("1")).otherwise(pl.lit("0")),
    )
    phone = pl.concat_str(
        _pick(["138", "139", "150", "177", "186", "199", "135", "158"], _h(11)),
        (_h(12) % 100_000_000).cast(pl.String).str.zfill(8),
    )
    full_width = [chr(0xFF10 + d) for d in range(10)]
    phone = (
        pl.when(i % 50 == 3)
        .then(phone.str.replace_many(list("0123456789"), full_width))
        .otherwise(phone)
    )
    name = pl.concat_str(
        _pick(SURNAMES, _h(1)),
        _pick(GIVEN, _h(2)),
        pl.when(_h(3) % 3 == 0).then(pl.lit("")).otherwise(_pick(GIVEN, _h(4))),
    )
    name = pl.when(i % 40 == 1).then(pl.concat_str(pl.lit(" "), name, pl.lit("　"))).otherwise(name)

    def address(seed: int, district: pl.Expr) -> pl.Expr:
        return pl.concat_str(
            pl.lit("重庆市"),
            district,
            _pick(STREETS, _h(seed)),
            _pick(ROADS, _h(seed + 1)),
            (_h(seed + 2) % 300 + 1).cast(pl.String),
            pl.lit("号"),
        )

    home = _pick(district_names, (pl.col("k") * KEY_MULTIPLIER % KEY_SPACE) // (BIRTH_DAYS * 1000))
    income = (_h(30) % 3_000_000).cast(pl.Float64) / 100 + 1800
    key = (
        pl.when(bad & (kind == 0))
        .then(wrong_check)
        .when(bad & (kind == 1))
        .then(pl.lit(""))
        .otherwise(id_text)
    )
    sex = (
        pl.when(bad & (kind == 4))
        .then(pl.lit("未说明的性别"))
        .when(pl.col("id").str.slice(16, 1).cast(pl.Int32) % 2 == 1)
        .then(pl.lit("男"))
        .otherwise(pl.lit("女"))
    )
    nation = pl.when(_h(5) % 100 < 92).then(pl.lit("汉族")).otherwise(_pick(NATIONS, _h(6)))
    living = address(50, _pick(district_names, _h(7)))
    registered = (pl.lit(date(2000, 1, 1)) + pl.duration(days=_h(15) % 9000)).cast(pl.Date)
    height = (_h(16) % 45 + 150).cast(pl.String)
    email = pl.concat_str(pl.lit("u"), i.cast(pl.String), pl.lit("@"), _pick(MAIL_DOMAINS, _h(21)))
    return df.select(
        key.alias("公民身份号码"),
        name.alias("姓名"),
        sex.alias("性别"),
        pl.when(bad & (kind == 2))
        .then(pl.lit("2019-02-30"))
        .otherwise(birth_text)
        .alias("出生日期"),
        nation.alias("民族"),
        address(40, home).alias("户籍地址"),
        pl.when(_h(7) % 2 == 0).then(pl.lit("")).otherwise(living).alias("现住址"),
        phone.alias("联系电话"),
        _pick(MARITAL, _h(8)).alias("婚姻状况"),
        _pick(EDUCATION, _h(9)).alias("文化程度"),
        _pick(OCCUPATIONS, _h(10)).alias("职业"),
        pl.when(_h(13) % 10 < 3)
        .then(pl.lit(""))
        .otherwise(_pick(EMPLOYERS, _h(14)))
        .alias("工作单位"),
        registered.dt.strftime("%Y-%m-%d").alias("登记日期"),
        pl.when(bad & (kind == 3)).then(pl.lit("一百七十")).otherwise(height).alias("身高"),
        income.round(2).cast(pl.String).alias("月收入"),
        pl.when(bad & (kind == 5))
        .then(pl.lit("也许"))
        .otherwise(_pick(["是", "否", "否"], _h(17)))
        .alias("是否户主"),
        _pick(["true", "false", "1", "0", "否"], _h(18)).alias("是否流动人口"),
        (_h(19) % 6 + 1).cast(pl.String).alias("家庭人口数"),
        pl.when(_h(20) % 10 < 3).then(pl.lit("")).otherwise(email).alias("电子邮箱"),
        _pick(REMARKS, _h(22)).alias("备注"),
    )


def persons_csv(path: Path, rows: int, chunk: int = 500_000) -> float:
    """Write the persons file (``rows`` data rows) unless it is already there; seconds taken."""
    if path.exists():
        return 0.0
    started = time.perf_counter()
    tmp = path.with_suffix(".part")
    with tmp.open("wb") as f:
        for start in range(0, rows, chunk):
            person_chunk(start, min(chunk, rows - start)).write_csv(f, include_header=start == 0)
            print(f"    generated {min(start + chunk, rows):,} rows", end="\r", flush=True)
    print()
    tmp.rename(path)
    return time.perf_counter() - started


def expected_counts(rows: int) -> dict[str, int]:
    """Bad rows and duplicate keys the persons file holds by construction."""
    bad = sum(1 for i in range(5, rows, BAD_EVERY))
    dups = 0
    for i in range(11, rows, DUP_EVERY):
        if i >= DUP_BACK and i % BAD_EVERY != 5 and (i - DUP_BACK) % BAD_EVERY != 5:
            dups += 1
    return {"bad": bad, "duplicates_at_most": dups}


# --- five person pools for the base database (bench/base_build.py) -----------------------------

# (department code, department name, resource name, info items after the key). Pool p holds the
# key indexes [p·rows/4, p·rows/4 + rows) (bench/base_build.py): neighbouring pools overlap, and
# the union of five pools of 2,000,000 rows is 4,000,000 persons.
BASE_POOLS: list[tuple[str, str, str, list[tuple[str, str, int | None]]]] = [
    ("500000-007", "市公安局", "户籍人口信息",
     [("姓名", "C", 50), ("性别", "C", 2), ("出生日期", "D", None)]),
    ("500000-012", "市民政局", "婚姻登记信息",
     [("姓名", "C", 50), ("婚姻状况", "C", 10), ("登记日期", "D", None)]),
    ("500000-015", "市人力社保局", "社会保险参保信息",
     [("参保状态", "C", 10), ("参保日期", "D", None), ("月缴费基数", "N", None)]),
    ("500000-031", "市卫生健康委", "居民健康档案信息",
     [("血型", "C", 4), ("是否签约家庭医生", "L", None), ("联系电话", "C", 20)]),
    ("500000-011", "市教委", "学历学籍信息",
     [("性别", "C", 2), ("文化程度", "C", 20), ("毕业院校", "C", 100)]),
]  # fmt: skip
# Base items of the person base: (base item name, source pool index, source item). 姓名 is also
# carried by the 民政 pool and 性别 by the 教委 pool: those are checked for conflicts (Art. 16).
BASE_ITEMS: list[tuple[str, int, str]] = [
    ("姓名", 0, "姓名"),
    ("性别", 0, "性别"),
    ("出生日期", 0, "出生日期"),
    ("婚姻状况", 1, "婚姻状况"),
    ("婚姻登记日期", 1, "登记日期"),
    ("参保状态", 2, "参保状态"),
    ("参保日期", 2, "参保日期"),
    ("月缴费基数", 2, "月缴费基数"),
    ("血型", 3, "血型"),
    ("签约家庭医生", 3, "是否签约家庭医生"),
    ("联系电话", 3, "联系电话"),
    ("文化程度", 4, "文化程度"),
    ("毕业院校", 4, "毕业院校"),
]
NAME_CONFLICT_EVERY = 200  # the 民政 pool spells one name in 200 differently (~0.5 %)
SCHOOLS = ["重庆大学", "西南大学", "西南政法大学", "重庆医科大学", "重庆邮电大学", "重庆交通大学",
           "四川外国语大学", "重庆师范大学", "重庆市第一中学", "重庆市巴蜀中学"]  # fmt: skip


def _hk(seed: int) -> pl.Expr:
    return pl.col("k").hash(seed)


def base_pool_frame(pool: int, first_key: int, n: int, *, variant: int = 0) -> pl.DataFrame:
    """Key indexes ``first_key …`` of pool ``pool`` as clean values, column per info item (the
    key first), in the form the pipeline's cleaner produces (ISO dates, ``true``/``false``).

    Values are functions of the key index, so two pools agree on a person's name and sex except
    where a disagreement is made on purpose; ``variant`` changes the non-key values (an update).
    """
    df = id_number_frame(
        pl.DataFrame({"k": pl.int_range(first_key, first_key + n, dtype=pl.Int64, eager=True)})
    )
    name = pl.concat_str(
        _pick(SURNAMES, _hk(1)),
        _pick(GIVEN, _hk(2)),
        pl.when(_hk(3) % 3 == 0).then(pl.lit("")).otherwise(_pick(GIVEN, _hk(4))),
    )
    sex = pl.when(pl.col("id").str.slice(16, 1).cast(pl.Int32) % 2 == 1).then(pl.lit("男"))
    sex = sex.otherwise(pl.lit("女"))
    v = 100 * variant + 10 * pool

    def day(seed: int, first: date, days: int) -> pl.Expr:
        offset = pl.duration(days=_hk(v + seed) % days)
        return (pl.lit(first) + offset).cast(pl.Date).dt.strftime("%Y-%m-%d")

    if pool == 0:
        values = [name, sex, pl.col("birth").dt.strftime("%Y-%m-%d")]
    elif pool == 1:
        differs = pl.col("k") % NAME_CONFLICT_EVERY == 3
        other = pl.concat_str(_pick(SURNAMES, _hk(1)), _pick(GIVEN, _hk(9)), _pick(GIVEN, _hk(8)))
        values = [
            pl.when(differs).then(other).otherwise(name),
            _pick(MARITAL, _hk(v + 1)),
            day(2, date(1990, 1, 1), 12000),
        ]
    elif pool == 2:
        values = [
            _pick(["正常参保", "暂停缴费", "终止参保"], _hk(v + 1)),
            day(2, date(1995, 1, 1), 10000),
            ((_hk(v + 3) % 3_000_000).cast(pl.Float64) / 100 + 3000).round(2).cast(pl.String),
        ]
    elif pool == 3:
        values = [
            _pick(["A型", "B型", "O型", "AB型"], _hk(v + 1)),
            _pick(["true", "false"], _hk(v + 2)),
            pl.concat_str(
                _pick(["138", "139", "150", "177", "186"], _hk(v + 3)),
                (_hk(v + 4) % 100_000_000).cast(pl.String).str.zfill(8),
            ),
        ]
    else:
        values = [sex, _pick(EDUCATION, _hk(v + 1)), _pick(SCHOOLS, _hk(v + 2))]
    names = [item for item, _, _ in BASE_POOLS[pool][3]]
    return df.select(
        pl.col("id").alias("公民身份号码"),
        *[e.alias(n) for e, n in zip(values, names, strict=True)],
    )


# --- CPU accounting shared by the aggregation benchmarks ---------------------------------------


def _proc_cpu(stat_text: str) -> tuple[int, float]:
    """(parent pid, CPU-seconds) from the text of ``/proc/<pid>/stat``."""
    import os

    fields = stat_text.rsplit(")", 1)[1].split()
    hz = os.sysconf("SC_CLK_TCK")
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / hz


def pids_cpu_seconds(pids: list[int]) -> float:
    """CPU-seconds used so far by the processes ``pids`` (those still alive)."""
    total = 0.0
    for pid in pids:
        try:
            total += _proc_cpu(Path(f"/proc/{pid}/stat").read_text())[1]
        except (OSError, IndexError, ValueError):
            continue
    return total


def postmaster_pid(url: str) -> int | None:
    """The local PostgreSQL server's postmaster (from its data directory), or None."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            data_dir = conn.execute(text("SHOW data_directory")).scalar_one()
        return int((Path(data_dir) / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError):
        return None
    finally:
        engine.dispose()


def server_cpu_seconds(postmaster: int | None) -> float:
    """CPU-seconds of one PostgreSQL server: its postmaster and the processes it forked that are
    alive now (other clusters on the machine, e.g. the test suites' own, are left out). A
    backend that has exited took its CPU with it: the benchmark children report their own
    backends' CPU before they disconnect (``pids_cpu_seconds``)."""
    if postmaster is None:
        return 0.0
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid, cpu = _proc_cpu(stat.read_text())
        except (OSError, IndexError, ValueError):
            continue
        if ppid == postmaster or stat.parent.name == str(postmaster):
            total += cpu
    return total


def watch_backends(engine: Any) -> list[int]:
    """The PostgreSQL backend pids of every connection ``engine`` opens (filled as it opens
    them), so that a benchmark child can read their CPU time before it disconnects."""
    from sqlalchemy import event

    pids: list[int] = []
    if engine.dialect.name != "postgresql":
        return pids

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, record: Any) -> None:
        pids.append(int(dbapi_connection.info.backend_pid))

    return pids
