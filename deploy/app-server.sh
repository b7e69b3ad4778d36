#!/usr/bin/env bash
# An app server that trains on a Ray cluster: join the cluster with a raylet that offers no CPUs
# or GPUs (ray.init needs one on this machine), then start Streamlit. RAY_HEAD names the head
# (host, or host:port), RAY_AUTH_TOKEN the cluster's token; everything else as in docs/class.md.
set -euo pipefail
: "${RAY_HEAD:?set RAY_HEAD to the Ray head's host}"
case "$RAY_HEAD" in *:*) head=$RAY_HEAD ;; *) head=$RAY_HEAD:6379 ;; esac
export RAY_AUTH_MODE=token DIGITLAB_RAY_ADDRESS=$head
ray start --address="$head" --num-cpus=0 --num-gpus=0 --disable-usage-stats
exec streamlit run streamlit_app.py --server.port "${PORT:-8501}" --server.headless true
