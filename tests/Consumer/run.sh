#!/usr/bin/env bash
# Packs the libraries and runs the consumer apps against the packages, as an application outside this repository
# would use them (CI runs this from .ci/run). Dbrx.* packages come only from artifacts/: earlier copies are dropped
# from the NuGet cache first, so a stale package can never be used; everything else (libtorch is 1.4 GB) is reused.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
packages=${NUGET_PACKAGES:-$HOME/.nuget/packages}

rm -rf "$root/artifacts"
# One time for the whole pack, so the packages that depend on each other agree on their version.
dotnet pack "$root/Dbrx.Extensions.sln" -c Release -v q -nologo -p:DbrxPackTime="$(date -u +%Y%m%d%H%M%S)"
rm -rf "$packages"/dbrx.*
for app in ConsumerApp SemanticKernelApp NoBackendApp; do
  rm -rf "$here/$app/bin" "$here/$app/obj"
  dotnet run --project "$here/$app" -c Release -v q
  # Each output holds a copy of libtorch (and the no-backend app a second one, from TorchSharp's fallback): 1 GB.
  rm -rf "$here/$app/bin" "$here/$app/obj"
done
