#!/usr/bin/env bash
# Install jsforce 3 (a second, independent Salesforce client) into .tools/jsforce (idempotent).
#
# tests/localorg/test_clients_jsforce.py drives the local org with it under the machine's Node.js
# (jsforce 3 needs Node 18+); the tests skip, saying why, when this folder or node is missing.
#
# Usage: scripts/install-jsforce.sh [TARGET_DIR]      (default: <repo>/.tools/jsforce)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="${1:-$repo_root/.tools/jsforce}"

if ! command -v npm >/dev/null 2>&1; then
  echo "install-jsforce: npm is required (apt-get install npm)" >&2
  exit 1
fi

mkdir -p "$target"
if [[ -f "$target/node_modules/jsforce/package.json" ]]; then
  echo "install-jsforce: already installed in $target"
else
  if [[ ! -f "$target/package.json" ]]; then
    printf '{\n  "name": "deprovision-jsforce",\n  "private": true\n}\n' > "$target/package.json"
  fi
  echo "install-jsforce: installing jsforce@3 into $target ..."
  (cd "$target" && npm install --no-audit --no-fund --loglevel=error jsforce@3)
fi
node -e "console.log('install-jsforce: jsforce ' + require('$target/node_modules/jsforce/package.json').version)"
