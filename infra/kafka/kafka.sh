#!/usr/bin/env bash
# A throwaway single-node Apache Kafka (KRaft, broker+controller in one JVM) on 127.0.0.1,
# for integration tests and local runs. No Docker, no download from apache.org: the jars
# come from Maven Central through Maven (infra/kafka/pom.xml).
#
#   infra/kafka/kafka.sh fetch            # resolve the jars into the cache (idempotent)
#   infra/kafka/kafka.sh start [--keep]   # format + start + wait until ready; prints 127.0.0.1:PORT
#   infra/kafka/kafka.sh stop  [--keep]   # stop the broker we started; wipe its data unless --keep
#   infra/kafka/kafka.sh status           # exit 0 and print the bootstrap address if running
#
# Environment (all optional):
#   PULSEWIRE_KAFKA_VERSION        Kafka version (default below; must be on Maven Central)
#   PULSEWIRE_CACHE                cache root (default $HOME/.cache/pulsewire); jars go to
#                                  $PULSEWIRE_CACHE/kafka-<version>/libs
#   PULSEWIRE_KAFKA_DIR            state dir: config, data, log, pid, bootstrap
#                                  (default /tmp/pulsewire-kafka)
#   PULSEWIRE_KAFKA_PORT           client port (default: a free port)
#   PULSEWIRE_KAFKA_HEAP_OPTS      JVM heap flags (default "-Xms256m -Xmx512m")
#   PULSEWIRE_KAFKA_START_TIMEOUT  seconds to wait for readiness (default 90)
#   PULSEWIRE_KAFKA_STOP_TIMEOUT   seconds between SIGTERM and SIGKILL (default 30)
#   PULSEWIRE_KAFKA_KEEP=1         same as --keep
#   PULSEWIRE_MVN_ARGS             extra Maven args for fetch (e.g. -Dmaven.repo.local=/tmp/m2)
#   PULSEWIRE_KAFKA_SASL_SSL_DIR   adds a SASL_SSL client listener (its address is written to
#                                  <state dir>/bootstrap.sasl_ssl) from two files in this dir:
#                                  keystore.pem (the broker's unencrypted PKCS#8 key, then its
#                                  certificate chain) and users ("name password" per line: SCRAM-
#                                  SHA-512/256 credentials added at format time, and PLAIN users).
#                                  The PLAINTEXT listener stays, for the inter-broker link and the probe.
#   PULSEWIRE_KAFKA_ACLS=1         with the above: StandardAuthorizer enforces ACLs on the SASL_SSL
#                                  listener; the PLAINTEXT one (loopback, ANONYMOUS) is the super user
#                                  that sets them.
#   JAVA, MVN                      the java / mvn executables (default: from PATH)
set -euo pipefail

KAFKA_VERSION="${PULSEWIRE_KAFKA_VERSION:-4.4.0}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE_ROOT="${PULSEWIRE_CACHE:-${HOME:-/tmp}/.cache/pulsewire}"
KAFKA_HOME="$CACHE_ROOT/kafka-$KAFKA_VERSION"
LIBS="$KAFKA_HOME/libs"
STATE="${PULSEWIRE_KAFKA_DIR:-/tmp/pulsewire-kafka}"
HEAP_OPTS="${PULSEWIRE_KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
START_TIMEOUT="${PULSEWIRE_KAFKA_START_TIMEOUT:-90}"
STOP_TIMEOUT="${PULSEWIRE_KAFKA_STOP_TIMEOUT:-30}"
JAVA="${JAVA:-java}"
MVN="${MVN:-mvn}"
PYTHON="${PYTHON:-python3}"

PID_FILE="$STATE/kafka.pid"
BOOTSTRAP_FILE="$STATE/bootstrap"
SASL_SSL_DIR="${PULSEWIRE_KAFKA_SASL_SSL_DIR:-}"
SASL_SSL_BOOTSTRAP_FILE="$STATE/bootstrap.sasl_ssl"
CONF="$STATE/server.properties"
LOG4J_CONF="$STATE/log4j2.properties"
DATA="$STATE/data"
LOG="$STATE/kafka.log"

log() { printf '[kafka.sh] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

need() { command -v "$1" >/dev/null 2>&1 || die "'$1' not found on PATH ($2)"; }

# ---------------------------------------------------------------- fetch
cmd_fetch() {
  if [[ -f "$KAFKA_HOME/.complete" ]]; then
    log "kafka $KAFKA_VERSION already in $LIBS"
    return 0
  fi
  need "$MVN" "Maven is needed to fetch the Kafka jars"
  need "$JAVA" "Java 17+ is needed to run Kafka"
  local t0 tmp
  t0=$(now)
  mkdir -p "$KAFKA_HOME"
  tmp="$(mktemp -d "$KAFKA_HOME/.libs.XXXXXX")"
  log "resolving org.apache.kafka:kafka_2.13:$KAFKA_VERSION with Maven ..."
  # shellcheck disable=SC2086  # PULSEWIRE_MVN_ARGS is a list of words on purpose
  if ! "$MVN" -B -q -Dstyle.color=never -f "$HERE/pom.xml" ${PULSEWIRE_MVN_ARGS:-} \
      -Dkafka.version="$KAFKA_VERSION" \
      dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp" 2>&1 \
      | sed -u 's/\x1b\[[0-9;]*m//g' >&2; then
    rm -rf "$tmp"
    die "mvn dependency:copy-dependencies failed"
  fi
  ls "$tmp"/kafka_2.13-"$KAFKA_VERSION".jar >/dev/null 2>&1 || { rm -rf "$tmp"; die "kafka_2.13-$KAFKA_VERSION.jar missing after Maven ran"; }
  rm -rf "$LIBS"
  mv "$tmp" "$LIBS"
  echo "$KAFKA_VERSION" > "$KAFKA_HOME/.complete"
  log "fetched $(ls "$LIBS" | wc -l) jars ($(du -sh "$LIBS" | cut -f1)) into $LIBS in $(elapsed "$t0")s"
}

# ---------------------------------------------------------------- helpers
free_port() {
  "$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

port_busy() {
  "$PYTHON" -c 'import socket,sys; s=socket.socket(); s.settimeout(0.5); sys.exit(0 if s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0 else 1)' "$1"
}

# Kafka's Uuid in its text form: 16 random bytes, base64url without padding. Never one that starts with
# "-" (1 in 64): kafka-storage would read "-t -x..." as a missing value. Kafka's own Uuid.randomUuid
# draws again for the same reason.
random_cluster_id() {
  "$PYTHON" -c 'import base64, os
while True:
    u = base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode()
    if not u.startswith("-"):
        print(u)
        break'
}

# The pid in the pid file, if that process is alive and is the broker of this state dir.
our_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid="$(cat "$PID_FILE")"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  if [[ -r "/proc/$pid/cmdline" ]]; then
    # no pipe into grep -q: under pipefail its early exit could SIGPIPE the writer
    [[ "$(tr '\0' ' ' < "/proc/$pid/cmdline")" == *"kafka.Kafka $CONF"* ]] || return 1
  fi
  echo "$pid"
}

wipe_state() {
  # Only what this script creates: never rm -rf "$STATE" itself (it may be a user-chosen dir).
  rm -rf "$DATA"
  rm -f "$CONF" "$LOG4J_CONF" "$LOG" "$PID_FILE" "$BOOTSTRAP_FILE" "$SASL_SSL_BOOTSTRAP_FILE" "$STATE/cluster_id"
  rmdir "$STATE" 2>/dev/null || true
}

# The PEM blocks of keystore.pem from the first line matching $1 to the end (or to the key's END
# line), as one properties value: continuation lines, which Kafka's PEM parser reads as one.
pem_value() {
  awk -v start="$1" '
    $0 ~ start { on = 1 }
    on { printf "%s%s", (n++ ? " \\\n" : ""), $0 }
    on && /-----END .*PRIVATE KEY-----/ { exit }' "$SASL_SSL_DIR/keystore.pem"
}

# The SASL_SSL listener's settings (appended to server.properties with PULSEWIRE_KAFKA_SASL_SSL_DIR).
sasl_ssl_config() {
  local plain_users="" name password
  while read -r name password; do
    [[ -n "$name" ]] && plain_users+=" user_$name=\"$password\""
  done < "$SASL_SSL_DIR/users"
  cat <<EOF

# SASL_SSL client listener (PULSEWIRE_KAFKA_SASL_SSL_DIR)
sasl.enabled.mechanisms=SCRAM-SHA-512,SCRAM-SHA-256,PLAIN
listener.name.sasl_ssl.ssl.keystore.type=PEM
listener.name.sasl_ssl.ssl.keystore.key=$(pem_value 'BEGIN PRIVATE KEY')
listener.name.sasl_ssl.ssl.keystore.certificate.chain=$(pem_value 'BEGIN CERTIFICATE')
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required$plain_users;
EOF
  if [[ "${PULSEWIRE_KAFKA_ACLS:-0}" == 1 ]]; then
    cat <<EOF
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:ANONYMOUS
EOF
  fi
}

# StorageTool format's --add-scram arguments, one line each, for every user and mechanism.
scram_args() {
  local name password
  while read -r name password; do
    [[ -n "$name" ]] || continue
    printf '%s\n' --add-scram "SCRAM-SHA-512=[name=$name,password=$password]" \
                  --add-scram "SCRAM-SHA-256=[name=$name,password=$password]"
  done < "$SASL_SSL_DIR/users"
}

write_config() {
  local port="$1" cport="$2" sport="${3:-}"
  local listeners="PLAINTEXT://127.0.0.1:$port" protocols="PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
  if [[ -n "$sport" ]]; then
    listeners+=",SASL_SSL://127.0.0.1:$sport"
    protocols+=",SASL_SSL:SASL_SSL"
  fi
  cat > "$CONF" <<EOF
# Written by infra/kafka/kafka.sh: one node, broker + controller, loopback only.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=$listeners,CONTROLLER://127.0.0.1:$cport
advertised.listeners=$listeners
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=$protocols
log.dirs=$DATA

num.partitions=1
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=true
delete.topic.enable=true

offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0

# A small machine (2 cores): few threads.
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
background.threads=4
EOF
  [[ -z "$sport" ]] || sasl_ssl_config >> "$CONF"
  cat > "$LOG4J_CONF" <<EOF
status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.out.ref = OUT
logger.state.name = state.change.logger
logger.state.level = warn
logger.request.name = kafka.request.logger
logger.request.level = warn
logger.controller.name = org.apache.kafka.controller
logger.controller.level = info
EOF
}

# ---------------------------------------------------------------- start
cmd_start() {
  local keep="${PULSEWIRE_KAFKA_KEEP:-0}"
  [[ "${1:-}" == "--keep" ]] && keep=1
  local pid
  if pid="$(our_pid)"; then
    log "already running (pid $pid)"
    cat "$BOOTSTRAP_FILE"
    return 0
  fi
  [[ -f "$KAFKA_HOME/.complete" ]] || die "kafka $KAFKA_VERSION not fetched: run '$0 fetch' first"
  need "$JAVA" "Java 17+ is needed to run Kafka"
  need "$PYTHON" "python3 is used to pick ports and probe readiness"

  local t0 port cport cluster_id
  t0=$(now)
  mkdir -p "$STATE"
  if [[ "$keep" == 1 && -f "$DATA/meta.properties" ]]; then
    log "reusing the data in $DATA (--keep)"
  else
    rm -rf "$DATA"
  fi
  if [[ -n "${PULSEWIRE_KAFKA_PORT:-}" ]]; then
    port="$PULSEWIRE_KAFKA_PORT"
    port_busy "$port" && die "127.0.0.1:$port is already in use (PULSEWIRE_KAFKA_PORT)"
  else
    port="$(free_port)"
  fi
  cport="$(free_port)"
  while [[ "$cport" == "$port" ]]; do cport="$(free_port)"; done
  local sport="" scram=()
  if [[ -n "$SASL_SSL_DIR" ]]; then
    [[ -f "$SASL_SSL_DIR/keystore.pem" && -f "$SASL_SSL_DIR/users" ]] \
      || die "PULSEWIRE_KAFKA_SASL_SSL_DIR=$SASL_SSL_DIR needs keystore.pem and users"
    sport="$(free_port)"
    while [[ "$sport" == "$port" || "$sport" == "$cport" ]]; do sport="$(free_port)"; done
    mapfile -t scram < <(scram_args)
  fi
  write_config "$port" "$cport" "$sport"

  local jvm=(-cp "$LIBS/*" -Djava.awt.headless=true
             "-Dlog4j2.configurationFile=$LOG4J_CONF" "-Dkafka.logs.dir=$STATE")
  if [[ ! -f "$DATA/meta.properties" ]]; then
    cluster_id="$(random_cluster_id)"
    echo "$cluster_id" > "$STATE/cluster_id"
    "$JAVA" "${jvm[@]}" -Xmx256m kafka.tools.StorageTool format \
        -t "$cluster_id" -c "$CONF" "${scram[@]}" >>"$LOG" 2>&1 \
      || { tail -n 30 "$LOG" >&2; die "StorageTool format failed (log: $LOG)"; }
  fi

  # shellcheck disable=SC2086  # HEAP_OPTS is a list of words on purpose
  nohup "$JAVA" $HEAP_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
      "${jvm[@]}" kafka.Kafka "$CONF" >>"$LOG" 2>&1 </dev/null &
  pid=$!
  echo "$pid" > "$PID_FILE"

  local deadline=$(( $(date +%s) + START_TIMEOUT )) info
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 40 "$LOG" >&2
      rm -f "$PID_FILE"
      die "the broker exited during start (log: $LOG)"
    fi
    if port_busy "$port" && info="$("$PYTHON" "$HERE/probe.py" 127.0.0.1 "$port" 2 2>/dev/null)"; then
      break
    fi
    if (( $(date +%s) >= deadline )); then
      tail -n 40 "$LOG" >&2
      kill -KILL "$pid" 2>/dev/null || true
      rm -f "$PID_FILE"
      die "not ready after ${START_TIMEOUT}s (log: $LOG)"
    fi
    sleep 0.2
  done
  echo "127.0.0.1:$port" > "$BOOTSTRAP_FILE"
  [[ -z "$sport" ]] || echo "127.0.0.1:$sport" > "$SASL_SSL_BOOTSTRAP_FILE"
  log "kafka $KAFKA_VERSION ready in $(elapsed "$t0")s: pid $pid, 127.0.0.1:$port, $info, state $STATE"
  echo "127.0.0.1:$port"
}

# ---------------------------------------------------------------- stop
cmd_stop() {
  local keep="${PULSEWIRE_KAFKA_KEEP:-0}"
  [[ "${1:-}" == "--keep" ]] && keep=1
  local pid
  if pid="$(our_pid)"; then
    local t0 deadline
    t0=$(now)
    kill -TERM "$pid" 2>/dev/null || true
    deadline=$(( $(date +%s) + STOP_TIMEOUT ))
    while kill -0 "$pid" 2>/dev/null; do
      if (( $(date +%s) >= deadline )); then
        log "pid $pid still alive after ${STOP_TIMEOUT}s: SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        break
      fi
      sleep 0.2
    done
    # Reap it if it is our child (it is not, normally: start ran in another shell).
    wait "$pid" 2>/dev/null || true
    log "stopped pid $pid in $(elapsed "$t0")s"
  else
    log "not running"
  fi
  rm -f "$PID_FILE" "$BOOTSTRAP_FILE"
  if [[ "$keep" == 1 ]]; then
    log "kept $STATE"
  elif [[ -d "$STATE" ]]; then
    wipe_state
  fi
}

# ---------------------------------------------------------------- status
cmd_status() {
  local pid
  if pid="$(our_pid)"; then
    echo "running pid=$pid bootstrap=$(cat "$BOOTSTRAP_FILE" 2>/dev/null || echo '?') version=$KAFKA_VERSION state=$STATE"
    return 0
  fi
  echo "not running (state=$STATE)"
  return 1
}

case "${1:-}" in
  fetch)  shift; cmd_fetch "$@" ;;
  start)  shift; cmd_start "$@" ;;
  stop)   shift; cmd_stop "$@" ;;
  status) shift; cmd_status "$@" ;;
  *) sed -n '2,34p' "$0" >&2; exit 2 ;;
esac
