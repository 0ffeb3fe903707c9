#!/usr/bin/env bash
# Brings each library's PublicAPI.Unshipped.txt in line with its code: public API the build reports as undeclared
# (RS0016) is added, declared API the build no longer finds (RS0017: removed or changed) is deleted; sorted. Review the
# diff: each line is a deliberate public change.
set -euo pipefail
cd "$(dirname "$0")/.."
for project in src/*/*.csproj; do
  dir=$(dirname "$project")
  file="$dir/PublicAPI.Unshipped.txt"
  # --no-incremental: the analyzer reports only when the project is compiled.
  log=$(dotnet build "$project" --no-incremental -v q -p:TreatWarningsAsErrors=false 2>&1 || true)
  decode() { sed "s/&apos;/'/g; s/&lt;/</g; s/&gt;/>/g; s/&amp;/\&/g" | LC_ALL=C sort -u; }
  added=$(printf '%s\n' "$log" | sed -n "s|^$PWD/$dir/.*RS0016: Symbol '\(.*\)' is not part of the declared public API.*|\1|p" | decode)
  removed=$(printf '%s\n' "$log" | sed -n "s|^$PWD/$file.*RS0017: Symbol '\(.*\)' is part of the declared API, but is either not public or could not be found.*|\1|p" | decode)
  [ -z "$added$removed" ] && continue
  { head -n 1 "$file"
    { tail -n +2 "$file" | grep -vxF -f <(printf '%s\n' "$removed" | sed '/^$/d') || true; printf '%s\n' "$added" | sed '/^$/d'; } | LC_ALL=C sort -u
  } > "$file.new"
  mv "$file.new" "$file"
  echo "$file: $(printf '%s\n' "$added" | sed '/^$/d' | wc -l) added, $(printf '%s\n' "$removed" | sed '/^$/d' | wc -l) removed"
done
