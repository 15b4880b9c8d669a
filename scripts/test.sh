#!/usr/bin/env bash
# Install everything the test suite needs, then run it.
# Used as-is by CI (.ci/run); safe to re-run (every step is idempotent).
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install --quiet --disable-pip-version-check -e '.[test]'

# Headless Chromium renders the HTML diff and the audit report in tests.
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "warning: chromium is not installed; browser tests will be skipped" >&2
  fi
fi

# The real Salesforce CLI, for the sf:ALIAS connection tests.
if [ -x scripts/install-sf-cli.sh ] || [ -f scripts/install-sf-cli.sh ]; then
  bash scripts/install-sf-cli.sh || echo "warning: could not install the Salesforce CLI" >&2
fi

# jsforce 3 under the machine's Node.js: a second independent client of the local org.
if [ -f scripts/install-jsforce.sh ]; then
  bash scripts/install-jsforce.sh || echo "warning: could not install jsforce; its client tests will be skipped" >&2
fi

python3 -m pytest "$@"
