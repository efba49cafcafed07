#!/usr/bin/env bash
# Create .venv at the repository root and install the given requirements file
# into it. Installing is skipped when the file's content has not changed since
# the last successful install, so repeated runs start fast.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
requirements="${1:-requirements.txt}"
venv="${ERROR_ANALYSIS_VENV:-$repo_root/.venv}"
python="${PYTHON:-python3}"

if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "error: Python 3.11 or newer is needed; '$python' is $("$python" --version 2>&1 || echo missing)." >&2
    echo "Install Python 3.11+ or point the PYTHON variable at it, e.g. PYTHON=python3.12." >&2
    exit 2
fi

if [ ! -x "$venv/bin/python" ]; then
    echo "Creating the virtual environment in $venv"
    "$python" -m venv "$venv"
fi

stamp="$venv/.installed-$(basename "$requirements")"
wanted="$(cat "$repo_root/requirements.txt" "$repo_root/$requirements" | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
    echo "Installing $requirements into $venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet -r "$repo_root/$requirements"
    echo "$wanted" > "$stamp"
fi
