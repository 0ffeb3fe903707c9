#!/usr/bin/env python3
"""The reference's speed on the same random-weight DBRX that `dbrx bench` builds, for a side-by-side on one GPU.

Runs transformers' DbrxForCausalLM (bf16, sdpa) at DBRX width with N blocks and prints one JSON object with the
same keys as `dbrx bench --json`: prefill tokens/s, batch-1 decode ms/token over a 1K context, batched decode
tokens/s, peak memory. Usage (on the GPU machine): python3 scripts/transformers_bench.py [--blocks 4] > transformers.json
"""
import argparse, json, time
import torch
from transformers import DbrxConfig, DbrxForCausalLM
from transformers.cache_utils import DynamicCache

parser = argparse.ArgumentParser()
parser.add_argument("--blocks", type=int, default=4)
parser.add_argument("--prefill", default="512,2048")
parser.add_argument("--context", type=int, default=1024)
parser.add_argument("--batches", default="8,32")
parser.add_argument("--steps", type=int, default=16)
parser.add_argument("--attn", default="sdpa")
args = parser.parse_args()

config = DbrxConfig(
    d_model=6144, n_heads=48, n_layers=args.blocks, max_seq_len=32768, vocab_size=100352,
    attn_config={"clip_qkv": 8, "kv_n_heads": 8, "rope_theta": 500000},
    ffn_config={"ffn_hidden_size": 10752, "moe_num_experts": 16, "moe_top_k": 4, "moe_jitter_eps": 0, "moe_loss_weight": 0.05},
)
config._attn_implementation = args.attn
torch.manual_seed(0)
# Built in bf16 directly: a float32 model of 4 blocks (about 56 GB) and its bf16 copy would not fit an 80 GB card.
torch.set_default_dtype(torch.bfloat16)
with torch.device("cuda"):
    model = DbrxForCausalLM(config).eval()

def sync():
    torch.cuda.synchronize()

@torch.inference_mode()
def prefill(batch, length):
    ids = torch.randint(0, config.vocab_size, (batch, length), device="cuda")
    cache = DynamicCache()
    out = model(input_ids=ids, past_key_values=cache, use_cache=True, logits_to_keep=1)
    return out.past_key_values

@torch.inference_mode()
def decode_seconds(batch, context, steps):
    cache = prefill(batch, context)
    token = torch.randint(0, config.vocab_size, (batch, 1), device="cuda")
    model(input_ids=token, past_key_values=cache, use_cache=True)
    sync()
    start = time.perf_counter()
    for _ in range(steps):
        out = model(input_ids=token, past_key_values=cache, use_cache=True, logits_to_keep=1)
        token = out.logits[:, -1:].argmax(-1)
    sync()
    return (time.perf_counter() - start) / steps

def timed(fn, repeats):
    fn(); sync()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    sync()
    return (time.perf_counter() - start) / repeats

result = {"device": torch.cuda.get_device_name(), "implementation": f"transformers {__import__('transformers').__version__} ({args.attn})",
          "blocks": args.blocks, "prefill_tokens_per_s": {}, "decode_tokens_per_s": {}}
torch.cuda.reset_peak_memory_stats()
for length in map(int, args.prefill.split(",")):
    result["prefill_tokens_per_s"][str(length)] = length / timed(lambda: prefill(1, length), 2)
result["decode_batch1_ms_per_token"] = decode_seconds(1, args.context, args.steps) * 1000
for batch in map(int, args.batches.split(",")):
    result["decode_tokens_per_s"][str(batch)] = batch / decode_seconds(batch, args.context, args.steps)
result["peak_memory_bytes"] = torch.cuda.max_memory_allocated()
print(json.dumps(result, indent=2))
