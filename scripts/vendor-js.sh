#!/usr/bin/env bash
# Install the board's browser libraries exactly as server/web/package-lock.json pins them
# (npm ci checks every integrity hash) and copy what the board serves into its static files.
set -euo pipefail
cd "$(dirname "$0")/../server/web"
dest=static/vendor
if ! command -v npm >/dev/null 2>&1; then
  echo "npm is needed once to fetch the board's browser libraries (apt-get install npm)" >&2
  exit 1
fi
npm ci --silent --ignore-scripts --no-audit --no-fund
mkdir -p "$dest"
cp node_modules/socket.io-client/dist/socket.io.min.js "$dest/socket.io.min.js"
cp node_modules/socket.io-client/LICENSE "$dest/socket.io.LICENSE"
cp node_modules/uplot/dist/uPlot.iife.min.js "$dest/uPlot.iife.min.js"
cp node_modules/uplot/dist/uPlot.min.css "$dest/uPlot.min.css"
cp node_modules/uplot/LICENSE "$dest/uPlot.LICENSE"
version=$(node -p 'require("./node_modules/socket.io-client/package.json").version')
uplot=$(node -p 'require("./node_modules/uplot/package.json").version')
echo "vendored socket.io-client $version and uPlot $uplot into server/web/$dest"
