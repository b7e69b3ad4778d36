#!/usr/bin/env bash
# A local Ray head for a try-out and for the tests: listens on 127.0.0.1 only, token auth on.
#
#   bash scripts/ray_cluster.sh start    # start it (2 CPUs unless DIGITLAB_RAY_CPUS says otherwise)
#   bash scripts/ray_cluster.sh env      # the settings an app server needs, as `export` lines
#   bash scripts/ray_cluster.sh stop     # stop it
#
# Settings (environment): DIGITLAB_RAY_DIR (state: token, logs; default /tmp/digitlab-ray),
# DIGITLAB_RAY_PORT (the head's GCS port, default 6379), DIGITLAB_RAY_CPUS (default 2),
# DIGITLAB_RAY_GPUS (default 0). Workers find the app's code through PYTHONPATH (this checkout).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
STATE="${DIGITLAB_RAY_DIR:-/tmp/digitlab-ray}"
PORT="${DIGITLAB_RAY_PORT:-6379}"
RAY="${RAY:-$ROOT/.venv/bin/ray}"  # RAY and PYTHON: another virtual environment's
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
TOKEN="$STATE/auth_token"

export RAY_AUTH_MODE=token RAY_AUTH_TOKEN_PATH="$TOKEN"
export RAY_USAGE_STATS_ENABLED=0
# Ray's own temporary folder (sockets, logs): short, so that its socket paths stay under 108 bytes.
TEMP="$STATE/r"

free_port() {
  "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

case "${1:-}" in
  start)
    mkdir -p "$STATE"
    chmod 700 "$STATE"
    if [ ! -s "$TOKEN" ]; then
      (umask 077 && "$PYTHON" -c 'import secrets; print(secrets.token_hex(32), end="")' >"$TOKEN")
    fi
    # Every port this node opens is on loopback; the fixed default ports are moved to free ones so
    # that a try-out and a test run on one machine do not collide.
    # RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 keeps Ray from swapping 127.0.0.1 for the machine's
    # address (it then binds every server to loopback); DIGITLAB_RAY_CLUSTER marks this cluster's
    # processes for `stop`.
    DIGITLAB_RAY_CLUSTER="$STATE" RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 \
      PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" "$RAY" start --head \
      --node-ip-address=127.0.0.1 --port="$PORT" \
      --num-cpus="${DIGITLAB_RAY_CPUS:-2}" --num-gpus="${DIGITLAB_RAY_GPUS:-0}" \
      --include-dashboard=false --dashboard-agent-listen-port="$(free_port)" \
      --ray-client-server-port="$(free_port)" \
      --temp-dir="$TEMP" --disable-usage-stats "${@:2}"
    ;;
  env)
    echo "export DIGITLAB_RAY_ADDRESS=127.0.0.1:$PORT"
    echo "export RAY_AUTH_MODE=token RAY_AUTH_TOKEN_PATH=$TOKEN"
    ;;
  stop)
    # Only this cluster's processes: `ray stop` alone would end every Ray on the machine.
    # Ray renames some of its processes (which hides their environment too), so this cluster's
    # are those marked in their environment and everything they started.
    "$PYTHON" - "DIGITLAB_RAY_CLUSTER=$STATE" <<'PY'
import os, signal, sys, time
mark = sys.argv[1].encode()
def ours():
    parent, marked = {}, set()
    for pid in map(int, filter(str.isdigit, os.listdir("/proc"))):
        try:
            stat = open(f"/proc/{pid}/stat").read()
            environ = open(f"/proc/{pid}/environ", "rb").read().split(b"\0")
        except OSError:
            continue
        state, ppid = stat.rsplit(")", 1)[1].split()[:2]
        if state != "Z":
            parent[pid] = int(ppid)
            if mark in environ:
                marked.add(pid)
    found = set(marked)
    while True:
        more = {pid for pid, ppid in parent.items() if ppid in found} - found
        if not more:
            return found
        found |= more
for sig, wait in ((signal.SIGTERM, 2), (signal.SIGKILL, 5)):
    for pid in ours():
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
    deadline = time.time() + wait
    while (left := ours()) and time.time() < deadline:
        time.sleep(0.2)
PY
    ;;
  *)
    echo "usage: $0 start|env|stop" >&2
    exit 2
    ;;
esac
