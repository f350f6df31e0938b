#!/usr/bin/env bash
# Installs the pinned client generators the generated-clients test uses, when missing, into
# target/clientgen: openapi-python-client (PyPI) in a virtualenv, openapi-typescript (npm)
# in a node_modules folder. Prints that folder. Used by test.sh; the test runs it too.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/python_tool.sh
python_version=0.29.1
typescript_version=7.13.0
dir=target/clientgen
mkdir -p "$dir"
ensure_python_tool "$dir/venv" openapi-python-client "$python_version" openapi-python-client \
  "the generated-clients test"
if ! grep -q "\"version\": \"$typescript_version\"" \
  "$dir/node_modules/openapi-typescript/package.json" 2>/dev/null; then
  if ! command -v npm >/dev/null; then
    echo "error: npm is needed for the generated-clients test: sudo apt-get install -y npm" >&2
    exit 1
  fi
  echo "Installing openapi-typescript $typescript_version into $dir..." >&2
  npm install --silent --no-audit --no-fund --prefix "$dir" \
    "openapi-typescript@$typescript_version" "typescript@5.9.3" >&2
fi
echo "$PWD/$dir"
