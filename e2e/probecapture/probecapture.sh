# e2e/probecapture/probecapture.sh — run ON a lab host (sh; the e2e sends it with ROLE and R set): prints,
# as @@-headed sections, what the plan's probes read there, for the unit test that runs every
# probe against a built and a blank host (steps/probetruth_test.go).
#   @@NAME          the stdout of one command the probes run, then "rc=N" (its exit code);
#                   @@/PATH is a file the probes read
#   @@tree          "TYPE SIZE PATH" (find's %Y: d dir, f file, b block device, after links)
#                   of the paths probes test with test -d/-e/-b/-s or a glob
# ROLE is storage or client; R is the storage half's DRBD resource (r1, r2, …); PKGS the
# role's packages. `go run ./e2e/probecapture ROLE [R]` prints it with them set.
sec() { n=$1; shift; echo "@@$n"; "$@" 2>/dev/null; echo "rc=$?"; }
tree() { find -L "$@" -printf '%Y %s %p\n' 2>/dev/null; }
if [ "$ROLE" = storage ]; then
  sec dpkg-query dpkg-query -W -f '${db:Status-Abbrev}\n' $PKGS
  sec /proc/drbd cat /proc/drbd
  # the units' shared query (steps.unitsQuery): the storage boot unit's probe reads it
  sec systemctl systemctl show -p Id,ActiveState,UnitFileState iscsid.service open-iscsi.service multipathd.service corosync.service dlm.service lvmlockd.service scalestore-lv.service scalestore-drbd.service
  sec 'drbdadm dstate' drbdadm dstate "$R"
  echo '@@drbdadm dump-md'; drbdadm dump-md "$R" >/dev/null 2>&1; echo "rc=$?"
  echo '@@drbdadm adjust'; drbdadm -d adjust "$R" 2>&1; echo "rc=$?"
  echo '@@tree'
  tree /sys/module/drbd /sys/module/target_core_mod /sys/module/target_core_iblock /sys/module/iscsi_target_mod -maxdepth 0
  tree /sys/block -maxdepth 1 -name 'drbd*'
  tree /etc/systemd/system -maxdepth 2 -path '*.wants/*'
  tree /sys/kernel/config/target -maxdepth 5 -type d
else
  sec dpkg-query dpkg-query -W -f '${db:Status-Abbrev}\n' $PKGS
  sec corosync-quorumtool corosync-quorumtool -s
  sec pvs pvs --noheadings --segments --separator : -o vg_name,pv_name,vg_free_count,lv_full_name
  sec lvmlockctl lvmlockctl --info
  sec blkid blkid -p -o value -s TYPE /dev/VG0/LV0
  sec gfs2_edit gfs2_edit -p jindex /dev/VG0/LV0
  sec blockdev blockdev --getsize64 /dev/VG0/LV0
  sec stat stat -f -c '%b * %S' /mnt/gfs2
  sec fstab cat /etc/fstab
  echo '@@tree'
  tree /sys/module/iscsi_tcp /sys/module/dm_multipath /sys/module/dlm /sys/module/gfs2 -maxdepth 0
  tree /etc/corosync/authkey /dev/VG0 -maxdepth 1
fi
true
