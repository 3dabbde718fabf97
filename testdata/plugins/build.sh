#!/bin/sh
# Rebuilds the example plugins' modules from plugins/examples. The modules
# are checked in so that tests need no wasm build; TestExamplePluginsUpToDate
# fails when a source changed and this was not run. -trimpath keeps the
# bytes independent of where the repository is checked out.
set -eu
out="$(cd "$(dirname "$0")" && pwd)"
cd "$out/../.."
for dir in plugins/examples/*/plugin; do
	name="$(basename "$(dirname "$dir")")"
	GOOS=wasip1 GOARCH=wasm go build -trimpath -buildmode=c-shared -o "$out/$name.wasm" "./$dir"
done
