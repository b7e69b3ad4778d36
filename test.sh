#!/usr/bin/env bash
# Install everything the tests need (virtual environment, Chromium) and run the whole suite.
# Extra arguments go to pytest, e.g. `bash test.sh tests/test_spec.py -x`.
set -euo pipefail
cd "$(dirname "$0")"
python3 -m venv .venv
.venv/bin/pip install --quiet --upgrade pip
# Ray too (optional for a laptop, never installed by run.sh): CI runs the Ray engine's tests on a
# local cluster, and DIGITLAB_REQUIRE_RAY=1 makes them fail rather than skip without it.
.venv/bin/pip install --quiet -r requirements-dev.txt -r requirements-ray.txt
export DIGITLAB_REQUIRE_RAY=1
touch .venv/.installed
# Chromium, a font with Hangul for the Korean pages (tests/browser/test_korean.py), and HAProxy
# for the scale-out try-out (scripts/tryout.sh, tests/browser/test_scale_out.py).
if [ ! -x /usr/bin/chromium ] || ! fc-list :lang=ko 2>/dev/null | grep -q . || ! command -v haproxy >/dev/null; then
  apt-get update && apt-get install -y chromium fonts-noto-cjk haproxy
fi
.venv/bin/ruff check .
exec .venv/bin/python -m pytest "$@"
