#!/usr/bin/env bash
# Set up the environment and open the dashboard on the bundled sample data.
# Extra arguments go to `streamlit run`, for example:
#   bash scripts/dashboard.sh --server.port 8600 -- --data-root /path/to/datasets
# It listens on 127.0.0.1 unless --server.address is given.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$repo_root/scripts/setup_env.sh" requirements.txt
venv="${ERROR_ANALYSIS_VENV:-$repo_root/.venv}"

cd "$repo_root"
# Listen on this machine only unless an address is given: a dashboard with a
# writable workspace should not be reachable from the network by accident.
address=(--server.address 127.0.0.1)
for argument in "$@"; do
  case "$argument" in
    --) break ;;
    --server.address | --server.address=*) address=() ;;
  esac
done
exec "$venv/bin/python" -m streamlit run dashboard.py --browser.gatherUsageStats false "${address[@]}" "$@"
