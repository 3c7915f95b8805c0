"""Distributed mode's one detection (decision 0022): off Citus nothing is placed; on Citus the
data-plane table is distributed and a small table made a reference table."""

from __future__ import annotations

from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, text

from govdata.core import distribution
from tests.conftest import BACKEND


def test_placement_follows_the_extension(engine: Engine) -> None:
    md = MetaData()
    key = String().with_variant(String(collation="C"), "postgresql")  # the data plane's key
    data = Table("dist_probe_data", md, Column("k", key), Column("v", Integer))
    small = Table("dist_probe_small", md, Column("id", Integer, primary_key=True))
    with engine.connect() as conn:
        tx = conn.begin()
        try:
            md.create_all(conn)
            citus = BACKEND == "citus"
            assert distribution.enabled(conn) is citus
            assert distribution.distribute(conn, data.name, "k") is citus
            assert distribution.reference(conn, small.name) is citus
            # Placed once: a second call changes nothing.
            assert distribution.distribute(conn, data.name, "k") is False
            if citus:
                kinds = dict(
                    conn.execute(
                        text(
                            "SELECT logicalrelid::text, partmethod FROM pg_dist_partition "
                            "WHERE logicalrelid::text LIKE 'dist_probe_%'"
                        )
                    ).all()
                )
                assert kinds == {"dist_probe_data": "h", "dist_probe_small": "n"}
                assert distribution.undistribute(conn, small.name) is True
            else:
                assert distribution.undistribute(conn, small.name) is False
        finally:
            tx.rollback()
