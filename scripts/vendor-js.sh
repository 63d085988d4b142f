#!/usr/bin/env bash
# Fetch the socket.io browser client from the npm registry into our static files.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=server/web/static/vendor
mkdir -p "$dest" build/npm
if ! command -v npm >/dev/null 2>&1; then
  echo "npm is needed once to fetch socket.io-client (apt-get install npm)" >&2
  exit 1
fi
(cd build/npm && npm pack --silent socket.io-client@4.8.1 >/dev/null && tar xzf socket.io-client-4.8.1.tgz)
cp build/npm/package/dist/socket.io.min.js "$dest/socket.io.min.js"
cp build/npm/package/LICENSE "$dest/socket.io.LICENSE"
echo "vendored socket.io-client 4.8.1 into $dest"
