#!/usr/bin/env bash
# Makes TorchSharp's native wrapper (libLibTorchSharp.so) load on systems whose libstdc++ predates GCC 13
# (Debian 12, Ubuntu 22.04), and leaves every other system alone.
#
# Why: TorchSharp 0.107's wrapper was linked against GCC 13's libstdc++ and requires symbol version
# GLIBCXX_3.4.32, for one symbol only: std::ios_base_library_init(). Older libstdc++ lacks that version,
# so the loader refuses the wrapper ("Failed to load native component LibTorchSharp").
# Fix, applied to the copy in a build or publish output folder (never to the NuGet cache):
#   1. mark the GLIBCXX_3.4.32 requirement in .gnu.version_r weak (vna_flags |= VER_FLG_WEAK), so a
#      missing version is no longer fatal;
#   2. add a DT_NEEDED on a tiny shim library, built here, that defines an empty
#      std::ios_base_library_init() (the old libstdc++ initialises iostreams itself).
# The wrapper's RUNPATH starts with $ORIGIN, so the shim is found beside it.
#
# Usage: patch-torchsharp-native.sh DIR   (DIR holds libLibTorchSharp.so). Idempotent; exits 0 when
# there is nothing to do. Needs readelf, dd and a C++ compiler (binutils, g++) and patchelf.
set -euo pipefail

dir=${1:?usage: patch-torchsharp-native.sh DIR}
wrapper="$dir/libLibTorchSharp.so"
shim_name=libdbrx-ios-init-shim.so
version=GLIBCXX_3.4.32
here=$(cd "$(dirname "$0")" && pwd)

[ -f "$wrapper" ] || exit 0
command -v readelf >/dev/null || { echo "error: readelf (binutils) is needed to check $wrapper" >&2; exit 1; }

# Nothing to do when the wrapper does not ask for the version at all.
readelf -V "$wrapper" | grep -q "Name: $version " || exit 0

# Nothing to do on systems whose libstdc++ already defines it (newer distributions stay untouched).
libstdcxx=$(ldconfig -p 2>/dev/null | awk '/libstdc\+\+\.so\.6 .*x86-64/ {print $NF; exit}')
if [ -n "$libstdcxx" ] && readelf -V "$libstdcxx" | grep -q "Name: $version\$"; then
  exit 0
fi

for tool in patchelf g++ dd; do
  command -v "$tool" >/dev/null || {
    echo "error: this system's libstdc++ lacks $version, which TorchSharp's native wrapper needs; install '$tool' (Debian/Ubuntu: apt-get install patchelf g++) so the build can patch $wrapper (see README, 'Older Linux distributions')" >&2
    exit 1
  }
done

# 1. The shim, beside the wrapper.
if [ ! -f "$dir/$shim_name" ] || [ "$here/ios_base_library_init.cpp" -nt "$dir/$shim_name" ]; then
  g++ -shared -fPIC -O2 -o "$dir/$shim_name" "$here/ios_base_library_init.cpp"
fi

# 2. Weak version requirement. readelf -V prints the section's file offset and each entry's offset in it.
section_offset=$(readelf -V "$wrapper" | awk '/^Version needs section/ {getline; for (i = 1; i <= NF; i++) if ($i == "Offset:") print $(i+1)}')
entry_offset=$(readelf -V "$wrapper" | awk -v v="$version" '$2 == "Name:" && $3 == v {sub(":", "", $1); print $1}')
[ -n "$section_offset" ] && [ -n "$entry_offset" ] || { echo "error: could not locate $version in $wrapper's .gnu.version_r" >&2; exit 1; }
flags_at=$(( section_offset + entry_offset + 4 ))   # Elf64_Vernaux: vna_hash (4 bytes), then vna_flags (2 bytes)
flags=$(od -An -tu2 -j "$flags_at" -N2 "$wrapper" | tr -d ' ')
if (( (flags & 2) == 0 )); then
  flags=$(( flags | 2 ))
  printf "$(printf '\\x%02x\\x%02x' $(( flags & 255 )) $(( flags >> 8 )))" |
    dd of="$wrapper" bs=1 seek="$flags_at" conv=notrunc status=none
fi

# 3. The DT_NEEDED on the shim.
readelf -d "$wrapper" | grep -qF "[$shim_name]" || patchelf --add-needed "$shim_name" "$wrapper"
