#!/usr/bin/env bash
# A scale-out try-out on one machine, all on loopback: two app servers sharing one runs store
# behind HAProxy with cookie affinity (sticky sessions for Streamlit's websocket), and, when Ray is
# installed, a real Ray head on which every training runs (no training in an app server).
#
#   bash scripts/tryout.sh start         # then open http://127.0.0.1:8500
#   bash scripts/tryout.sh revive PORT   # start the app server on PORT again (after a kill)
#   bash scripts/tryout.sh stop          # the app servers, the balancer and the Ray head
#
# Settings: TRYOUT_PORT (the load balancer, 8500), TRYOUT_SERVERS (app server ports, "8601 8602"),
# TRYOUT_DIR (state: logs, pids, runs, the shared cookie secret, the Ray head's folder; .tryout/),
# TRYOUT_RAY (1: trainings on Ray, 0: in the app servers' threads; default 1 when .venv/bin/ray
# exists: pip install -r requirements-ray.txt), TRYOUT_RAY_PORT (the head's port; a free one),
# TRYOUT_RAY_CPUS (the head's CPUs, 2: one training each). Needs Debian's haproxy
# (apt-get install -y haproxy) and the app's .venv (bash run.sh makes it).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PORT=${TRYOUT_PORT:-8500}
SERVERS=${TRYOUT_SERVERS:-"8601 8602"}
DIR=${TRYOUT_DIR:-$ROOT/.tryout}
RAY_STATE="$DIR/ray"  # the head's token, logs and sockets (keep TRYOUT_DIR short: Ray's socket
# paths under it must stay below 108 bytes)
if [ -z "${TRYOUT_RAY:-}" ]; then
  if [ -x .venv/bin/ray ]; then TRYOUT_RAY=1; else TRYOUT_RAY=0; fi
fi

ray_cluster() {  # start|env|stop of this try-out's own head (scripts/ray_cluster.sh)
  DIGITLAB_RAY_DIR="$RAY_STATE" DIGITLAB_RAY_PORT="$(cat "$DIR/ray_port")" \
    DIGITLAB_RAY_CPUS="${TRYOUT_RAY_CPUS:-2}" bash scripts/ray_cluster.sh "$@"
}

stop() {
  for pidfile in "$DIR"/*.pid; do
    [ -e "$pidfile" ] || continue
    kill "$(cat "$pidfile")" 2>/dev/null || true
    rm -f "$pidfile"
  done
  if [ -s "$DIR/ray_port" ]; then
    ray_cluster stop
    rm -f "$DIR/ray_port"
  fi
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

wait_balanced() {  # until the balancer has sent a request to every app server (its checks: ~2 s)
  local seen=" "
  for _ in $(seq 120); do
    seen+="$(curl -fsS -o /dev/null -D - "http://127.0.0.1:$PORT/_stcore/health" 2>/dev/null \
      | sed -n 's/^[Ss]et-[Cc]ookie: DIGITLAB_SERVER=app\([0-9]*\).*/\1/p' || true) "
    local missing=0
    for port in $SERVERS; do [[ "$seen" == *" $port "* ]] || missing=1; done
    [ "$missing" = 1 ] || return 0
    sleep 0.25
  done
  echo "the balancer did not send requests to every app server ($SERVERS) within 30 s" >&2
  return 1
}

start_ray() {
  [ -x .venv/bin/ray ] || { echo "TRYOUT_RAY=1 but Ray is missing: .venv/bin/pip install -r requirements-ray.txt" >&2; exit 1; }
  .venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' \
    > "$DIR/ray_port"
  [ -z "${TRYOUT_RAY_PORT:-}" ] || echo "$TRYOUT_RAY_PORT" > "$DIR/ray_port"
  ray_cluster start > "$DIR/ray.log" 2>&1 || { cat "$DIR/ray.log" >&2; exit 1; }
  ray_cluster env > "$DIR/ray.env"
  # Warm the trainer pool before any learner comes (a fresh trainer pays 10-17 s of TensorFlow
  # import): the queue and its trainers are detached actors, so they outlive this short driver.
  (
    # shellcheck disable=SC1091
    . "$DIR/ray.env"
    .venv/bin/python - <<'PY'
import time

from core.engine.ray_engine import RayEngine

engine = RayEngine()
deadline = time.monotonic() + 300
while engine.call(engine.queue.ready_count.remote()) < engine.pool["trainers"]:
    if time.monotonic() > deadline:
        raise SystemExit("the Ray trainers were not warm within 300 s")
    time.sleep(0.5)
PY
  ) >> "$DIR/ray.log" 2>&1 || { tail -20 "$DIR/ray.log" >&2; exit 1; }
}

start_server() {  # port
  (
    if [ "$TRYOUT_RAY" = 1 ]; then
      # shellcheck disable=SC1091
      . "$DIR/ray.env"  # DIGITLAB_RAY_ADDRESS and the token: trainings run on the head
    fi
    STREAMLIT_SERVER_COOKIE_SECRET=$(cat "$DIR/cookie_secret") DIGITLAB_RUNS_DIR="$DIR/runs" \
      PORT=$1 nohup bash run.sh --server.address 127.0.0.1 --server.fileWatcherType none \
      > "$DIR/app-$1.log" 2>&1 &
    echo $! > "$DIR/app-$1.pid"
  )
}

start() {
  command -v haproxy >/dev/null || { echo "haproxy is missing: apt-get install -y haproxy" >&2; exit 1; }
  [ -x .venv/bin/streamlit ] || { echo "no .venv yet: run 'bash run.sh' once first" >&2; exit 1; }
  mkdir -p "$DIR/runs"
  # Every app server must sign Streamlit's cookies (XSRF, uploads) with the same secret.
  [ -s "$DIR/cookie_secret" ] || .venv/bin/python -c "import secrets; print(secrets.token_hex(32))" > "$DIR/cookie_secret"
  [ "$TRYOUT_RAY" != 1 ] || start_ray
  local backends=""
  for port in $SERVERS; do
    start_server "$port"
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
  wait_balanced
  local where="in the app servers' threads"
  [ "$TRYOUT_RAY" != 1 ] || where="on the Ray head at $(sed -n 's/^export DIGITLAB_RAY_ADDRESS=//p' "$DIR/ray.env")"
  echo "Digit Lab at http://127.0.0.1:$PORT (app servers on $SERVERS; runs in $DIR/runs; trainings $where)"
}

revive() {  # port: an app server of this try-out started again, with the same settings
  [[ " $SERVERS " == *" ${1:-} "* ]] || { echo "usage: $0 revive PORT (one of $SERVERS)" >&2; exit 2; }
  start_server "$1"
  wait_healthy "http://127.0.0.1:$1" 120 "$DIR/app-$1.pid"
  wait_balanced
}

case "${1:-}" in
  start) stop; start ;;
  revive) revive "${2:-}" ;;
  stop) stop ;;
  *) echo "usage: bash scripts/tryout.sh start|revive PORT|stop" >&2; exit 2 ;;
esac
