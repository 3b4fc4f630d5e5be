#!/usr/bin/env bash
# Creates or updates ./.venv with the Python tools the tests use (scripts/python-requirements.txt).
# Tests look for them under <repo>/.venv/bin and fail loudly when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
stamp=.venv/.requirements.sha256
want=$(sha256sum scripts/python-requirements.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -r scripts/python-requirements.txt
  echo "$want" > "$stamp"
fi
