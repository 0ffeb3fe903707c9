#!/usr/bin/env bash
# The GPU checks in one device call (see ../shared/device/README.md for the lent machine). From the repository root:
#   ../shared/device/pack.sh tests/Dbrx.Inference.Tests/Dbrx.Inference.Tests.csproj samples/Dbrx.Cli/Dbrx.Cli.csproj
#   run(command="bash .device/run.sh bash scripts/gpu-check.sh", carry=[".device"], timeout_s=540)
# Writes everything under $OUT (or ./gpu-check-out): the CUDA parity suite, dbrx bench next to transformers on the
# same configuration, and memory across repeated requests.
set -uo pipefail
out=${OUT:-gpu-check-out}
mkdir -p "$out"
nvidia-smi > "$out/nvidia-smi.txt" 2>&1
echo "== CUDA parity suite (golden case, bf16, flash, GPU+CPU split)"
timeout 150 dotnet .device/Dbrx.Inference.Tests/Dbrx.Inference.Tests.dll -class Dbrx.Inference.Tests.CudaParityTests -class Dbrx.Inference.Tests.MemoryTests > "$out/cuda-tests.txt" 2>&1
tail -5 "$out/cuda-tests.txt"
echo "== dbrx bench (4 blocks at DBRX width, bf16)"
timeout 180 dotnet .device/Dbrx.Cli/dbrx.dll bench --device cuda --json > "$out/dbrx-bench.json" 2> "$out/dbrx-bench.log"
cat "$out/dbrx-bench.json"
echo "== transformers on the same configuration"
timeout 180 python3 scripts/transformers_bench.py > "$out/transformers-bench.json" 2> "$out/transformers-bench.log"
cat "$out/transformers-bench.json"
echo "== int4: speed at DBRX width (floor from int4 bytes), quality against bf16, a full-depth plan"
timeout 120 dotnet .device/Dbrx.Cli/dbrx.dll bench --device cuda --dtype int4 --json > "$out/dbrx-bench-int4.json" 2> "$out/dbrx-bench-int4.log"
cat "$out/dbrx-bench-int4.json"
timeout 120 dotnet .device/Dbrx.Cli/dbrx.dll bench --device cuda --int4-quality > "$out/int4-quality.json" 2>&1
cat "$out/int4-quality.json"
dotnet .device/Dbrx.Cli/dbrx.dll info --preset dbrx-instruct --gpu-memory "$(nvidia-smi --query-gpu=memory.free --format=csv,noheader,nounits | head -1)MiB" > "$out/int4-plan.txt" 2>&1
cat "$out/int4-plan.txt"
