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
exec .venv/bin/streamlit run streamlit_app.py --server.port "${PORT:-8501}" "$@"
