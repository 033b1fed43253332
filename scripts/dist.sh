#!/usr/bin/env bash
# make dist: a tarball that runs without building: the release programs (the Swift runtime inside them),
# the C libraries a fresh Debian lacks in lib/ (found through the programs' $ORIGIN/../lib run path),
# the Templates, shell completions and the README.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.build/release
version=$(sed -n 's/.*static let string = "\(.*\)".*/\1/p' Sources/Core/Version.swift)
name="devcluster-${version}-linux-$(uname -m)"
out=${DIST_DIR:-dist}
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root="$stage/$name"
scripts/stage-tree.sh "$root"
mkdir -p "$root/lib"
install -m 0644 README.md "$root/"
# Every library the programs load except the C and C++ runtimes every Debian has.
for lib in $(ldd "$bin/devnode" "$bin/devcluster" | awk '/=> \// {print $3}' | sort -u); do
  case "$(basename "$lib")" in
    libc.so.*|libm.so.*|libstdc++.so.*|libgcc_s.so.*|libpthread.so.*|libdl.so.*|librt.so.*|ld-linux*) ;;
    *) install -m 0644 "$(readlink -f "$lib")" "$root/lib/$(basename "$lib")" ;;
  esac
done
mkdir -p "$out"
tar -C "$stage" -czf "$out/$name.tar.gz" "$name"
echo "$out/$name.tar.gz ($(du -h "$out/$name.tar.gz" | cut -f1)): bin/ lib/ ($(ls "$root/lib" | tr '\n' ' ')) share/"
