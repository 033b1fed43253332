#!/usr/bin/env bash
# make deb: a Debian package of the release programs (devcluster_VERSION_ARCH.deb in dist/): /usr/bin,
# the Templates, shell completions and the README; the C libraries come from Debian's own packages,
# named in Depends (found with dpkg -S from the libraries the programs load).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.build/release
version=$(sed -n 's/.*static let string = "\(.*\)".*/\1/p' Sources/Core/Version.swift)
arch=$(dpkg --print-architecture)
out=${DIST_DIR:-dist}
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
scripts/stage-tree.sh "$stage/usr"
# Debian's zsh looks for packaged completions in vendor-completions.
mkdir -p "$stage/usr/share/zsh/vendor-completions"
mv "$stage/usr/share/zsh/site-functions/"* "$stage/usr/share/zsh/vendor-completions/"
rmdir "$stage/usr/share/zsh/site-functions"
install -D -m 0644 README.md "$stage/usr/share/doc/devcluster/README.md"
# The packages of the libraries the programs load (the C runtime's too), each at least as installed here.
depends=$(for lib in $(ldd "$bin/devnode" "$bin/devcluster" | awk '/=> \// {print $3}' | sort -u); do
    package=$(dpkg -S "$(readlink -f "$lib")" 2>/dev/null | head -1 | cut -d: -f1) || true
    [ -z "$package" ] && package=$(dpkg -S "$lib" 2>/dev/null | head -1 | cut -d: -f1) || true
    [ -n "$package" ] && echo "$package (>= $(dpkg-query -W -f='${Version}' "$package" | sed 's/-[^-]*$//'))"
  done | sort -u | paste -sd, | sed 's/,/, /g')
size=$(du -sk "$stage/usr" | cut -f1)
mkdir -p "$stage/DEBIAN"
cat > "$stage/DEBIAN/control" <<CONTROL
Package: devcluster
Version: $version
Architecture: $arch
Maintainer: devcluster developers <devcluster@localhost>
Installed-Size: $size
Depends: $depends
Section: net
Priority: optional
Description: a local distributed S3 object store you can break and watch
 devcluster starts several storage nodes on one machine (or one per host), erasure-codes
 objects across them, serves S3 from every node, and lets you kill, pause, partition and
 slow nodes to watch failure detection, degraded reads and rebuild happen live.
 devnode alone is a one-node S3 server for tests and CI.
CONTROL
mkdir -p "$out"
package="$out/devcluster_${version}_${arch}.deb"
dpkg-deb --build --root-owner-group "$stage" "$package" >/dev/null
echo "$package ($(du -h "$package" | cut -f1)), Depends: $depends"
