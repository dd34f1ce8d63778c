#!/usr/bin/env bash
# vae against the PyTorch reference (bench/pytorch_reference.py, the pytorch/examples VAE), one
# after the other on the same MNIST files and thread count, and against this machine's fp32
# matmul peak measured with the same gemm kernels (`vae bench`). Prints one JSON object.
# Needs `pip install torch numpy`.
#
#   bench/compare.sh                                   # 3 epochs, all cores, no evaluation
#   EPOCHS=5 THREADS=1 BATCH=32 bench/compare.sh
#   EVAL_K="1000 5000" EVAL_IMAGES=10000 bench/compare.sh   # also time importance sampling
set -euo pipefail
cd "$(dirname "$0")/.."
epochs="${EPOCHS:-3}"
threads="${THREADS:-$(nproc)}"
batch="${BATCH:-128}"
eval_k="${EVAL_K:-}"
eval_images="${EVAL_IMAGES:-10000}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cargo build --release --quiet
vae=target/release/vae
"$vae" data fetch mnist >/dev/null
data="$("$vae" data list | awk '/^mnist/{m=1; next} m && /train-images/{print $2; exit}')"
data="$(dirname "$data")"

# Runs a command with its standard output into the file $1 and prints its peak resident memory
# (KiB), measured by GNU time.
rss() {
    local out="$1"
    shift
    /usr/bin/time -f "%M" -o "$work/rss" "$@" > "$out"
    cat "$work/rss"
}

echo "matmul peak: 1024^3 products, and the products alone of one epoch, $threads threads" >&2
"$vae" bench --threads "$threads" --epoch-products "$batch" > "$work/peak.json"

echo "vae: $epochs epochs, batch $batch, $threads threads" >&2
vae_rss=$(rss /dev/stderr "$vae" train --binarize none --epochs "$epochs" --batch-size "$batch" \
    --threads "$threads" --out "$work/run" --data-dir "$data")
echo "pytorch: $epochs epochs, batch $batch, $threads threads" >&2
torch_rss=$(rss "$work/torch.jsonl" python3 bench/pytorch_reference.py --data-dir "$data" \
    --epochs "$epochs" --batch-size "$batch" --threads "$threads")

: > "$work/eval.jsonl"
for k in $eval_k; do
    echo "importance sampling, K = $k, $eval_images images" >&2
    ours=$(python3 -c 'import subprocess, sys, time
start = time.perf_counter()
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
print(time.perf_counter() - start)' "$vae" eval --model "$work/run" --iw-samples "$k" --limit "$eval_images" --threads "$threads" --json)
    python3 bench/pytorch_reference.py --data-dir "$data" --epochs 0 --threads "$threads" \
        --iw-samples "$k" --eval-images "$eval_images" > "$work/torch_eval.json"
    theirs=$(python3 -c "import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])['iw_seconds_k$k'])" "$work/torch_eval.json")
    floor=$("$vae" bench --threads "$threads" --repeats 1 --score-products "$k" |
        python3 -c "import json,sys; print(json.load(sys.stdin)['score_products']['seconds'] * $eval_images / 10000)")
    echo "{\"k\": $k, \"vae_seconds\": $ours, \"pytorch_seconds\": $theirs, \"products_seconds\": $floor}" >> "$work/eval.jsonl"
done

python3 - "$work" "$threads" "$batch" "$vae_rss" "$torch_rss" <<'PY'
import json, statistics, sys
work, threads, batch, vae_rss, torch_rss = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
ours = [json.loads(l) for l in open(f"{work}/run/metrics.jsonl")]
torch_lines = [json.loads(l) for l in open(f"{work}/torch.jsonl")]
theirs = [l for l in torch_lines if "epoch" in l]
framework = next(l["framework"] for l in torch_lines if "framework" in l)
peak = json.load(open(f"{work}/peak.json"))
config = json.load(open(f"{work}/run/config.json"))["model"]
def median_after_warmup(xs):
    return statistics.median(xs[1:] if len(xs) > 1 else xs)
ours_s = median_after_warmup([l["train_seconds"] for l in ours])
theirs_s = median_after_warmup([l["seconds"] for l in theirs])
# Training FLOPs per image: 3x the forward products (forward, weight and input gradients), read
# from the layer lists: each linear layer, then the head the model adds.
def products(layers, width, head):
    macs = 0
    for layer in layers:
        if layer["type"] == "linear":
            macs += width * layer["out"]
            width = layer["out"]
    return macs + width * head
image = config["image"]["height"] * config["image"]["width"] * config["image"]["channels"]
classes = config.get("classes", 0)
forward = products(config["encoder"], image + classes, 2 * config["latent"])
forward += products(config["decoder"], config["latent"] + classes, image)
achieved = 3 * 2 * forward * 60000 / ours_s / 1e9
result = {
    "threads": threads,
    "batch_size": batch,
    "epochs": len(ours),
    "vae_epoch_seconds": round(ours_s, 3),
    "pytorch_epoch_seconds": round(theirs_s, 3),
    "epoch_time_ratio_vae_over_pytorch": round(ours_s / theirs_s, 3),
    "matmul_peak_gflops": round(peak["median_gflops"], 1),
    "vae_training_gflops": round(achieved, 1),
    "fraction_of_peak": round(achieved / peak["median_gflops"], 3),
    # The same epoch's matrix products alone (vae bench --epoch-products): the floor of our epoch
    # with these kernels, and so the lowest ratio to PyTorch and highest fraction of peak in reach.
    "products_only_epoch_seconds": round(peak["epoch_products"]["seconds"], 3),
    "products_only_ratio_over_pytorch": round(peak["epoch_products"]["seconds"] / theirs_s, 3),
    "products_only_fraction_of_peak": round(peak["epoch_products"]["gflops"] / peak["median_gflops"], 3),
    "vae_peak_rss_mib": round(vae_rss / 1024, 1),
    "pytorch_peak_rss_mib": round(torch_rss / 1024, 1),
    "rss_ratio_vae_over_pytorch": round(vae_rss / torch_rss, 3),
    "vae_test_loss": round(-ours[-1]["test_elbo"], 3),
    "pytorch_test_loss": round(theirs[-1]["test_loss"], 3),
    "pytorch": framework,
}
for line in open(f"{work}/eval.jsonl"):
    e = json.loads(line)
    result[f"iw_k{e['k']}_vae_seconds"] = round(e["vae_seconds"], 2)
    result[f"iw_k{e['k']}_pytorch_seconds"] = round(e["pytorch_seconds"], 2)
    result[f"iw_k{e['k']}_ratio"] = round(e["vae_seconds"] / e["pytorch_seconds"], 3)
    result[f"iw_k{e['k']}_decoder_products_only_seconds"] = round(e["products_seconds"], 2)
    result[f"iw_k{e['k']}_products_only_ratio"] = round(e["products_seconds"] / e["pytorch_seconds"], 3)
print(json.dumps(result, indent=2))
PY
