#!/usr/bin/env bash
# Builds smp-server and runs it on this machine with a self-contained configuration kept inside the
# checkout (./local-server), so nothing in /etc/opt/simplex or /var/opt/simplex is touched.
# The first run initialises the configuration and prints the server address and its QR code.
#
# Usage: scripts/run-local-server.sh [--dir DIR] [--port PORT] [smp-server start arguments…]
#   --dir DIR    keep the configuration and state in DIR instead of ./local-server (a relative
#                DIR is taken from the current directory), e.g. to run a second server
#   --port PORT  listen on PORT (default 5223, or $SMP_LOCAL_PORT); set when DIR is initialised,
#                and written into an existing DIR's smp-server.ini when given explicitly
set -euo pipefail

dir=""
port_arg=""
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) [ $# -ge 2 ] || { echo "--dir needs a directory" >&2; exit 2; }; dir="$2"; shift 2 ;;
    --dir=*) dir="${1#--dir=}"; shift ;;
    --port) [ $# -ge 2 ] || { echo "--port needs a number" >&2; exit 2; }; port_arg="$2"; shift 2 ;;
    --port=*) port_arg="${1#--port=}"; shift ;;
    *) break ;;
  esac
done
if [ -n "$port_arg" ] && ! [[ "$port_arg" =~ ^[0-9]+$ ]]; then
  echo "--port needs a number, not '$port_arg'" >&2
  exit 2
fi
if [ -n "$dir" ]; then
  mkdir -p "$dir"
  dir="$(cd "$dir" && pwd)"
fi

cd "$(dirname "$0")/.."

if ! pkg-config --exists openssl 2>/dev/null; then
  echo "OpenSSL headers are missing: installing libssl-dev and pkg-config (needs root)" >&2
  apt-get update -qq && apt-get install -y -qq libssl-dev pkg-config >/dev/null
fi

cargo build --release --locked -p smp-server
binary="$PWD/target/release/smp-server"

dir="${dir:-$PWD/local-server}"
export SMP_SERVER_CFG_PATH="$dir/etc"
export SMP_SERVER_LOG_PATH="$dir/var"
port="${port_arg:-${SMP_LOCAL_PORT:-5223}}"
ini="$SMP_SERVER_CFG_PATH/smp-server.ini"

if [ ! -f "$ini" ]; then
  "$binary" init -y --fqdn localhost --no-password --disable-web
  # A local server listens on one unprivileged port; the generated file also lists 443.
  sed -i "s/^port = .*/port = $port/" "$ini"
elif [ -n "$port_arg" ]; then
  sed -i "s/^port = .*/port = $port/" "$ini"
fi

exec "$binary" start "$@"
