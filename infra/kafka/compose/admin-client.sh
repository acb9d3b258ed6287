# Sourced by broker.sh and users-and-acls.sh: the admin's client settings for the Kafka CLI tools
# (SASL_SSL, PLAIN, trusting the compose CA), in a file only this container's user can read.
# PULSEWIRE_KAFKA_ADMIN_PASSWORD comes from the environment (compose: KAFKA_ADMIN_PASSWORD in .env).
ADMIN_CONFIG="${ADMIN_CONFIG:-/tmp/admin.properties}"
(
  umask 077
  cat > "$ADMIN_CONFIG" <<PROPS
security.protocol=SASL_SSL
sasl.mechanism=PLAIN
sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="$PULSEWIRE_KAFKA_ADMIN_PASSWORD";
ssl.truststore.type=PEM
ssl.truststore.location=/tls/ca.pem
PROPS
)
