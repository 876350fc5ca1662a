#!/usr/bin/env bash
# Runs a command with the real test Kafka broker (deploy/kafka) available as
# KAFKA_TEST_BROKERS. Uses the broker already named there, otherwise starts one in a
# fresh directory on a free port and stops it afterwards. Fails, never skips, when the
# broker cannot start.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

if [ -n "${KAFKA_TEST_BROKERS:-}" ]; then
  exec "$@"
fi

port=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{const p=s.address().port;s.close(()=>console.log(p))})')
dir="$(mktemp -d "${TMPDIR:-/tmp}/spansift-kafka-XXXXXX")"
cleanup() {
  "$root/deploy/kafka/kafka.sh" stop --dir "$dir" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
"$root/deploy/kafka/kafka.sh" start --port "$port" --dir "$dir" >&2
export KAFKA_TEST_BROKERS="127.0.0.1:$port"
"$@"
