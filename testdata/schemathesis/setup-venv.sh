#!/usr/bin/env bash
# Creates (or reuses) the Python virtual environment schemathesis runs in:
# .tmp/schemathesis-venv, with testdata/schemathesis/requirements.txt.
# Idempotent: a venv installed from the same requirements is kept. Fails loudly.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
venv="$root/.tmp/schemathesis-venv"
requirements="$root/testdata/schemathesis/requirements.txt"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [ -x "$venv/bin/schemathesis" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "schemathesis venv: up to date ($venv)"
  exit 0
fi
python="${PYTHON:-python3}"
command -v "$python" >/dev/null || { echo "schemathesis venv: $python not found (Python 3.10+ is needed)" >&2; exit 1; }
"$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' \
  || { echo "schemathesis venv: Python 3.10+ is needed, $("$python" --version)" >&2; exit 1; }
echo "schemathesis venv: installing $requirements into $venv"
rm -rf "$venv"
"$python" -m venv "$venv"
timeout 600 "$venv/bin/pip" install --disable-pip-version-check -q -r "$requirements"
"$venv/bin/schemathesis" --version
echo "$want" > "$stamp"
echo "schemathesis venv: ready"
