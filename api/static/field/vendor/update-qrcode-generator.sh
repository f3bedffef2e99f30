#!/bin/sh
# Refresh the vendored QR encoder of the field app (it draws a load's ticket) from the npm
# registry.   api/static/field/vendor/update-qrcode-generator.sh [VERSION]   (default: latest)
# Copies the ES module build and writes VERSION; LICENSE holds the MIT licence its header names.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
spec="qrcode-generator@${1:-latest}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "$spec" >/dev/null && tar xzf qrcode-generator-*.tgz)
dest="$here/qrcode-generator"
mkdir -p "$dest"
cp "$tmp/package/dist/qrcode.mjs" "$dest/qrcode.js"
version=$(node -p "require('$tmp/package/package.json').version")
printf 'qrcode-generator %s (npm), MIT licence (LICENSE; the source header says so); file: dist/qrcode.mjs as qrcode.js\n' "$version" >"$dest/VERSION"
echo "vendored qrcode-generator $version into $dest"
