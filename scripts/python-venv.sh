#!/usr/bin/env bash
# Creates (or reuses) a Python virtual environment under .tmp/ for the tests that run a
# real Python tool: .tmp/<name>, installed from <requirements>, then checked with
# <check...> run in it. Idempotent: a venv installed from the same requirements is kept.
# Fails loudly (a missing component fails CI, never skips a test).
#   scripts/python-venv.sh NAME REQUIREMENTS CHECK...
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: $0 NAME REQUIREMENTS CHECK..." >&2; exit 2; }
root="$(cd "$(dirname "$0")/.." && pwd)"
name="$1" requirements="$2"
shift 2
venv="$root/.tmp/$name"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  echo "$name: up to date ($venv)"
  exit 0
fi
python="${PYTHON:-python3}"
command -v "$python" >/dev/null || { echo "$name: $python not found (Python 3.10+ is needed)" >&2; exit 1; }
"$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' \
  || { echo "$name: Python 3.10+ is needed, $("$python" --version)" >&2; exit 1; }
echo "$name: installing $requirements into $venv"
rm -rf "$venv"
"$python" -m venv "$venv"
timeout 600 "$venv/bin/pip" install --disable-pip-version-check -q -r "$requirements"
(cd "$venv" && PATH="$venv/bin:$PATH" "$@")
echo "$want" > "$stamp"
echo "$name: ready"
