#!/bin/bash
# lab/vm.sh prepare|start|stop|status NAME [--loadvm TAG] — one lab VM.
#
#   prepare NAME [--keep-keys]  fresh state dir $LAB_DIR/vms/NAME: qcow2 overlay on the base
#                               image, empty data disk (storage VMs), new ssh host key (unless
#                               --keep-keys), per-VM config overlay (overlay.tar)
#   start NAME [--loadvm TAG]   start its qemu (TCG) in the background; returns once qemu runs
#   stop NAME                   QMP quit, then TERM, then KILL
#   status NAME                 prints running|stopped
#
# Networking of each VM:
#   eth0  qemu user-net with restrict=on (no route to anything but qemu itself) and one
#         hostfwd 127.0.0.1:PORT -> guest :22; this is how the host (and scalestore) reach sshd
#   eth1  tap on the bridge inside netns $LAB_NETNS: the cluster LAN 10.0.0.X/24
#   eth2  (storage VMs) tap on the replication bridge: DRBD's link 10.0.1.X/24, device id
#         repl0, so that 'set_link repl0 off' cuts the replication link alone (lan0: the LAN NIC)
# and an IPMI BMC: isa-ipmi-kcs + ipmi-bmc-extern, whose chardev reaches the VM's ipmi_sim
# (lab/bmc.sh) through $LAB_DIR/bmc/NAME/serial.sock; the BMC's LAN side is 10.0.0.(100+X)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

IMG=$LAB_DIR/image
OVERLAY_FWCFG=opt/org.scalestore.lab/overlay.tar

hosts_file() {
  printf '127.0.0.1\tlocalhost\n'
  local n; for n in $LAB_ALL_VMS; do printf '%s\t%s\n' "$(vm_ip "$n")" "$n"; done
}

build_overlay() {   # the files laid over / by the initrd at every boot
  local n=$1 d; d=$(vm_dir "$n")
  local s=$d/overlay.stage
  rm -rf "$s"; mkdir -p "$s/etc/ssh" "$s/etc/scalestore-lab" "$s/root/.ssh"
  echo "$n" >"$s/etc/hostname"
  hosts_file >"$s/etc/hosts"
  cat "$d/machine-id" >"$s/etc/machine-id"
  install -m 600 "$d/ssh_host_ed25519_key" "$s/etc/ssh/ssh_host_ed25519_key"
  install -m 644 "$d/ssh_host_ed25519_key.pub" "$s/etc/ssh/ssh_host_ed25519_key.pub"
  install -m 600 "$LAB_DIR/ssh/id_ed25519.pub" "$s/root/.ssh/authorized_keys"
  # fence_ipmilan's password_script: root only, the password never in the spec or argv
  printf '#!/bin/sh\necho %s\n' "$(bmc_password)" >"$s$LAB_BMC_PASSWORD_SCRIPT"
  chmod 700 "$s$LAB_BMC_PASSWORD_SCRIPT"
  # no iSCSI initiator name: the overlay is laid at every boot, and would undo the one
  # scalestore writes (a client rebooted with the lab's name is refused by the targets)
  cat >"$s/etc/scalestore-lab/net.env" <<EOF
MGMT_MAC=$(vm_mac "$n" 0)
MGMT_ADDR=10.0.2.15/24
LAN_MAC=$(vm_mac "$n" 1)
LAN_ADDR=$(vm_ip "$n")/24
EOF
  if [ "$(vm_role "$n")" = storage ]; then
    printf 'REPL_MAC=%s\nREPL_ADDR=%s/24\n' "$(vm_mac "$n" 2)" "$(vm_repl_ip "$n")" >>"$s/etc/scalestore-lab/net.env"
  fi
  printf 'name=%s\nrole=%s\nlan=%s\nssh_port=%s\n' "$n" "$(vm_role "$n")" "$(vm_ip "$n")" "$(vm_port "$n")" \
    >"$s/etc/scalestore-lab/vm"
  (cd "$s" && find . -type f | LC_ALL=C sort | tar --numeric-owner --owner=0 --group=0 -cf "$d/overlay.tar" -T -)
  rm -rf "$s"
}

prepare() {
  local n=$1 keep=${2:-} d; d=$(vm_dir "$n")
  [ -s "$IMG/base.qcow2" ] || die "no lab image: run 'make lab-image'"
  ensure_client_key
  vm_alive "$n" && die "$n is running; stop it first"
  if [ "$keep" = --keep-keys ] && [ -s "$d/ssh_host_ed25519_key" ]; then
    rm -f "$d/root.qcow2" "$d/data.qcow2" "$d/overlay.tar"
  else
    rm -rf "$d"; mkdir -p "$d"
    ssh-keygen -q -t ed25519 -N '' -C "root@$n.scalestore-lab" -f "$d/ssh_host_ed25519_key"
    tr -d '-' </proc/sys/kernel/random/uuid >"$d/machine-id"
  fi
  qemu-img create -q -f qcow2 -F qcow2 -b "$IMG/base.qcow2" "$d/root.qcow2"
  if [ "$(vm_role "$n")" = storage ]; then qemu-img create -q -f qcow2 "$d/data.qcow2" "${LAB_DISK_MB}M"; fi
  vm_mem "$n" >"$d/mem"
  cp "$IMG/inputs.sha256" "$d/image.sha256"
  build_overlay "$n"
}

start() {
  local n=$1 tag=${3:-} d; d=$(vm_dir "$n")
  [ "${2:-}" = --loadvm ] || tag=
  [ -s "$d/root.qcow2" ] && [ -s "$d/overlay.tar" ] || die "$n is not prepared (run: $0 prepare $n)"
  vm_alive "$n" && die "$n is already running (pid $(vm_pid "$n"))"
  [ -n "$tag" ] || build_overlay "$n"   # a boot lays it over /: made afresh from the VM's own files
  ip netns list | awk '{print $1}' | grep -qx "$LAB_NETNS" || die "netns $LAB_NETNS is missing (lab/net.sh up)"
  local mem port; mem=$(cat "$d/mem"); port=$(vm_port "$n")
  # a stale tap of this VM (only if an old qemu were still alive, which vm_alive ruled out)
  ip -n "$LAB_NETNS" link del "$(vm_tap "$n")" 2>/dev/null || true
  ip -n "$LAB_NETNS" link del "$(vm_repl_tap "$n")" 2>/dev/null || true
  [ -S "$LAB_DIR/bmc/$n/serial.sock" ] || die "$n has no BMC ($LAB_DIR/bmc/$n/serial.sock): lab/bmc.sh up $n"
  [ -s "$d/console.log" ] && mv -f "$d/console.log" "$d/console.prev.log"
  rm -f "$d/qmp.sock" "$d/qemu.pid"
  # shellcheck disable=SC2054
  local args=(
    qemu-system-x86_64 -name "guest=scalestore-lab-$n"
    -machine pc -accel tcg,tb-size=64 -cpu qemu64 -smp 1 -m "$mem"
    -nodefaults -no-user-config -display none -vga none -no-reboot
    -rtc base=utc,clock=host
    -kernel "$IMG/vmlinuz" -initrd "$IMG/initrd.img"
    -append "console=ttyS0 root=/dev/vda rw panic=-1 quiet loglevel=4 net.ifnames=0 mitigations=off audit=0 systemd.show_status=auto"
    -fw_cfg "name=$OVERLAY_FWCFG,file=$d/overlay.tar"
    -chardev "file,id=con0,path=$d/console.log" -serial chardev:con0
    -qmp "unix:$d/qmp.sock,server=on,wait=off"
    -drive "if=none,id=root,file=$d/root.qcow2,format=qcow2,cache=unsafe,discard=unmap"
    -device virtio-blk-pci,drive=root,addr=0x4
  )
  if [ -s "$d/data.qcow2" ]; then
    args+=(-drive "if=none,id=data,file=$d/data.qcow2,format=qcow2,cache=unsafe,discard=unmap"
           -device "virtio-blk-pci,drive=data,serial=lab-$n-data,addr=0x5")
  fi
  # shellcheck disable=SC2054
  args+=(
    -netdev "user,id=mgmt,restrict=on,ipv6=off,net=10.0.2.0/24,host=10.0.2.2,hostfwd=tcp:127.0.0.1:$port-10.0.2.15:22"
    -device "virtio-net-pci,netdev=mgmt,mac=$(vm_mac "$n" 0),addr=0x6,romfile="
    -netdev tap,id=lan,fd=@TAPFD@
    -device "virtio-net-pci,netdev=lan,id=lan0,mac=$(vm_mac "$n" 1),addr=0x7,romfile="
    -device virtio-rng-pci,addr=0x8
    -chardev "socket,id=bmc,path=$LAB_DIR/bmc/$n/serial.sock,reconnect=2"
    -device ipmi-bmc-extern,id=bmc0,chardev=bmc
    -device isa-ipmi-kcs,bmc=bmc0
    -pidfile "$d/qemu.pid" -daemonize
  )
  local taps=("$LAB_BRIDGE" "$(vm_tap "$n")")
  if [ "$(vm_role "$n")" = storage ]; then
    # shellcheck disable=SC2054
    args+=(-netdev tap,id=repl,fd=@TAPFD2@
           -device "virtio-net-pci,netdev=repl,id=repl0,mac=$(vm_mac "$n" 2),addr=0x9,romfile=")
    taps+=("$LAB_REPL_BRIDGE" "$(vm_repl_tap "$n")")
  fi
  [ -n "$tag" ] && args+=(-loadvm "$tag")
  echo "$(date -u +%FT%TZ) start ${tag:+(loadvm $tag)}" >>"$d/qemu.log"
  if ! python3 "$LAB_SRC/tap-exec.py" "$LAB_NETNS" "${taps[@]}" -- "${args[@]}" \
        </dev/null >>"$d/qemu.log" 2>&1 9>&-; then
    tail -5 "$d/qemu.log" | sed "s/^/  $n qemu| /" >&2
    die "qemu for $n did not start"
  fi
  vm_alive "$n" || { tail -5 "$d/qemu.log" >&2; die "qemu for $n exited right after starting"; }
}

stop() { vm_kill "$1"; }

status() { if vm_alive "$1"; then echo running; else echo stopped; fi; }

cmd=${1:-}; shift || true
[ -n "${1:-}" ] || { echo "usage: $0 prepare|start|stop|status NAME [...]" >&2; exit 2; }
vm_octet "$1" >/dev/null
case $cmd in
  prepare) prepare "$@" ;; start) start "$@" ;; stop) stop "$@" ;; status) status "$@" ;;
  *) echo "usage: $0 prepare|start|stop|status NAME [...]" >&2; exit 2 ;;
esac
