#!/usr/bin/env bash
# Installs the pinned Schemathesis into target/schemathesis-venv when it is missing, and
# prints the path of its executable. Used by test.sh; the contract test runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/python_tool.sh
venv=target/schemathesis-venv
ensure_python_tool "$venv" schemathesis 4.32.5 schemathesis "the API contract test"
echo "$PWD/$venv/bin/schemathesis"
