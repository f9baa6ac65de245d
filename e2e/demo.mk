# e2e/demo.mk — the recorded demo (included by the top-level Makefile).
#
#   make demo-record   on the lab (restored clean, spares up): the wizard builds the cluster, adds
#                      client2, then the spare pair, each confirmed by typing the cluster name,
#                      driven through a pty by e2e/wizarddrive (scripts in e2e/demo/) and recorded
#                      by asciinema into docs/demo.cast; checks the three run logs are on disk.
#                      DEMO_SIZE=100x30 DEMO_PACE=40ms DEMO_KEEP=1 (leave the lab up); see e2e/demo.sh.

.PHONY: demo-record demo-deps
demo-deps: deps
	@command -v asciinema >/dev/null || { apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends asciinema; }

demo-record: demo-deps build lab-image
	bash e2e/demo.sh
