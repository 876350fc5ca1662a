#!/usr/bin/env bash
# Real Apache Kafka 4.x test broker (KRaft, combined broker+controller, one node,
# loopback only), fetched from Maven Central. No Docker, no download from anywhere
# but Maven Central.
#
#   deploy/kafka/kafka.sh fetch                          # jars -> deploy/kafka/target/lib
#   deploy/kafka/kafka.sh start [--port N] [--dir D]     # format if new, start, wait until it serves
#   deploy/kafka/kafka.sh status [--dir D]
#   deploy/kafka/kafka.sh stop [--dir D]
#   deploy/kafka/kafka.sh topics [--dir D] -- ARGS...    # org.apache.kafka.tools.TopicCommand
#
# Defaults: --port 19092 (PLAINTEXT, 127.0.0.1), controller on --port+1,
# --dir deploy/kafka/run. `start` on an existing dir keeps its data (no reformat).
# Every failure exits non-zero with a message (and the broker log tail for start).
#
# Environment:
#   KAFKA_HEAP_OPTS        default "-Xms256m -Xmx512m"
#   KAFKA_START_TIMEOUT    seconds to wait for the broker to serve (default 60)
#   KAFKA_STOP_TIMEOUT     seconds to wait after SIGTERM before SIGKILL (default 30)
#   KAFKA_MVN_ARGS         extra Maven args for fetch, e.g. -Dmaven.repo.local=/tmp/m2
#   JAVA                   java binary (default: java on PATH; needs Java 17+)
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
LIB_DIR="$SCRIPT_DIR/target/lib"
STAMP="$LIB_DIR/.fetched"
DEFAULT_DIR="$SCRIPT_DIR/run"
DEFAULT_PORT=19092
JAVA="${JAVA:-java}"
HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
START_TIMEOUT="${KAFKA_START_TIMEOUT:-60}"
STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"

log() { printf 'kafka.sh: %s\n' "$*" >&2; }
die() { printf 'kafka.sh: ERROR: %s\n' "$*" >&2; exit 1; }

usage() {
  sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

need() { command -v "$1" >/dev/null 2>&1 || die "'$1' not found on PATH ($2)"; }

check_java() {
  need "$JAVA" "Java 17+ is required"
  local v major
  v="$("$JAVA" -version 2>&1 | head -n1)"
  major="$(sed -E 's/.*version "([0-9]+)(\.[0-9]+)*.*/\1/' <<<"$v")"
  [[ "$major" =~ ^[0-9]+$ ]] || die "cannot parse java version from: $v"
  ((major >= 17)) || die "Kafka 4 needs Java 17+, found: $v"
}

# ---------------------------------------------------------------- fetch

pom_hash() { sha256sum "$SCRIPT_DIR/pom.xml" | cut -d' ' -f1; }

is_fetched() {
  [[ -f "$STAMP" ]] && [[ "$(cat "$STAMP")" == "$(pom_hash)" ]] &&
    compgen -G "$LIB_DIR/kafka_2.13-*.jar" >/dev/null
}

cmd_fetch() {
  if is_fetched; then
    log "already fetched: $(basename "$(compgen -G "$LIB_DIR/kafka_2.13-*.jar")") in $LIB_DIR"
    return 0
  fi
  need mvn "Maven 3.8+ is required to fetch Kafka from Maven Central"
  check_java
  rm -rf "$LIB_DIR"
  # shellcheck disable=SC2206
  local -a mvn_cmd=(mvn -B -q -Dstyle.color=never -f "$SCRIPT_DIR/pom.xml" ${KAFKA_MVN_ARGS:-} package)
  local t0=$SECONDS
  # Offline first: fast and network-free when ~/.m2 already has everything.
  if "${mvn_cmd[@]}" -o >/dev/null 2>&1; then
    log "fetched offline from the local Maven repository"
  else
    log "fetching Kafka and dependencies from Maven Central ..."
    rm -rf "$LIB_DIR"
    # (Debian's Maven 3.8 prints bare ANSI resets even in batch mode: strip them.)
    "${mvn_cmd[@]}" </dev/null 2>&1 | sed -u 's/\x1b\[[0-9;]*m//g' | awk 'NF' >&2 ||
      die "maven fetch failed (see output above)"
  fi
  compgen -G "$LIB_DIR/kafka_2.13-*.jar" >/dev/null || die "maven ran but $LIB_DIR has no kafka_2.13 jar"
  pom_hash >"$STAMP"
  local jars=("$LIB_DIR"/*.jar)
  log "fetched ${#jars[@]} jars into $LIB_DIR in $((SECONDS - t0))s"
}

# ---------------------------------------------------------------- helpers

# java for short-lived tools (storage format, topics): warnings to stderr only.
run_tool() {
  "$JAVA" -Xmx256m -XX:TieredStopAtLevel=1 -Xshare:auto \
    -Dlog4j2.configurationFile="$SCRIPT_DIR/config/tools-log4j2.xml" \
    -cp "$LIB_DIR/*" "$@"
}

tcp_open() { # host port
  # shellcheck disable=SC2016 # $0/$1 are expanded by the inner bash
  timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" 2>/dev/null
}

pid_alive() { # pid -> 0 if it is our Kafka JVM
  local pid="$1"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'kafka\.Kafka'
}

read_pid() { if [[ -f "$DIR/kafka.pid" ]]; then cat "$DIR/kafka.pid"; fi; }

load_state() { # sets PORT/CONTROLLER_PORT/CLUSTER_ID from $DIR/state.env if present
  if [[ -f "$DIR/state.env" ]]; then
    # shellcheck disable=SC1091
    source "$DIR/state.env"
  fi
}

log_tail() {
  local f
  for f in "$DIR/logs/kafka.out" "$DIR/logs/server.log"; do
    if [[ -s "$f" ]]; then
      printf '\n----- last 60 lines of %s -----\n' "$f" >&2
      tail -n 60 "$f" >&2
    fi
  done
}

random_cluster_id() { # 16 random bytes, base64url without padding (Kafka Uuid format)
  local id
  while :; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    [[ "$id" != -* && ${#id} -eq 22 ]] && break
  done
  printf '%s' "$id"
}

parse_opts() { # --port N --dir D [--controller-port N]; sets OPT_* ; rest in REST
  OPT_PORT="" OPT_CPORT="" DIR="$DEFAULT_DIR"
  REST=()
  while (($#)); do
    case "$1" in
      --port) OPT_PORT="${2:?--port needs a value}"; shift 2 ;;
      --port=*) OPT_PORT="${1#*=}"; shift ;;
      --controller-port) OPT_CPORT="${2:?--controller-port needs a value}"; shift 2 ;;
      --controller-port=*) OPT_CPORT="${1#*=}"; shift ;;
      --dir) DIR="${2:?--dir needs a value}"; shift 2 ;;
      --dir=*) DIR="${1#*=}"; shift ;;
      --) shift; REST=("$@"); break ;;
      -h | --help) usage; exit 0 ;;
      *) REST+=("$1"); shift ;;
    esac
  done
  for p in "$OPT_PORT" "$OPT_CPORT"; do
    [[ -z "$p" || ("$p" =~ ^[0-9]+$ && "$p" -ge 1 && "$p" -le 65535) ]] || die "invalid port: $p"
  done
  mkdir -p "$DIR"
  DIR="$(cd "$DIR" && pwd -P)"
}

write_config() {
  cat >"$DIR/server.properties" <<EOF
# Generated by deploy/kafka/kafka.sh on every start; edits are overwritten.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DIR/data

num.network.threads=3
num.io.threads=4
num.partitions=1
num.recovery.threads.per.data.dir=1

# single node
offsets.topic.replication.factor=1
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=8
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
min.insync.replicas=1
default.replication.factor=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
delete.topic.enable=true

# small, short-lived data
log.segment.bytes=16777216
log.retention.hours=24
log.retention.check.interval.ms=60000
EOF
}

# ---------------------------------------------------------------- start

cmd_start() {
  parse_opts "$@"
  ((${#REST[@]} == 0)) || die "start: unexpected arguments: ${REST[*]}"
  check_java
  cmd_fetch

  exec 9>"$DIR/.lock"
  flock -n 9 || die "another kafka.sh is starting/stopping the broker in $DIR"

  local pid
  pid="$(read_pid)"
  if [[ -n "$pid" ]] && pid_alive "$pid"; then
    die "already running in $DIR (pid $pid); run: $0 stop --dir $DIR"
  fi
  rm -f "$DIR/kafka.pid"

  PORT="" CONTROLLER_PORT="" CLUSTER_ID=""
  load_state
  local formatted=0
  [[ -f "$DIR/data/meta.properties" ]] && formatted=1
  if ((formatted)); then
    [[ -n "$CLUSTER_ID" && -n "$CONTROLLER_PORT" ]] || die "$DIR/data is formatted but $DIR/state.env is missing; remove $DIR to start fresh"
    # The controller endpoint is recorded in the KRaft voter set at format time: keep it.
    if [[ -n "$OPT_CPORT" && "$OPT_CPORT" != "$CONTROLLER_PORT" ]]; then
      die "$DIR was formatted with controller port $CONTROLLER_PORT; it cannot change (remove $DIR to start fresh)"
    fi
    PORT="${OPT_PORT:-$PORT}"
  else
    PORT="${OPT_PORT:-$DEFAULT_PORT}"
    CONTROLLER_PORT="${OPT_CPORT:-$((PORT + 1))}"
    CLUSTER_ID="$(random_cluster_id)"
  fi
  [[ "$PORT" != "$CONTROLLER_PORT" ]] || die "broker port and controller port are both $PORT"
  local p
  for p in "$PORT" "$CONTROLLER_PORT"; do
    ! tcp_open 127.0.0.1 "$p" || die "127.0.0.1:$p is already in use"
  done

  mkdir -p "$DIR/data" "$DIR/logs"
  write_config
  printf 'PORT=%s\nCONTROLLER_PORT=%s\nCLUSTER_ID=%s\n' "$PORT" "$CONTROLLER_PORT" "$CLUSTER_ID" >"$DIR/state.env"

  if ((formatted)); then
    log "reusing existing data in $DIR/data (cluster id $CLUSTER_ID)"
  else
    log "formatting $DIR/data (cluster id $CLUSTER_ID, standalone KRaft quorum)"
    run_tool kafka.tools.StorageTool format --standalone \
      --cluster-id "$CLUSTER_ID" --config "$DIR/server.properties" \
      >"$DIR/logs/format.out" 2>&1 || { cat "$DIR/logs/format.out" >&2; die "storage format failed"; }
  fi

  local t0
  t0="$(date +%s.%N)"
  # setsid: own session, so the broker outlives this script and a ^C in the caller's terminal.
  # shellcheck disable=SC2086
  setsid "$JAVA" $HEAP_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true -Dlog4j2.shutdownHookEnabled=false \
    -Dkafka.logs.dir="$DIR/logs" \
    -Dlog4j2.configurationFile="$SCRIPT_DIR/config/log4j2.xml" \
    -cp "$LIB_DIR/*" kafka.Kafka "$DIR/server.properties" \
    >>"$DIR/logs/kafka.out" 2>&1 </dev/null 9>&- &
  pid=$!
  echo "$pid" >"$DIR/kafka.pid"
  log "started pid $pid; waiting up to ${START_TIMEOUT}s for 127.0.0.1:$PORT to serve"

  local deadline=$((SECONDS + START_TIMEOUT))
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$DIR/kafka.pid"
      log_tail
      die "broker process $pid exited during startup"
    fi
    if tcp_open 127.0.0.1 "$PORT"; then
      # Metadata round trip through the real client library: listing topics
      # needs a broker that answers Metadata requests.
      if timeout 30 "$JAVA" -Xmx128m -XX:TieredStopAtLevel=1 \
        -Dlog4j2.configurationFile="$SCRIPT_DIR/config/tools-log4j2.xml" \
        -cp "$LIB_DIR/*" org.apache.kafka.tools.TopicCommand \
        --bootstrap-server "127.0.0.1:$PORT" --list >"$DIR/logs/probe.out" 2>&1; then
        break
      fi
    fi
    if ((SECONDS >= deadline)); then
      log_tail
      [[ -s "$DIR/logs/probe.out" ]] && { echo "----- probe -----" >&2; tail -n 20 "$DIR/logs/probe.out" >&2; }
      terminate "$pid" 15
      rm -f "$DIR/kafka.pid"
      die "broker did not serve on 127.0.0.1:$PORT within ${START_TIMEOUT}s (stopped it again)"
    fi
    sleep 0.5
  done
  local elapsed
  elapsed="$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}')"
  log "ready: PLAINTEXT://127.0.0.1:$PORT (controller 127.0.0.1:$CONTROLLER_PORT, pid $pid, dir $DIR) in ${elapsed}s"
  echo "127.0.0.1:$PORT"
}

# ---------------------------------------------------------------- stop / status

# SIGTERM (controlled shutdown), wait up to $2 seconds, then SIGKILL.
terminate() { # pid timeout
  local pid="$1" timeout="$2"
  log "stopping pid $pid (SIGTERM, up to ${timeout}s)"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + timeout))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    log "still running after ${timeout}s; SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    deadline=$((SECONDS + 10))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
    ! kill -0 "$pid" 2>/dev/null || die "pid $pid survived SIGKILL"
  fi
}

cmd_stop() {
  parse_opts "$@"
  exec 9>"$DIR/.lock"
  flock -w "$((STOP_TIMEOUT + 15))" 9 || die "could not take $DIR/.lock"
  local pid
  pid="$(read_pid)"
  if [[ -z "$pid" ]]; then
    log "not running (no pid file in $DIR)"
    return 0
  fi
  if ! pid_alive "$pid"; then
    log "not running (stale pid $pid); removing pid file"
    rm -f "$DIR/kafka.pid"
    return 0
  fi
  terminate "$pid" "$STOP_TIMEOUT"
  rm -f "$DIR/kafka.pid"
  log "stopped"
}

cmd_status() {
  parse_opts "$@"
  PORT="" CONTROLLER_PORT="" CLUSTER_ID=""
  load_state
  local pid
  pid="$(read_pid)"
  if [[ -n "$pid" ]] && pid_alive "$pid"; then
    if [[ -n "$PORT" ]] && tcp_open 127.0.0.1 "$PORT"; then
      echo "running: pid $pid, PLAINTEXT://127.0.0.1:$PORT, controller 127.0.0.1:$CONTROLLER_PORT, cluster $CLUSTER_ID, dir $DIR"
      return 0
    fi
    echo "starting or unhealthy: pid $pid alive but 127.0.0.1:${PORT:-?} not accepting connections (dir $DIR)"
    return 1
  fi
  echo "not running (dir $DIR)"
  return 3
}

cmd_topics() {
  parse_opts "$@"
  PORT=""
  load_state
  is_fetched || die "not fetched; run: $0 fetch"
  PORT="${OPT_PORT:-${PORT:-$DEFAULT_PORT}}"
  run_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "127.0.0.1:$PORT" "${REST[@]}"
}

main() {
  local cmd="${1:-}"
  (($#)) && shift
  case "$cmd" in
    fetch) cmd_fetch ;;
    start) cmd_start "$@" ;;
    stop) cmd_stop "$@" ;;
    status) cmd_status "$@" ;;
    topics) cmd_topics "$@" ;;
    -h | --help | help) usage ;;
    *) usage >&2; die "unknown command: '${cmd}'" ;;
  esac
}

main "$@"
