#!/usr/bin/env bash
# `make test-citus` (issue 15, decision 0022): the data-plane tests on a Citus cluster that the
# suite starts itself (a coordinator and two workers on free loopback ports, tests/pgcluster.py).
# Citus is built from ../shared/vendor/citus (CITUS_VENDOR) with scripts/citus's patches into the
# machine's PostgreSQL when that build is missing (decision 0023); on a machine with neither Citus
# nor that folder, the tier is skipped with one line saying why.
set -euo pipefail
cd "$(dirname "$0")/.."
vendor=${CITUS_VENDOR:-../shared/vendor/citus}
installed() { compgen -G "/usr/lib/postgresql/*/lib/citus.so" >/dev/null; }
if [ -f "$vendor/build.sh" ]; then
  # Builds (or rebuilds) it with the project's patches unless that build is already installed.
  CITUS_VENDOR="$vendor" bash scripts/citus/build.sh
elif ! installed; then
  echo "test-citus: skipped: Citus is not installed and its source ($vendor) is not here"
  exit 0
fi
# The data plane: loads (replace, upsert, repeated keys), base builds and incremental rebuilds,
# thematic refreshes, corrections, quality, access records, sharing lookups and bulk delivery,
# and the cluster's own checks (distribution, router lookups, pushed-down builds, checksums).
DATA_PLANE=(
  tests/aggregation/test_citus.py
  tests/core/test_distribution.py
  tests/core/test_shards.py
  tests/aggregation/test_loading.py
  tests/aggregation/test_loading_sweep.py
  tests/aggregation/test_repeated.py
  tests/aggregation/test_duplicates.py
  tests/aggregation/test_pools_race.py
  tests/aggregation/test_base.py
  tests/aggregation/test_base_stale.py
  tests/aggregation/test_thematic.py
  tests/aggregation/test_thematic_filters.py
  tests/aggregation/test_corrections.py
  tests/aggregation/test_quality.py
  tests/aggregation/test_quality_incremental.py
  tests/aggregation/test_access_records.py
  tests/sharing/test_data.py
  tests/sharing/test_data_hotpath.py
  tests/sharing/test_data_limits.py
  tests/sharing/test_bulk.py
  tests/sharing/test_bulk_live.py
  "tests/test_migrations.py::test_downgrade_then_upgrade"
)
GOVDATA_TEST_DB=citus "${PYTEST:-.venv/bin/pytest}" -p no:cacheprovider \
  -n "${PYTEST_WORKERS:-2}" --dist loadfile "${DATA_PLANE[@]}" "$@"
