#!/usr/bin/env bash
# The README's test command. Installs what the tests drive and a fresh Debian or Ubuntu lacks
# (ffmpeg, Chromium and chromedriver, PostgreSQL's server binaries, Python tools in ./.venv),
# then runs `cargo test --workspace` with any arguments given (e.g. `-- --test-threads 2`).
# Nothing needs to be running: the PostgreSQL tests start their own temporary server
# (crates/store/src/testing/postgres_server.rs) unless REELGATE_TEST_POSTGRES_URL names one.
set -euo pipefail
cd "$(dirname "$0")/.."

postgres_binaries() {
  [ -n "${REELGATE_TEST_POSTGRES_URL:-}" ] || [ -n "${REELGATE_TEST_POSTGRES_BIN:-}" ] ||
    compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null ||
    { command -v initdb && command -v postgres; } >/dev/null
}

need=()
command -v ffmpeg >/dev/null || need+=(ffmpeg)
command -v chromium >/dev/null || command -v chromium-browser >/dev/null || need+=(chromium)
command -v chromedriver >/dev/null || need+=(chromium-driver)
type -P kill >/dev/null || need+=(procps)
[ -e /etc/ssl/certs/ca-certificates.crt ] || need+=(ca-certificates)
postgres_binaries || need+=(postgresql)
if [ ${#need[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null; then
    echo "scripts/test.sh: please install ${need[*]} (no apt-get here)" >&2
    exit 1
  fi
  sudo=()
  [ "$(id -u)" = 0 ] || sudo=(sudo)
  if [[ " ${need[*]} " == *" postgresql "* ]]; then
    # Only the server binaries are wanted: no cluster of the package's own on port 5432.
    "${sudo[@]}" mkdir -p /etc/postgresql-common/createcluster.d
    echo 'create_main_cluster = false' |
      "${sudo[@]}" tee /etc/postgresql-common/createcluster.d/reelgate-tests.conf >/dev/null
  fi
  echo "scripts/test.sh: installing ${need[*]}" >&2
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${need[@]}" >/dev/null
fi

# Python tools the tests drive (moto_server for S3, …), in ./.venv.
bash scripts/pyenv.sh

exec cargo test --workspace --no-fail-fast "$@"
