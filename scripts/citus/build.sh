#!/usr/bin/env bash
# Build and install Citus into the machine's PostgreSQL from ../shared/vendor/citus (CITUS_VENDOR)
# with this folder's patches applied (decision 0023): the vendor's own build.sh installs the
# release as it is, and 13.2.2 re-plans every prepared single-shard statement that runs on the
# node holding its shard (upstream citusdata/citus#8824, merged after 13.2.2).
# Idempotent: a marker beside citus.so names the patches it was built with; a build made
# without them (the vendor's script) is replaced. Needs root (apt-get, make install).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
vendor=$(cd "${CITUS_VENDOR:-$here/../../../shared/vendor/citus}" && pwd)
pg_config=${PG_CONFIG:-pg_config}
want=$(cat "$here"/*.patch | sha256sum | cut -c1-16)
# pg_config may answer only once the server's dev package is in (installed below).
libdir=$($pg_config --pkglibdir 2>/dev/null || true)
if [ -n "$libdir" ] && [ -f "$libdir/citus.so" ] &&
  [ "$(cat "$libdir/citus.govdata-patches" 2>/dev/null)" = "$want" ]; then
  echo "citus: already installed with this project's patches ($want)"; exit 0
fi
archive=$(ls "$vendor"/citus-*.tar.gz | head -1)
need="postgresql-server-dev-15 libzstd-dev liblz4-dev libcurl4-openssl-dev libkrb5-dev libselinux1-dev libxslt1-dev libpam0g-dev libssl-dev make gcc"
missing=$(for p in $need; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done)
if [ -n "$missing" ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar xzf "$archive" -C "$work"
cd "$work"/citus-*
for p in "$vendor"/*.patch "$here"/*.patch; do patch -p1 -s < "$p"; done
./configure --quiet PG_CONFIG="$(command -v "$pg_config")" >/dev/null
make -s -j"$(nproc)" >/dev/null 2>"$work/build.err" || { tail -20 "$work/build.err"; exit 1; }
make -s install >/dev/null 2>&1
libdir=$($pg_config --pkglibdir)
echo "$want" > "$libdir/citus.govdata-patches"
echo "citus: installed $libdir/citus.so with this project's patches ($want)"
