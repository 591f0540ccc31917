#!/usr/bin/env bash
# Installs what is missing (Debian 12), builds, and starts QueryLens. Without --model, it
# uses a checkpoint from the Hugging Face cache if there is one, else the bundled demo model
# (random weights: its text is meaningless, it shows how the program works).
#   bash scripts/run.sh [--model DIR] [IMAGE...]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

querylens_install_packages
querylens_build

app="$QUERYLENS_BUILD/app/querylens"
args=("$@")
if [[ " $* " != *" --model "* && -z "${QUERYLENS_MODEL:-}" ]]; then
  if [ -z "$("$app" models --quiet 2>/dev/null)" ]; then
    demo="${XDG_DATA_HOME:-$HOME/.local/share}/querylens/demo-model"
    # (Re)install it when missing or when an older, random-weight one is there.
    grep -q '"querylens_trained_demo": true' "$demo/config.json" 2>/dev/null || "$app" make-demo-model "$demo"
    args=(--model "$demo" "${args[@]}")
  fi
fi
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ] && [ -z "${QT_QPA_PLATFORM:-}" ]; then
  echo "No display found (DISPLAY and WAYLAND_DISPLAY are unset): the window needs a desktop session." >&2
  echo "The command line works without one: $app --help" >&2
  exit 1
fi
exec "$app" "${args[@]}"
