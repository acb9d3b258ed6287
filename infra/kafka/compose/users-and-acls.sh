#!/bin/sh
# One-shot (docker-compose.yml service "kafka-setup"): the SCRAM-SHA-512 users and the ACLs that
# StandardAuthorizer enforces. Idempotent: re-running sets the same passwords and adds no duplicates.
#
#   pulsewire-connector  writes events.<kind> (only connectors may write raw events: events.hr is
#                        personal data), writes events.dlq, reads and writes connectors.cursors and
#                        connectors.deliveries (webhook delivery ids)
#   pulsewire-worker     reads events.*, writes everything after validation, its consumer group
#                        and Faust's changelog topics; reads erasure requests (privacy.erasure) and
#                        answers on privacy.erasure.receipts; it never writes events.<kind>
#   pulsewire forget     runs as the admin (or a user you add with Write on privacy.erasure and Read on
#                        privacy.erasure.receipts: docs/privacy.md)
#   pulsewire-outcomes   writes alert outcomes on alerts.outcomes (the outcome webhook, `pulsewire outcome`,
#                        or a CRM / HR tool that produces them itself); reads nothing. Its user is created
#                        when PULSEWIRE_KAFKA_OUTCOMES_PASSWORD is set
#   CRM / HR systems     nothing else here: add a user per consumer (docs/privacy.md shows the commands)
set -eu
. "$(dirname "$0")/admin-client.sh"
BOOTSTRAP="${KAFKA_BOOTSTRAP:-kafka:9092}"
P="${PULSEWIRE_TOPIC_PREFIX:-}"
GROUP="${PULSEWIRE_APP_ID:-${P}pulsewire}"
KINDS="review ticket chat hr account activity"
BIN="${KAFKA_BIN:-/opt/kafka/bin}"  # the Kafka CLI tools (a test swaps in recorders of the calls)

user() {  # $1 name, $2 password
  "$BIN/kafka-configs.sh" --bootstrap-server "$BOOTSTRAP" --command-config "$ADMIN_CONFIG" --alter \
    --entity-type users --entity-name "$1" --add-config "SCRAM-SHA-512=[iterations=8192,password=$2]" >/dev/null
  echo "kafka-setup: user $1"
}
allow() {  # $1 principal, then kafka-acls resource and operation arguments
  who="$1"; shift
  "$BIN/kafka-acls.sh" --bootstrap-server "$BOOTSTRAP" --command-config "$ADMIN_CONFIG" --add --force \
    --allow-principal "User:$who" "$@" >/dev/null
}

user pulsewire-worker "$PULSEWIRE_KAFKA_WORKER_PASSWORD"
user pulsewire-connector "$PULSEWIRE_KAFKA_CONNECTOR_PASSWORD"
if [ -n "${PULSEWIRE_KAFKA_OUTCOMES_PASSWORD:-}" ]; then
  user pulsewire-outcomes "$PULSEWIRE_KAFKA_OUTCOMES_PASSWORD"
fi

# connectors: raw events in, nothing out
for kind in $KINDS; do
  allow pulsewire-connector --operation Write --operation Describe --operation Create --topic "${P}events.$kind"
done
allow pulsewire-connector --operation Write --operation Describe --operation Create --topic "${P}events.dlq"
allow pulsewire-connector --operation Read --operation Write --operation Describe --operation Create \
  --topic "${P}connectors.cursors"
allow pulsewire-connector --operation Read --operation Write --operation Describe --operation Create \
  --topic "${P}connectors.deliveries"
allow pulsewire-connector --operation IdempotentWrite --cluster

# alert outcomes from the people who act on alerts: write alerts.outcomes, nothing else
allow pulsewire-outcomes --operation Write --operation Describe --topic "${P}alerts.outcomes"
allow pulsewire-outcomes --operation IdempotentWrite --cluster

# the worker: reads raw events, never writes them
allow pulsewire-worker --operation Read --operation Describe --operation Create --operation DescribeConfigs \
  --topic "${P}events." --resource-pattern-type prefixed
allow pulsewire-worker --operation Write --topic "${P}events.valid"
allow pulsewire-worker --operation Write --topic "${P}events.dlq"
for prefix in scored. learn. models. signals. alerts. privacy.; do
  allow pulsewire-worker --operation Read --operation Write --operation Describe --operation Create \
    --operation DescribeConfigs --topic "$P$prefix" --resource-pattern-type prefixed
done
allow pulsewire-worker --operation Describe --operation Create --topic "${P}connectors.cursors"
allow pulsewire-worker --operation Describe --operation Create --topic "${P}connectors.deliveries"
# Faust: the consumer group, its changelog topics (<app id>-<table>-changelog) and its leader topic
# (<app id>-__assignor-__leader). The "-" matters: an app id may be the start of the topic prefix.
allow pulsewire-worker --operation Read --operation Describe --group "$GROUP"
allow pulsewire-worker --operation Read --operation Write --operation Describe --operation Create \
  --operation DescribeConfigs --topic "$GROUP-" --resource-pattern-type prefixed
allow pulsewire-worker --operation IdempotentWrite --operation Describe --cluster
echo "kafka-setup: ACLs in place"
"$BIN/kafka-acls.sh" --bootstrap-server "$BOOTSTRAP" --command-config "$ADMIN_CONFIG" --list | grep -c "User:" \
  | sed 's/^/kafka-setup: ACL entries: /'
