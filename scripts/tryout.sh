#!/usr/bin/env bash
# A scale-out try-out on one machine, all on loopback: two app servers sharing one runs store
# behind HAProxy with cookie affinity (sticky sessions for Streamlit's websocket).
#
#   bash scripts/tryout.sh start     # then open http://127.0.0.1:8500
#   bash scripts/tryout.sh stop
#
# Settings: TRYOUT_PORT (the load balancer, 8500), TRYOUT_SERVERS (app server ports, "8601 8602"),
# TRYOUT_DIR (state: logs, pids, runs, the shared cookie secret; .tryout/). Needs Debian's haproxy
# (apt-get install -y haproxy) and the app's .venv (bash run.sh makes it).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PORT=${TRYOUT_PORT:-8500}
SERVERS=${TRYOUT_SERVERS:-"8601 8602"}
DIR=${TRYOUT_DIR:-$ROOT/.tryout}

stop() {
  for pidfile in "$DIR"/*.pid; do
    [ -e "$pidfile" ] || continue
    kill "$(cat "$pidfile")" 2>/dev/null || true
    rm -f "$pidfile"
  done
}

wait_healthy() {  # url, seconds, pid file of the process that should answer
  for _ in $(seq "$2"); do
    kill -0 "$(cat "$3")" 2>/dev/null || { echo "$1 has exited; see $DIR/*.log" >&2; return 1; }
    curl -fsS "$1/_stcore/health" >/dev/null 2>&1 && return 0
    sleep 1
  done
  echo "no answer from $1 within $2 s; see $DIR/*.log" >&2
  return 1
}

start() {
  command -v haproxy >/dev/null || { echo "haproxy is missing: apt-get install -y haproxy" >&2; exit 1; }
  [ -x .venv/bin/streamlit ] || { echo "no .venv yet: run 'bash run.sh' once first" >&2; exit 1; }
  mkdir -p "$DIR/runs"
  # Every app server must sign Streamlit's cookies (XSRF, uploads) with the same secret.
  [ -s "$DIR/cookie_secret" ] || .venv/bin/python -c "import secrets; print(secrets.token_hex(32))" > "$DIR/cookie_secret"
  local secret backends=""
  secret=$(cat "$DIR/cookie_secret")
  for port in $SERVERS; do
    STREAMLIT_SERVER_COOKIE_SECRET=$secret DIGITLAB_RUNS_DIR="$DIR/runs" PORT=$port \
      nohup bash run.sh --server.address 127.0.0.1 --server.fileWatcherType none \
      > "$DIR/app-$port.log" 2>&1 &
    echo $! > "$DIR/app-$port.pid"
    backends+="    server app$port 127.0.0.1:$port check cookie app$port"$'\n'
  done
  cat > "$DIR/haproxy.cfg" <<CFG
global
    maxconn 2000
defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout tunnel 1h
    option redispatch
    retries 2
frontend digitlab
    bind 127.0.0.1:$PORT
    default_backend apps
backend apps
    balance roundrobin
    cookie DIGITLAB_SERVER insert indirect nocache
    option httpchk GET /_stcore/health
    http-check expect status 200
    default-server inter 1s fall 2 rise 2
$backends
CFG
  haproxy -f "$DIR/haproxy.cfg" -db > "$DIR/haproxy.log" 2>&1 &
  echo $! > "$DIR/haproxy.pid"
  for port in $SERVERS; do wait_healthy "http://127.0.0.1:$port" 120 "$DIR/app-$port.pid"; done
  wait_healthy "http://127.0.0.1:$PORT" 30 "$DIR/haproxy.pid"
  echo "Digit Lab at http://127.0.0.1:$PORT (app servers on $SERVERS; runs in $DIR/runs)"
}

case "${1:-}" in
  start) stop; start ;;
  stop) stop ;;
  *) echo "usage: bash scripts/tryout.sh start|stop" >&2; exit 2 ;;
esac
