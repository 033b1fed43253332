#!/usr/bin/env bash
# Installs the release programs, the Templates, the scenarios, the shell completions and the man pages under the
# folder given (bin/, share/): the layout `make install`, `make dist` and `make deb` all ship.
set -euo pipefail
cd "$(dirname "$0")/.."
dest="$1"
bin=.build/release
mkdir -p "$dest/bin" "$dest/share/devcluster/Templates/deploy" "$dest/share/devcluster/scenarios" "$dest/share/bash-completion/completions" \
  "$dest/share/zsh/site-functions" "$dest/share/fish/vendor_completions.d"
install -m 0755 "$bin/devnode" "$bin/devcluster" "$dest/bin/"
install -m 0644 Templates/*.* "$dest/share/devcluster/Templates/"
install -m 0644 Templates/deploy/* "$dest/share/devcluster/Templates/deploy/"
install -m 0644 scenarios/*.scenario "$dest/share/devcluster/scenarios/"
for program in devcluster devnode; do
  "$bin/$program" --generate-completion-script bash > "$dest/share/bash-completion/completions/$program"
  "$bin/$program" --generate-completion-script zsh > "$dest/share/zsh/site-functions/_$program"
  "$bin/$program" --generate-completion-script fish > "$dest/share/fish/vendor_completions.d/$program.fish"
done
python3 scripts/manpages.py "$dest/share/man/man1" "$bin/devcluster" "$bin/devnode"
