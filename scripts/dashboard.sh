#!/usr/bin/env bash
# Set up the environment and open the dashboard on the bundled sample data.
# Extra arguments go to `streamlit run`, for example:
#   bash scripts/dashboard.sh --server.port 8600 -- --data-root /path/to/datasets
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$repo_root/scripts/setup_env.sh" requirements.txt
venv="${ERROR_ANALYSIS_VENV:-$repo_root/.venv}"

cd "$repo_root"
exec "$venv/bin/python" -m streamlit run dashboard.py --browser.gatherUsageStats false "$@"
