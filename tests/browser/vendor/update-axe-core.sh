#!/bin/sh
# Re-fetch axe-core (the accessibility engine tests/browser/test_accessibility.py injects into
# every page) from the npm registry. Change the version here, run
#   sh tests/browser/vendor/update-axe-core.sh
# and commit what changed. axe-core is MPL-2.0 (LICENSE beside it); it is only used by the
# tests, never served by the application.
set -eu
AXE_CORE=4.14.1

here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "axe-core@$AXE_CORE" >/dev/null)
tar -xzf "$work/axe-core-$AXE_CORE.tgz" -C "$work"
rm -rf "$here/axe-core"
mkdir -p "$here/axe-core"
cp "$work/package/axe.min.js" "$work/package/LICENSE" "$here/axe-core/"
echo "axe-core $AXE_CORE" > "$here/axe-core/VERSION"
