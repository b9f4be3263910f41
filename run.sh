#!/usr/bin/env bash
# The two README commands. Each installs what it needs (idempotently), then runs:
#   ./run.sh demo [ARGS]   the main job on the embedded default: a devnet seeded with stream-2025,
#                          scanned, solved and reported; exports and plots in ./loopscan-demo
#   ./run.sh test [ARGS]   the test suite (what CI runs)
set -euo pipefail
cd "$(dirname "$0")"

install() {
  # The HTML page's browser test drives Debian's Chromium (Playwright never downloads its own).
  if [ ! -x /usr/bin/chromium ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
      echo "note: the browser test needs Debian's chromium: sudo apt-get install chromium" >&2
    fi
  fi
  if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
  fi
  # Reinstall only when the project's dependency files changed since the last install.
  local stamp=.venv/.loopscan-installed digest
  digest=$(cat pyproject.toml package.json package-lock.json | sha256sum | cut -d' ' -f1)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ] || [ ! -d node_modules ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e '.[test]'
    npm ci --no-audit --no-fund --loglevel=error
    echo "$digest" > "$stamp"
  fi
}

install_test_peers() {
  # The Curve stable-NG peer, @paraswap/dex-lib, cannot come through package.json (two of its pins
  # do not resolve on the registry): its published files go to the cache, with the five packages they use.
  local peers="${LOOPSCAN_CACHE:-$HOME/.cache/loopscan}/peers"
  if [ ! -f "$peers/node_modules/@paraswap/dex-lib/package.json" ]; then
    tests/solver/peers/install_dexlib.sh "$peers" >/dev/null
  fi
}

case "${1:-}" in
  demo)
    shift
    install
    exec .venv/bin/loopscan demo "$@"
    ;;
  test)
    shift
    install
    install_test_peers
    exec .venv/bin/python -m pytest "$@"
    ;;
  *)
    echo "usage: ./run.sh demo|test [args...]" >&2
    exit 2
    ;;
esac
