# lab/lab.mk — the scalestore test lab (included by the top-level Makefile).
# Six (or eight) Debian 12 VMs under qemu TCG; see lab/README.md.
#
#   make lab-deps        host packages (apt), idempotent
#   make lab-image       kernel + initrd + base qcow2 (cached by a hash of their inputs)
#   make lab-up          boot the seed lab (LAB_SPARES=1: also storage2a/2b, client2); running VMs are kept
#   make lab-up-spares   boot storage2a/2b and client2 next to a running lab (grow and join tests)
#   make lab-down        stop every lab VM, remove the lab netns, no qemu left behind
#   make lab-snapshot    save the running lab (LAB_SNAPSHOT=clean)
#   make lab-restore     bring it back in seconds (clocks reset, ssh ready)
#   make lab-smoke       image + boot + checks + down: what CI runs
#   make lab-status      what runs
#   make lab-ssh H=storage0a [C='cmd']   shell or command on a VM (host key checked)
#   make lab-clean       lab-down + drop VM state and snapshots (keeps the image cache)
#   make lab-distclean   lab-clean + drop image and caches (everything in LAB_DIR)

LAB_DIR ?= /var/tmp/scalestore-lab
LAB_SPARES ?= 0
LAB_SNAPSHOT ?= clean
export LAB_DIR LAB_SPARES LAB_SNAPSHOT

# for others' targets (e.g. a demo running scalestore against the lab)
LAB_SPEC := lab/lab.toml
LAB_GROW_SPEC := lab/lab-grow.toml
LAB_JOIN_SPEC := lab/lab-join.toml
LAB_SPARE_NAMES := storage2a storage2b client2
LAB_SSH_KEY := $(LAB_DIR)/ssh/id_ed25519
LAB_KNOWN_HOSTS := $(LAB_DIR)/known_hosts
LAB_SSH_CONFIG := $(LAB_DIR)/ssh_config
LAB_SSH_OPTS := -o BatchMode=yes -o IdentitiesOnly=yes -i $(LAB_SSH_KEY) \
  -o StrictHostKeyChecking=yes -o UserKnownHostsFile=$(LAB_KNOWN_HOSTS) -o GlobalKnownHostsFile=/dev/null \
  -o UpdateHostKeys=no -o CheckHostIP=no -o ConnectTimeout=10 -o LogLevel=ERROR
LAB_SSH := lab/ssh.sh

.PHONY: lab-deps lab-image lab-up lab-up-spares lab-down lab-snapshot lab-restore lab-smoke \
        lab-status lab-ssh lab-clean lab-distclean lab-toml

lab-deps:
	@bash lab/deps.sh

lab-image:
	@bash lab/image.sh

lab-up: lab-image
	@bash lab/up.sh

lab-up-spares: lab-image
	@bash lab/up.sh $(LAB_SPARE_NAMES)

lab-down:
	@bash lab/down.sh

lab-snapshot:
	@bash lab/snapshot.sh $(LAB_SNAPSHOT)

lab-restore:
	@bash lab/restore.sh $(LAB_SNAPSHOT)

lab-smoke:
	@bash lab/smoke.sh

lab-status:
	@bash lab/status.sh

lab-ssh:
	@test -n "$(H)" || { echo "usage: make lab-ssh H=storage0a [C='command']"; exit 2; }
	@bash lab/ssh.sh $(H) $(C)

lab-toml:
	@bash lab/toml.sh write

lab-clean: lab-down
	rm -rf $(LAB_DIR)/vms $(LAB_DIR)/snapshots $(LAB_DIR)/known_hosts $(LAB_DIR)/ssh_config

lab-distclean: lab-down
	rm -rf $(LAB_DIR)
