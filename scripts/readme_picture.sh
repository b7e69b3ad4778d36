#!/usr/bin/env bash
# Make the README's picture anew: the browser test that trains a network and draws a digit takes
# it (test-artifacts/readme-draw.png); copy it to docs/images/draw.png.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python -m pytest -q tests/browser/test_training_and_drawing.py -k draw_a_one
cp test-artifacts/readme-draw.png docs/images/draw.png
echo "docs/images/draw.png updated"
