#!/usr/bin/env bash
# Regenerates the Java bindings of native/include/invconv.h with an installed jextract
# (JEXTRACT=/path/to/jextract, or `jextract` on PATH) and records the header's SHA-256, which
# BindingsUpToDateTest compares with the header to catch bindings that were not regenerated.
# The generated files are never edited by hand.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
jextract=${JEXTRACT:-$(command -v jextract || true)}
if [ -z "$jextract" ] || [ ! -x "$jextract" ]; then
  echo "generate.sh: jextract not found: set JEXTRACT or put jextract on PATH (https://github.com/openjdk/jextract)" >&2
  exit 1
fi
out="$here/src/main/java"
rm -rf "$out/dev/invconv/bindings"
mkdir -p "$out"
# Run from the header's directory so that generated comments carry no machine-specific paths.
(cd "$root/native/include" && "$jextract" --output "$out" @"$here/includes.txt" invconv.h)
(cd "$root/native/include" && sha256sum invconv.h) > "$here/invconv.h.sha256"
echo "generated $(find "$out/dev/invconv/bindings" -name '*.java' | wc -l) files; $(cat "$here/invconv.h.sha256")"
