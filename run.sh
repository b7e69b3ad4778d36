#!/usr/bin/env bash
# Set up a virtual environment (first time only) and start Digit Lab at http://localhost:8501.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -x .venv/bin/streamlit ] || [ requirements.txt -nt .venv/.installed ]; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet --upgrade pip
  .venv/bin/pip install --quiet -r requirements.txt
  touch .venv/.installed
fi
# Two malloc heaps for the whole server, set before it starts (mallopt from inside the app comes
# after the server has made 11): with glibc's default of 8 per core, memory freed in the short-lived
# threads that run each page stays stranded in their heaps, ~9 MB more per training on a class
# server; with 2, no lasting growth (bench/memory: -0.12 MB per training over 30). One heap was no
# better (+1.5 MB), nor a fixed MALLOC_MMAP_THRESHOLD_ (+2.0 MB per training, and the whole run
# spent 7 times as long in the kernel).
export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"
exec .venv/bin/streamlit run streamlit_app.py --server.port "${PORT:-8501}" "$@"
