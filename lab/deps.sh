#!/bin/bash
# lab/deps.sh — install the host packages the lab needs (Debian 12). Idempotent: when all are
# installed it does nothing; otherwise one 'apt-get update' and one 'apt-get install'.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
require_root
PKGS=$(cat "$(dirname "$0")/host-packages.txt")   # the top-level `make deps` installs the same list
missing=()
for p in $PKGS; do
  dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
if [ ${#missing[@]} = 0 ]; then log "lab-deps: all $(echo $PKGS | wc -w) host packages already installed"; exit 0; fi
log "lab-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || log "apt-get update reported errors (continuing; the install below decides)"
if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/lab-deps.$$.log 2>&1; then
  tail -30 /tmp/lab-deps.$$.log >&2; rm -f /tmp/lab-deps.$$.log
  die "apt-get install failed"
fi
rm -f /tmp/lab-deps.$$.log
log "lab-deps: done ($(qemu-system-x86_64 --version | head -1))"
