# e2e/bench.mk — the lab benchmark (included by the top-level Makefile).
#
#   make bench-lab   on the lab, each run from its clean snapshot (taken first when there is
#                    none): the plan's bare commands (plan --script), apply --schedule graph,
#                    apply --schedule steps; wall times, apply/bare ratios and a per-step table
#                    into $(LAB_DIR)/bench/ (latest.txt). BENCH_RUNS="bare graph steps",
#                    BENCH_CONCURRENCY=N, BENCH_SNAPSHOT=clean; see e2e/bench-lab.sh.

.PHONY: bench-lab
bench-lab: build lab-image
	bash e2e/bench-lab.sh
