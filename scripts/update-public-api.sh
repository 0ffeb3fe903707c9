#!/usr/bin/env bash
# Adds every public API a library declares but does not list yet (the build's RS0016 errors) to that library's
# PublicAPI.Unshipped.txt, sorted. Review the diff: each line is a deliberate public change. Members that were removed
# or changed (RS0017) are deleted from the files by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
for project in src/*/*.csproj; do
  dir=$(dirname "$project")
  # --no-incremental: the analyzer reports only when the project is compiled.
  dotnet build "$project" --no-incremental -v q -p:TreatWarningsAsErrors=false 2>&1 |
    sed -n "s|^$PWD/$dir/.*warning RS0016: Symbol '\(.*\)' is not part of the declared public API.*|\1|p" |
    sed "s/&apos;/'/g; s/&lt;/</g; s/&gt;/>/g; s/&amp;/\&/g" > "$dir/.public-api-new" || true
  if [ -s "$dir/.public-api-new" ]; then
    { head -n 1 "$dir/PublicAPI.Unshipped.txt"; { tail -n +2 "$dir/PublicAPI.Unshipped.txt"; cat "$dir/.public-api-new"; } | LC_ALL=C sort -u; } > "$dir/.public-api-merged"
    mv "$dir/.public-api-merged" "$dir/PublicAPI.Unshipped.txt"
    echo "$dir: added $(wc -l < "$dir/.public-api-new") entries to PublicAPI.Unshipped.txt"
  fi
  rm -f "$dir/.public-api-new"
done
