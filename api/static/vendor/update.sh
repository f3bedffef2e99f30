#!/bin/sh
# Re-fetch the API documentation's scripts and styles from the npm registry, so /docs and
# /redoc work with no internet (api/routes/docs.py serves them). Change a version here, run
#   sh api/static/vendor/update.sh
# from anywhere, and commit what changed (the served URLs name the versions).
set -eu
SWAGGER_UI=5.36.0   # swagger-ui-dist, Apache-2.0
REDOC=2.5.2         # redoc, MIT

here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fetch() {  # package version destination files...
    package=$1 version=$2 dest=$3
    shift 3
    (cd "$work" && npm pack --silent "$package@$version" >/dev/null)
    mkdir -p "$work/$package"
    tar -xzf "$work/$package-$version.tgz" -C "$work/$package"
    rm -rf "${here:?}/$dest"
    mkdir -p "$here/$dest"
    for f in "$@"; do
        cp "$work/$package/package/$f" "$here/$dest/$(basename "$f")"
    done
    echo "$package $version" > "$here/$dest/VERSION"
}

fetch swagger-ui-dist "$SWAGGER_UI" swagger-ui \
    swagger-ui-bundle.js swagger-ui.css favicon-32x32.png LICENSE NOTICE
fetch redoc "$REDOC" redoc \
    bundles/redoc.standalone.js bundles/redoc.standalone.js.LICENSE.txt LICENSE
# Redoc's menu shows Redocly's logo from their CDN, always (no option turns it off); with no
# internet it fails and hides itself. Point it at an empty image so the page never asks
# another host for anything (the browser tests refuse any such request).
sed -i 's#https://cdn\.redoc\.ly/redoc/logo-mini\.svg#data:,#g' "$here/redoc/redoc.standalone.js"
if grep -q 'cdn\.redoc\.ly' "$here/redoc/redoc.standalone.js"; then
    echo "redoc $REDOC still loads from cdn.redoc.ly: look at update.sh's patch" >&2
    exit 1
fi
echo "swagger-ui-dist $SWAGGER_UI and redoc $REDOC are in $here"
