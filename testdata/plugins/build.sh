#!/bin/sh
# Rebuilds the example plugins' modules from plugins/examples. The modules
# are checked in so that tests need no wasm build; TestExamplePluginsUpToDate
# fails when a source changed and this was not run. -trimpath keeps the
# bytes independent of where the repository is checked out.
# An argument writes the modules to another folder (the test does).
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
cd "$here/../.."
# What the modules were built from, for TestExamplePluginsUpToDate: the Go
# version, and a digest of every non-test Go source under plugins/ (a
# source changed without a rebuild fails the test whatever Go runs it).
go env GOVERSION > "$out/GOVERSION"
find plugins -name '*.go' ! -name '*_test.go' | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -d' ' -f1 > "$out/SOURCES"

# plugin/ is each example's module; jsonplugin/, where there is one, the
# same logic on encoding/json, for the benchmarks.
for dir in plugins/examples/*/plugin plugins/examples/*/jsonplugin; do
	[ -d "$dir" ] || continue
	name="$(basename "$(dirname "$dir")")"
	[ "$(basename "$dir")" = jsonplugin ] && name="$name-json"
	GOOS=wasip1 GOARCH=wasm go build -trimpath -buildmode=c-shared -o "$out/$name.wasm" "./$dir"
done
