#!/usr/bin/env bash
# Installs the pinned Python packages that building the `engram` module and its pytest suite
# need (python/requirements-dev.txt) into the python3 on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
PIP_ROOT_USER_ACTION=ignore python3 -m pip install -q --disable-pip-version-check -r python/requirements-dev.txt
echo "install-python-deps: ok"
