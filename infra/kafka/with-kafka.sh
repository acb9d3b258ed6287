#!/usr/bin/env bash
# Run a command with a throwaway real Kafka broker: PULSEWIRE_TEST_KAFKA=127.0.0.1:PORT is
# exported to it, and the broker is always stopped (and its data removed) afterwards.
# The command's exit status is returned unchanged.
#
#   infra/kafka/with-kafka.sh .venv/bin/pytest -q
#
# - PULSEWIRE_TEST_KAFKA already set: that broker is used; nothing is started or stopped.
# - java or mvn missing, or the broker cannot be fetched/started: the command runs without
#   PULSEWIRE_TEST_KAFKA (the real-Kafka tests skip) and a warning is printed,
#   UNLESS PULSEWIRE_REQUIRE_KAFKA=1, in which case this fails (exit 3) without running it.
# - The broker gets its own state dir (a fresh mktemp dir unless PULSEWIRE_KAFKA_DIR is set),
#   so it never touches a broker started by `make kafka-up`.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KAFKA="$HERE/kafka.sh"
REQUIRE="${PULSEWIRE_REQUIRE_KAFKA:-0}"

[[ $# -ge 1 ]] || { echo "usage: $0 COMMAND [ARGS...]" >&2; exit 2; }

unavailable() {
  if [[ "$REQUIRE" == 1 ]]; then
    echo "[with-kafka] ERROR: $1, and PULSEWIRE_REQUIRE_KAFKA=1" >&2
    exit 3
  fi
  echo "[with-kafka] WARNING: $1: the real-Kafka tests will be SKIPPED" >&2
}

if [[ -n "${PULSEWIRE_TEST_KAFKA:-}" ]]; then
  echo "[with-kafka] using the broker given in PULSEWIRE_TEST_KAFKA=$PULSEWIRE_TEST_KAFKA" >&2
  exec "$@"
fi

started=0
if ! command -v "${JAVA:-java}" >/dev/null 2>&1; then
  unavailable "java not found"
elif ! command -v "${MVN:-mvn}" >/dev/null 2>&1; then
  unavailable "mvn not found"
elif ! "$KAFKA" fetch; then
  unavailable "fetching the Kafka jars failed"
else
  export PULSEWIRE_KAFKA_DIR="${PULSEWIRE_KAFKA_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/pulsewire-kafka-test.XXXXXX")}"
  # Stop it whatever happens from here on (including Ctrl-C and a failed start).
  trap '"$KAFKA" stop || true' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  if bootstrap="$("$KAFKA" start)"; then
    export PULSEWIRE_TEST_KAFKA="$bootstrap"
    started=1
    echo "[with-kafka] real Kafka at $PULSEWIRE_TEST_KAFKA (state $PULSEWIRE_KAFKA_DIR)" >&2
  else
    unavailable "starting Kafka failed"
  fi
fi

rc=0
"$@" || rc=$?
if [[ "$started" == 1 ]]; then
  echo "[with-kafka] command exited $rc; stopping Kafka" >&2
fi
exit "$rc"
