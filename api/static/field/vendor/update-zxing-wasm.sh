#!/bin/sh
# Refresh the vendored QR decoder of the field app from the npm registry.
#   api/static/field/vendor/update-zxing-wasm.sh [VERSION]   (default: latest)
# Copies the reader's IIFE build and its WebAssembly, the licence, and writes VERSION.
# The page loads both from this server (prepareZXingModule with locateFile): never a CDN.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
spec="zxing-wasm@${1:-latest}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "$spec" >/dev/null && tar xzf zxing-wasm-*.tgz)
dest="$here/zxing-wasm"
mkdir -p "$dest"
cp "$tmp/package/dist/iife/reader/index.js" "$dest/zxing_reader.js"
cp "$tmp/package/dist/reader/zxing_reader.wasm" "$dest/zxing_reader.wasm"
cp "$tmp/package/LICENSE" "$dest/LICENSE"
version=$(node -p "require('$tmp/package/package.json').version")
printf 'zxing-wasm %s (npm), MIT licence (LICENSE); files: dist/iife/reader/index.js, dist/reader/zxing_reader.wasm\n' "$version" >"$dest/VERSION"
echo "vendored zxing-wasm $version into $dest"
echo "the service worker's cache version follows the files' contents: nothing else to change"
