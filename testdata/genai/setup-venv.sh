#!/usr/bin/env bash
# The venv the GenAI captures and the live instrumentation test run in (.tmp/genai-venv).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec "$here/../../scripts/python-venv.sh" genai-venv "$here/requirements.txt" \
  python -c 'import openai, opentelemetry.instrumentation.openai, opentelemetry.instrumentation.openai_v2, openinference.instrumentation.openai'
