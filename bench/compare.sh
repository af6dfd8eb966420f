#!/usr/bin/env bash
# bench/compare.sh — tandem vs SimGrid ping-pong, measured in one run on this machine, side by side.
#
# Builds tandem_bench and tandem_simgrid_pingpong (Release), then for each pair count runs
#   - tandem: pingpong/{receiver,coroutine,rpc}/constant at that count, --benchmark_repetitions (median kept);
#   - SimGrid: the same ping-pong with --cfg=network/model:CM02 and with the Constant model, SIMGRID_RUNS times
#     each (median kept);
# and prints two tables, messages per wall-clock second and per CPU second, with the ratio tandem / SimGrid.
# Needs libsimgrid-dev (cli/dev setup --with-simgrid).
#
# Usage: bench/compare.sh [--pairs "1000 10000"] [--repetitions 5] [--simgrid-runs 3] [--simgrid-messages 400000]
# Environment: BUILD_DIR (default: build-release/ in the repository, as cli/dev bench uses).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD_DIR="${BUILD_DIR:-${REPO_ROOT}/build-release}"
PAIRS="1000 10000"
REPETITIONS=5
SIMGRID_RUNS=3
SIMGRID_MESSAGES=400000

usage() { sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --pairs) PAIRS="$2"; shift 2 ;;
    --repetitions) REPETITIONS="$2"; shift 2 ;;
    --simgrid-runs) SIMGRID_RUNS="$2"; shift 2 ;;
    --simgrid-messages) SIMGRID_MESSAGES="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "compare.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done

if ! pkg-config --exists simgrid; then
  echo "compare.sh: SimGrid not found by pkg-config; install it with: bash cli/dev setup --with-simgrid" >&2
  exit 1
fi

echo "== building (Release) in ${BUILD_DIR}" >&2
cmake -S "${REPO_ROOT}" -B "${BUILD_DIR}" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTANDEM_BUILD_BENCH=ON >/dev/null
cmake --build "${BUILD_DIR}" --target tandem_bench tandem_simgrid_pingpong >/dev/null

# Other processes on the cores skew both sides (SimGrid more: it is slower, so it runs longer); say how busy.
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
WORK_DIR="$(mktemp -d)"
trap 'rm -rf "${WORK_DIR}"' EXIT

for pairs in ${PAIRS}; do
  echo "== tandem, ${pairs} pairs, ${REPETITIONS} repetitions" >&2
  "${BUILD_DIR}/bench/tandem_bench" \
    --benchmark_filter="^pingpong/(receiver|coroutine|rpc)/constant/pairs:${pairs}/" \
    --benchmark_repetitions="${REPETITIONS}" --benchmark_report_aggregates_only=true \
    --benchmark_out="${WORK_DIR}/tandem_${pairs}.json" --benchmark_out_format=json >&2
  for model in CM02 Constant; do
    echo "== SimGrid ${model}, ${pairs} pairs, ${SIMGRID_RUNS} runs" >&2
    for ((run = 1; run <= SIMGRID_RUNS; ++run)); do
      "${BUILD_DIR}/bench/tandem_simgrid_pingpong" --pairs="${pairs}" --messages="${SIMGRID_MESSAGES}" \
        --cfg="network/model:${model}" --log=root.thres:warning \
        | tee -a "${WORK_DIR}/simgrid_${pairs}_${model}.txt" >&2
    done
  done
done

LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "${WORK_DIR}" "$(nproc)" "${LOAD_BEFORE}" "${LOAD_AFTER}" ${PAIRS} <<'EOF'
import json, statistics, sys

work_dir, cores, load_before, load_after, pair_counts = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]

def simgrid_medians(pairs, model):
    wall, cpu = [], []
    with open(f"{work_dir}/simgrid_{pairs}_{model}.txt") as f:
        for line in f:
            if line.startswith("simgrid "):
                fields = dict(kv.split("=", 1) for kv in line.split()[1:] if "=" in kv)
                wall.append(float(fields["msgs_per_s"]))
                cpu.append(float(fields["msgs_per_cpu_s"]))
    return statistics.median(wall), statistics.median(cpu)

def fmt(rate):
    return f"{rate / 1e6:.2f} M" if rate >= 1e6 else f"{rate / 1e3:.0f} k"

rows = []  # (pairs, kind, bytes/actor, tandem wall, tandem cpu, cm02 (wall, cpu), constant (wall, cpu))
for pairs in pair_counts:
    cm02 = simgrid_medians(pairs, "CM02")
    constant = simgrid_medians(pairs, "Constant")
    with open(f"{work_dir}/tandem_{pairs}.json") as f:
        report = json.load(f)
    if not report.get("benchmarks"):
        sys.exit(f"compare.sh: tandem_bench ran no benchmark for {pairs} pairs")
    for kind in ("receiver", "coroutine", "rpc"):
        name = f"pingpong/{kind}/constant/pairs:{pairs}/"
        medians = [b for b in report["benchmarks"]
                   if b.get("run_name", "").startswith(name) and b.get("aggregate_name") == "median"]
        if medians:
            b = medians[0]
            rows.append((pairs, kind, b["bytes/actor"], b["msgs/s"], 1e9 / b["cpu_ns/msg"], cm02, constant))

print()
print(f"Load average (1, 5, 15 min) on {cores} cores: {load_before} before, {load_after} after."
      " Above ~0.5 per core the wall-clock figures are noisy; the CPU-time table is steadier.")
for title, index in (("per wall-clock second", 0), ("per CPU second of the simulating thread", 1)):
    print()
    print(f"Ping-pong over a 1 ms link: simulated messages {title} (medians; both measured in this run)")
    print()
    print("| pairs | tandem actor | bytes/actor | tandem | SimGrid CM02 | tandem / CM02 | SimGrid Constant | tandem / Constant |")
    print("|------:|--------------|------------:|-------:|-------------:|--------------:|-----------------:|------------------:|")
    for pairs, kind, bytes_per_actor, wall, cpu, cm02, constant in rows:
        rate = (wall, cpu)[index]
        print(f"| {pairs} | {kind} | {bytes_per_actor:.0f} | {fmt(rate)} | {fmt(cm02[index])} | {rate / cm02[index]:.0f}x "
              f"| {fmt(constant[index])} | {rate / constant[index]:.0f}x |")
EOF
