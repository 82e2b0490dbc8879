#!/usr/bin/env bash
# Run the app under Xvfb on the demo session, critique it, and save docs/screenshot.png.
# Needs: apt-get install -y xvfb plus the Qt xcb runtime libraries:
#   libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0
#   libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libxkbcommon-x11-0 libegl1 libgl1
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || PY=python3
OUT="${1:-docs/screenshot.png}"
mkdir -p "$(dirname "$OUT")"
if ! command -v xvfb-run >/dev/null 2>&1; then
    echo "xvfb-run not found: apt-get install -y xvfb" >&2
    exit 2
fi
export QT_QPA_PLATFORM=xcb MIXINGBUDDY_NO_AUDIO=1 PYQTGRAPH_QT_LIB=PySide6
xvfb-run -a -s "-screen 0 1440x960x24" "$PY" benchmarks/screenshot_app.py "$OUT"
echo "saved $OUT"
