#!/bin/bash
# lab/status.sh — what runs in the lab: VMs, pids, ssh ports, LAN addresses, memory, snapshots.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
printf '%-10s %-8s %-8s %-16s %-10s %s\n' VM STATE PID SSH LAN RSS
for n in $LAB_ALL_VMS; do
  if vm_alive "$n"; then st=running; p=$(vm_pid "$n"); rss="$(( $(ps -o rss= -p "$p") / 1024 ))M"
  else st=stopped; p=-; rss=-; fi
  printf '%-10s %-8s %-8s %-16s %-10s %s\n' "$n" "$st" "$p" "127.0.0.1:$(vm_port "$n")" "$(vm_ip "$n")" "$rss"
done
echo "image:     $(cat "$LAB_DIR/image/info" 2>/dev/null | tr '\n' ' ' || echo none)"
echo "netns:     $(ip netns list 2>/dev/null | grep -w "$LAB_NETNS" >/dev/null && echo "$LAB_NETNS (up)" || echo "$LAB_NETNS (absent)")"
echo -n "snapshots: "
for s in "$LAB_DIR"/snapshots/*/meta; do
  [ -f "$s" ] || continue
  echo -n "$(basename "$(dirname "$s")")"
  [ "$(sed -n 's/^image=//p' "$s")" = "$(cat "$LAB_DIR/image/inputs.sha256" 2>/dev/null)" ] || echo -n "(stale: older image)"
  echo -n " "
done; echo
echo "disk:      $(du -sh "$LAB_DIR" 2>/dev/null | cut -f1) in $LAB_DIR"
