#!/usr/bin/env bash
# Installs what the deployment test needs, when missing: kubernetes-validate and
# dockerfile-parse (PyPI, pinned) into target/deploy-venv, and promtool (Debian's prometheus
# package). Prints the venv path.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/python_tool.sh
version=1.37.0
venv=target/deploy-venv
ensure_python_tool "$venv" kubernetes-validate "$version" kubernetes-validate "the deployment test"
"$venv/bin/python" -c "import dockerfile_parse" 2>/dev/null \
  || "$venv/bin/pip" install --quiet --disable-pip-version-check "dockerfile-parse==2.0.1" >&2
if ! command -v promtool >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    echo "Installing promtool (prometheus)..." >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >&2 \
      || { apt-get update -qq >&2 \
           && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >&2; }
  else
    echo "error: promtool is needed for the deployment test: sudo apt-get install -y prometheus" >&2
    exit 1
  fi
fi
echo "$PWD/$venv"
