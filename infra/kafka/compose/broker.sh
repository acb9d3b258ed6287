#!/bin/sh
# The kafka service's command (docker-compose.yml): builds the SASL login settings of every listener
# (all speak SASL_SSL) from the admin password, writes the admin client config the health check
# uses, then starts the image's own launcher. The passwords thus appear in docker-compose.yml only
# as ${VAR:?} references; the TLS keystore and its password file come from the tls volume (tls-init).
# (The image's own TLS set-up runs only for listeners named SSL/SASL_SSL; ours are named by role.)
#
# Principals: admin (PLAIN, defined here: the broker's own inter-broker and controller login, the
# super user, and the CLI tools' login); pulsewire-worker and pulsewire-connector (SCRAM-SHA-512,
# created by users-and-acls.sh, which also sets the ACLs; docs/privacy.md explains them).
set -eu
. "$(dirname "$0")/admin-client.sh"

plain="org.apache.kafka.common.security.plain.PlainLoginModule required username=\"admin\" password=\"$PULSEWIRE_KAFKA_ADMIN_PASSWORD\" user_admin=\"$PULSEWIRE_KAFKA_ADMIN_PASSWORD\";"
scram="org.apache.kafka.common.security.scram.ScramLoginModule required;"
KAFKA_SSL_KEYSTORE_PASSWORD="$(cat /tls/kafka-keystore.password)"
export KAFKA_SSL_KEYSTORE_PASSWORD KAFKA_SSL_KEY_PASSWORD="$KAFKA_SSL_KEYSTORE_PASSWORD"
export KAFKA_SSL_KEYSTORE_TYPE=PKCS12 KAFKA_SSL_KEYSTORE_LOCATION=/tls/kafka.p12
export KAFKA_SSL_TRUSTSTORE_TYPE=PEM KAFKA_SSL_TRUSTSTORE_LOCATION=/tls/ca.pem
export KAFKA_LISTENER_NAME_CONTROLLER_SASL_ENABLED_MECHANISMS=PLAIN
export KAFKA_LISTENER_NAME_CONTROLLER_PLAIN_SASL_JAAS_CONFIG="$plain"
export KAFKA_LISTENER_NAME_INTERNAL_PLAIN_SASL_JAAS_CONFIG="$plain"
export KAFKA_LISTENER_NAME_EXTERNAL_PLAIN_SASL_JAAS_CONFIG="$plain"
export KAFKA_LISTENER_NAME_INTERNAL_SCRAM___SHA___512_SASL_JAAS_CONFIG="$scram"
export KAFKA_LISTENER_NAME_EXTERNAL_SCRAM___SHA___512_SASL_JAAS_CONFIG="$scram"
unset PULSEWIRE_KAFKA_ADMIN_PASSWORD
exec /etc/kafka/docker/run
