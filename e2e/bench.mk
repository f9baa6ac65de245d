# e2e/bench.mk — the lab benchmark (included by the top-level Makefile).
#
#   make bench-lab   on the lab, each run from its clean snapshot (taken first when there is
#                    none): the plan's bare commands (plan --script), apply --schedule steps,
#                    apply --schedule graph (the default), then apply again on what the last
#                    built; wall times, apply/bare ratios, the second apply's share and a
#                    per-step table into $(LAB_DIR)/bench/ (latest.txt). BENCH_RUNS="bare steps graph",
#                    BENCH_CONCURRENCY=N, BENCH_SNAPSHOT=clean; see e2e/bench-lab.sh.

.PHONY: bench-lab
bench-lab: build lab-image
	bash e2e/bench-lab.sh
