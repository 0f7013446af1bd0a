#!/usr/bin/env bash
# Builds smp-server and runs it on this machine with a self-contained configuration kept inside the
# checkout (./local-server), so nothing in /etc/opt/simplex or /var/opt/simplex is touched.
# The first run initialises the configuration and prints the server address and its QR code.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! pkg-config --exists openssl 2>/dev/null; then
  echo "OpenSSL headers are missing: installing libssl-dev and pkg-config (needs root)" >&2
  apt-get update -qq && apt-get install -y -qq libssl-dev pkg-config >/dev/null
fi

cargo build --release --locked -p smp-server
binary="$PWD/target/release/smp-server"

export SMP_SERVER_CFG_PATH="$PWD/local-server/etc"
export SMP_SERVER_LOG_PATH="$PWD/local-server/var"
port="${SMP_LOCAL_PORT:-5223}"

if [ ! -f "$SMP_SERVER_CFG_PATH/smp-server.ini" ]; then
  "$binary" init -y --fqdn localhost --no-password --disable-web
  # A local server listens on one unprivileged port; the generated file also lists 443.
  sed -i "s/^port = .*/port = $port/" "$SMP_SERVER_CFG_PATH/smp-server.ini"
fi

exec "$binary" start "$@"
