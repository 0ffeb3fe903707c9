#!/usr/bin/env bash
# The GPU checks in one device call (see ../shared/device/README.md for the lent machine). From the repository root:
#   ../shared/device/pack.sh tests/Dbrx.Inference.Tests/Dbrx.Inference.Tests.csproj samples/Dbrx.Cli/Dbrx.Cli.csproj
#   run(command="bash .device/run.sh bash scripts/gpu-check.sh", carry=[".device"], timeout_s=560)
# Writes everything under $OUT (or ./gpu-check-out), most important first, each step under its own time limit so one
# hang cannot eat the device time: the CUDA suites (parity, int4 packing, memory over 1000 requests), transformers and
# then dbrx bench on the same configuration (with speed-ups over it), int4 speed and quality, the 80 GB plan, and last
# (tuning only) the expert-dispatch comparison.
set -uo pipefail
out=${OUT:-gpu-check-out}
mkdir -p "$out"
dbrx=(dotnet .device/Dbrx.Cli/dbrx.dll)   # an array, not a function: timeout runs commands, not shell functions
nvidia-smi > "$out/nvidia-smi.txt" 2>&1
echo "== CUDA suites: golden parity (float32, bf16, flash, dispatch, GPU+CPU split), int4 packing, memory"
timeout 150 dotnet .device/Dbrx.Inference.Tests/Dbrx.Inference.Tests.dll -class Dbrx.Inference.Tests.CudaParityTests \
  -class Dbrx.Inference.Tests.CudaInt4Tests -class Dbrx.Inference.Tests.CudaMemoryTests -class Dbrx.Inference.Tests.MemoryTests \
  -showliveoutput > "$out/cuda-tests.txt" 2>&1
grep -E "FAIL|GPU memory held|Total:" "$out/cuda-tests.txt" | head -20
echo "== transformers on the same configuration (4 blocks at DBRX width, bf16, sdpa)"
timeout 150 python3 scripts/transformers_bench.py > "$out/transformers-bench.json" 2> "$out/transformers-bench.log"
cat "$out/transformers-bench.json"; tail -3 "$out/transformers-bench.log"
echo "== dbrx bench on the same configuration, with speed-ups over transformers"
versus=(); [ -s "$out/transformers-bench.json" ] && versus=(--compare "$out/transformers-bench.json")
timeout 120 "${dbrx[@]}" bench --device cuda --json "${versus[@]}" > "$out/dbrx-bench.json" 2> "$out/dbrx-bench.log"
cat "$out/dbrx-bench.json"; tail -3 "$out/dbrx-bench.log"
echo "== int4: speed at DBRX width (floor from int4 bytes), quality against bf16, an 80 GB plan"
timeout 90 "${dbrx[@]}" bench --device cuda --dtype int4 --json > "$out/dbrx-bench-int4.json" 2> "$out/dbrx-bench-int4.log"
cat "$out/dbrx-bench-int4.json"
timeout 90 "${dbrx[@]}" bench --device cuda --int4-quality > "$out/int4-quality.json" 2>&1
cat "$out/int4-quality.json"
"${dbrx[@]}" info --preset dbrx-instruct --gpu-memory 80GB --int4-modules experts,attention,lm_head > "$out/int4-plan.txt" 2>&1
cat "$out/int4-plan.txt"
echo "== tuning, last: expert dispatch PerExpert vs Grouped at prefill 2048, batch 1 and batch 8"
for d in PerExpert Grouped; do
  timeout 60 "${dbrx[@]}" bench --device cuda --expert-dispatch $d --prefill 2048 --batches 8 --steps 8 > "$out/dbrx-bench-$d.txt" 2>&1
  grep -E "device|prefill|decode|served|error" "$out/dbrx-bench-$d.txt"
done
