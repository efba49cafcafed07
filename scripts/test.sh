#!/usr/bin/env bash
# Set up the environment with the test dependencies and run the whole test suite.
# Extra arguments go to pytest, for example: bash scripts/test.sh -k loading
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$repo_root/scripts/setup_env.sh" requirements-dev.txt
venv="${ERROR_ANALYSIS_VENV:-$repo_root/.venv}"

cd "$repo_root"
exec "$venv/bin/python" -m pytest "$@"
