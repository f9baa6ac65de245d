#!/bin/bash
# lab/ssh.sh NAME [CMD...] — run CMD on lab VM NAME (interactive shell without CMD).
# The VM's host key is checked against $LAB_DIR/known_hosts (StrictHostKeyChecking=yes);
# a VM whose key does not match is refused, exactly as scalestore's strict policy does.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
[ $# -ge 1 ] || { echo "usage: $0 NAME [CMD...]   (NAME: $LAB_ALL_VMS)" >&2; exit 2; }
n=$1; shift
port=$(vm_port "$n")
[ -s "$LAB_DIR/known_hosts" ] || die "no $LAB_DIR/known_hosts: is the lab up? ('make lab-up')"
# shellcheck disable=SC2046
exec ssh $(lab_ssh_opts) -p "$port" root@127.0.0.1 "$@"
