#!/usr/bin/env bash
# Installs the pinned Schemathesis into target/schemathesis-venv when it is missing, and
# prints the path of its executable. Used by test.sh; the contract test runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
version=4.32.5
venv=target/schemathesis-venv
if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "$version"; then
  if ! command -v python3 >/dev/null; then
    echo "error: python3 is needed for the API contract test: sudo apt-get install -y python3 python3-venv" >&2
    exit 1
  fi
  echo "Installing schemathesis $version into $venv..." >&2
  rm -rf "$venv"
  python3 -m venv "$venv" || {
    echo "error: could not create a virtualenv: sudo apt-get install -y python3-venv" >&2
    exit 1
  }
  "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$version" >&2
fi
echo "$PWD/$venv/bin/schemathesis"
