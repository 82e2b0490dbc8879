#!/usr/bin/env bash
# Run the app under Xvfb on the demo session, critique it, and save docs/screenshot.png.
# Needs xvfb and the Qt xcb runtime libraries (the README's apt-get line):
#   apt-get install -y xvfb libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0
#     libxcb-render-util0 libxcb-shape0 libxcb-xfixes0 libxcb-xkb1 libxkbcommon-x11-0 libx11-xcb1 libegl1 libgl1
#     libfontconfig1 libdbus-1-3 libglib2.0-0
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
XCB_PLUGIN="$("$PY" -c 'import PySide6, pathlib; print(pathlib.Path(PySide6.__file__).parent / "Qt/plugins/platforms/libqxcb.so")')"
MISSING="$(ldd "$XCB_PLUGIN" 2>/dev/null | awk '/not found/ {print $1}' | tr '\n' ' ')"
if [ -n "$MISSING" ]; then
    echo "Qt's xcb platform lacks: $MISSING- install the README's apt-get line" >&2
    exit 2
fi
export QT_QPA_PLATFORM=xcb MIXINGBUDDY_NO_AUDIO=1 PYQTGRAPH_QT_LIB=PySide6
xvfb-run -a -s "-screen 0 1440x960x24" "$PY" benchmarks/screenshot_app.py "$OUT"
echo "saved $OUT"
