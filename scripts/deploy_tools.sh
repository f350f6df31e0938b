#!/usr/bin/env bash
# Installs what the deployment test needs, when missing: kubernetes-validate (PyPI, pinned)
# into target/deploy-venv, and promtool (Debian's prometheus package). Prints the venv path.
set -euo pipefail
cd "$(dirname "$0")/.."
version=1.37.0
venv=target/deploy-venv
if ! "$venv/bin/kubernetes-validate" --version 2>/dev/null | grep -q "$version"; then
  if ! command -v python3 >/dev/null; then
    echo "error: python3 is needed for the deployment test: sudo apt-get install -y python3 python3-venv" >&2
    exit 1
  fi
  echo "Installing kubernetes-validate $version into $venv..." >&2
  rm -rf "$venv"
  python3 -m venv "$venv" || {
    echo "error: could not create a virtualenv: sudo apt-get install -y python3-venv" >&2
    exit 1
  }
  "$venv/bin/pip" install --quiet --disable-pip-version-check "kubernetes-validate==$version" >&2
fi
if ! command -v promtool >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    echo "Installing promtool (prometheus)..." >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus >&2
  else
    echo "error: promtool is needed for the deployment test: sudo apt-get install -y prometheus" >&2
    exit 1
  fi
fi
echo "$PWD/$venv"
