#!/bin/sh
# One-shot (docker-compose.yml service "tls-init"): a private CA and server certificates for Kafka and
# ClickHouse, written into the "tls" volume at $TLS_DIR. Runs once: an existing CA is kept, so
# clients that trust it keep working across restarts. Needs only openssl (the pulsewire image has it).
#
#   ca.pem                     the CA certificate: what clients trust (PULSEWIRE_BROKER_CA_FILE,
#                              PULSEWIRE_STORE_CA_FILE, Grafana's data source)
#   kafka.pem, kafka.key       the broker's certificate (kafka, localhost) and PKCS#8 key
#   kafka.p12                  both as the PKCS#12 keystore the apache/kafka image requires, locked
#   kafka-keystore.password    with a random password written here (the image reads both files)
#   clickhouse.pem, .key       the ClickHouse server's certificate (clickhouse, localhost) and key
# The CA's private key never leaves this container's volume path ca/ (mode 0700, root only).
set -eu
TLS_DIR="${TLS_DIR:-/tls}"
DAYS="${TLS_DAYS:-825}"
umask 077
mkdir -p "$TLS_DIR/ca"

if [ ! -f "$TLS_DIR/ca.pem" ]; then
  openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -sha256 -days 3650 \
    -subj "/CN=pulsewire compose CA" -keyout "$TLS_DIR/ca/ca.key" -out "$TLS_DIR/ca.pem" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" -addext "keyUsage=critical,keyCertSign,cRLSign"
  echo "tls-init: new CA in $TLS_DIR/ca.pem"
fi

# $1: name (also the host name in the compose network); $2: uid that must read the key
server_cert() {
  [ -f "$TLS_DIR/$1.pem" ] && return 0
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$TLS_DIR/$1.key"
  openssl req -new -key "$TLS_DIR/$1.key" -subj "/CN=$1" -out "$TLS_DIR/ca/$1.csr"
  printf 'subjectAltName=DNS:%s,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=critical,CA:FALSE\n' "$1" \
    > "$TLS_DIR/ca/$1.ext"
  openssl x509 -req -in "$TLS_DIR/ca/$1.csr" -CA "$TLS_DIR/ca.pem" -CAkey "$TLS_DIR/ca/ca.key" -CAserial "$TLS_DIR/ca/ca.srl" -CAcreateserial \
    -days "$DAYS" -sha256 -extfile "$TLS_DIR/ca/$1.ext" -out "$TLS_DIR/$1.pem"
  chown "$2" "$TLS_DIR/$1.key"
  chmod 0400 "$TLS_DIR/$1.key"
  echo "tls-init: certificate for $1"
}

server_cert kafka 1000       # apache/kafka runs as uid 1000 (appuser)
if [ ! -f "$TLS_DIR/kafka.p12" ]; then
  openssl rand -hex 24 > "$TLS_DIR/kafka-keystore.password"
  openssl pkcs12 -export -name kafka -in "$TLS_DIR/kafka.pem" -inkey "$TLS_DIR/kafka.key" \
    -passout "file:$TLS_DIR/kafka-keystore.password" -out "$TLS_DIR/kafka.p12"
  chown 1000 "$TLS_DIR/kafka.p12" "$TLS_DIR/kafka-keystore.password"
  chmod 0400 "$TLS_DIR/kafka.p12" "$TLS_DIR/kafka-keystore.password"
fi
server_cert clickhouse 101   # clickhouse/clickhouse-server runs as uid 101
chmod 0644 "$TLS_DIR/ca.pem" "$TLS_DIR/kafka.pem" "$TLS_DIR/clickhouse.pem"
chmod 0755 "$TLS_DIR"
