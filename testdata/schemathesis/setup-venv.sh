#!/usr/bin/env bash
# The venv schemathesis runs in (.tmp/schemathesis-venv), for the API fuzz test.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec "$here/../../scripts/python-venv.sh" schemathesis-venv "$here/requirements.txt" schemathesis --version
