#!/usr/bin/env bash
# vae against the PyTorch reference (bench/pytorch_reference.py, the pytorch/examples VAE) and
# the JAX one (bench/jax_reference.py: jit, one lax.scan per epoch, data on the device), one after
# the other on the same MNIST files and thread count, and against this machine's fp32 matmul peak
# measured with the same gemm kernels (`vae bench`). Prints one JSON object. Needs
# `pip install torch numpy`; JAX runs when JAX_PYTHON (default python3) imports jax and optax
# (`pip install jax optax`), and JAX=0 leaves it out. Where the CPU has AVX512-BF16 it also times
# `vae train --precision bf16` (the step's products in bfloat16 with fp32 sums).
#
#   bench/compare.sh                                   # 3 epochs, all cores, no evaluation
#   EPOCHS=5 THREADS=1 BATCH=32 bench/compare.sh
#   EVAL_K="1000 5000" EVAL_IMAGES=10000 bench/compare.sh   # also time importance sampling
#   ARCH=conv bench/compare.sh                         # the convolutional preset on every side
#   JAX_PYTHON=/path/to/venv/bin/python bench/compare.sh   # JAX from another environment
set -euo pipefail
cd "$(dirname "$0")/.."
epochs="${EPOCHS:-3}"
threads="${THREADS:-$(nproc)}"
batch="${BATCH:-128}"
arch="${ARCH:-mlp}"
eval_k="${EVAL_K:-}"
eval_images="${EVAL_IMAGES:-10000}"
jax_python="${JAX_PYTHON:-python3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The 1-minute load average before anything runs (the build included): a busy machine slows
# both sides unevenly.
load_before="$(cut -d' ' -f1 /proc/loadavg)"
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
if [ "$arch" = mlp ]; then
    "$vae" bench --threads "$threads" --epoch-products "$batch" > "$work/peak.json"
else
    # The products-alone floor is timed for the MLP only.
    "$vae" bench --threads "$threads" > "$work/peak.json"
fi
# Every product shape of the training step (and, for the MLP, of scoring): ours and torch.mm in
# turns, five times each; the best of each is kept, so that a slow spell of a shared machine falls
# on neither side alone. The conv shapes are those of the preset at batch 128.
for i in 1 2 3 4 5; do
    echo "product shapes ($arch), ours then torch.mm ($i of 5), $threads threads" >&2
    "$vae" bench --threads "$threads" --repeats 7 --shapes --arch "$arch" > "$work/shapes_vae_$i.json"
    python3 bench/blas_shapes.py "$threads" < "$work/shapes_vae_$i.json" > "$work/shapes_torch_$i.json"
done

echo "the best sgemm of PyTorch and NumPy, $threads threads" >&2
python3 bench/blas_peak.py "$threads" > "$work/blas.json"

echo "vae ($arch): $epochs epochs, batch $batch, $threads threads" >&2
vae_rss=$(rss /dev/stderr "$vae" train --arch "$arch" --binarize none --epochs "$epochs" \
    --batch-size "$batch" --threads "$threads" --out "$work/run" --data-dir "$data")
# The same run with the step's products in bf16 (fp32 sums), where the CPU has AVX512-BF16.
if grep -qw avx512_bf16 /proc/cpuinfo; then
    echo "vae ($arch), --precision bf16: $epochs epochs, batch $batch, $threads threads" >&2
    "$vae" train --arch "$arch" --binarize none --epochs "$epochs" --precision bf16 \
        --batch-size "$batch" --threads "$threads" --out "$work/run-bf16" --data-dir "$data" >&2
fi
echo "pytorch ($arch): $epochs epochs, batch $batch, $threads threads" >&2
torch_rss=$(rss "$work/torch.jsonl" python3 bench/pytorch_reference.py --data-dir "$data" \
    --arch "$arch" --epochs "$epochs" --batch-size "$batch" --threads "$threads")

: > "$work/jax.jsonl"
if [ "${JAX:-1}" != 0 ] && "$jax_python" -c "import jax, optax" 2>/dev/null; then
    echo "jax ($arch): $epochs epochs, batch $batch, $threads threads" >&2
    "$jax_python" bench/jax_reference.py --data-dir "$data" --arch "$arch" --epochs "$epochs" \
        --batch-size "$batch" --threads "$threads" > "$work/jax.jsonl"
else
    echo "jax: not run ($jax_python does not import jax and optax, or JAX=0); its ratios are left out" >&2
fi

: > "$work/eval.jsonl"
for k in $eval_k; do
    echo "importance sampling, K = $k, $eval_images images" >&2
    ours=$(python3 -c 'import subprocess, sys, time
start = time.perf_counter()
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
print(time.perf_counter() - start)' "$vae" eval --model "$work/run" --iw-samples "$k" --limit "$eval_images" --threads "$threads" --json)
    python3 bench/pytorch_reference.py --data-dir "$data" --arch "$arch" --epochs 0 --threads "$threads" \
        --iw-samples "$k" --eval-images "$eval_images" > "$work/torch_eval.json"
    theirs=$(python3 -c "import json,sys; print(json.loads(open(sys.argv[1]).read().splitlines()[-1])['iw_seconds_k$k'])" "$work/torch_eval.json")
    floor=null
    if [ "$arch" = mlp ]; then
        floor=$("$vae" bench --threads "$threads" --repeats 1 --score-products "$k" |
            python3 -c "import json,sys; print(json.load(sys.stdin)['score_products']['seconds'] * $eval_images / 10000)")
    fi
    echo "{\"k\": $k, \"vae_seconds\": $ours, \"pytorch_seconds\": $theirs, \"products_seconds\": $floor}" >> "$work/eval.jsonl"
done

python3 - "$work" "$threads" "$batch" "$vae_rss" "$torch_rss" "$epochs" "$arch" "$eval_k" "$eval_images" "$load_before" "${JAX:-1}" <<'PY'
import json, statistics, sys
work, threads, batch, vae_rss, torch_rss = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
epochs_arg, arch_arg, eval_k_arg, eval_images_arg, load_before, jax_arg = sys.argv[6:12]
ours = [json.loads(l) for l in open(f"{work}/run/metrics.jsonl")]
torch_lines = [json.loads(l) for l in open(f"{work}/torch.jsonl")]
theirs = [l for l in torch_lines if "epoch" in l]
framework = next(l["framework"] for l in torch_lines if "framework" in l)
peak = json.load(open(f"{work}/peak.json"))
blas = json.load(open(f"{work}/blas.json"))
machine = peak.get("machine", {})
config = json.load(open(f"{work}/run/config.json"))["model"]
config_arch = "conv" if any(l["type"] == "conv2d" for l in config["encoder"]) else "mlp"
def median_after_warmup(xs):
    return statistics.median(xs[1:] if len(xs) > 1 else xs)
ours_s = median_after_warmup([l["train_seconds"] for l in ours])
theirs_s = median_after_warmup([l["seconds"] for l in theirs])
# Training FLOPs per image: 3x the forward products (forward, weight and input gradients), read
# from the layer lists with PyTorch's output-size rules: each linear layer and convolution, then
# the head the model adds (none when the decoder ends on the image's shape).
def products(layers, shape, head, image_shape=None):
    macs = 0
    for layer in layers:
        kind = layer["type"]
        if kind == "linear":
            width = 1
            for d in shape:
                width *= d
            macs += width * layer["out"]
            shape = [layer["out"]]
        elif kind == "reshape":
            shape = layer["shape"]
        elif kind == "flatten":
            width = 1
            for d in shape:
                width *= d
            shape = [width]
        elif kind in ("conv2d", "conv_transpose2d"):
            (h, w, c), k = shape, layer["kernel"]
            s, p = layer.get("stride", 1), layer.get("padding", 0)
            if kind == "conv2d":
                oh, ow = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
                macs += oh * ow * layer["out"] * c * k * k
            else:
                op = layer.get("output_padding", 0)
                oh, ow = (h - 1) * s - 2 * p + k + op, (w - 1) * s - 2 * p + k + op
                macs += h * w * c * layer["out"] * k * k
            shape = [oh, ow, layer["out"]]
    if shape == image_shape:
        return macs
    width = 1
    for d in shape:
        width *= d
    return macs + width * head
img = config["image"]
image_shape = [img["height"], img["width"], img["channels"]]
image = img["height"] * img["width"] * img["channels"]
classes = config.get("classes", 0)
first = next((l["type"] for l in config["encoder"] if l["type"] in ("linear", "conv2d", "conv_transpose2d")), "linear")
encoder_input = image_shape[:2] + [image_shape[2] + classes] if first != "linear" else [image + classes]
forward = products(config["encoder"], encoder_input, 2 * config["latent"])
forward += products(config["decoder"], [config["latent"] + classes], image, image_shape)
achieved = 3 * 2 * forward * 60000 / ours_s / 1e9
products_only = peak.get("epoch_products")
result = {
    "arch": config_arch,
    "threads": threads,
    "batch_size": batch,
    "epochs": len(ours),
    "vae_epoch_seconds": round(ours_s, 3),
    "pytorch_epoch_seconds": round(theirs_s, 3),
    "epoch_time_ratio_vae_over_pytorch": round(ours_s / theirs_s, 3),
    "cpu": machine.get("cpu"),
    "cpu_mhz_reported": machine.get("cpu_mhz_reported"),
    "isa": machine.get("isa"),
    # Three denominators, each named: the FMA units' measured ceiling, the best sgemm of an
    # established BLAS (torch.mm, NumPy @) at 1024^3 and 2048^3, and our own gemm at 1024^3.
    "fma_peak_gflops": machine.get("fma_peak_gflops") and round(machine["fma_peak_gflops"], 1),
    "blas_best_gflops": round(blas["best"], 1),
    "blas": {k: (round(v, 1) if isinstance(v, float) else v) for k, v in blas.items()},
    "matmul_peak_gflops": round(peak["median_gflops"], 1),
    "vae_training_gflops": round(achieved, 1),
    "fraction_of_fma_peak": machine.get("fma_peak_gflops") and round(achieved / machine["fma_peak_gflops"], 3),
    "fraction_of_blas_best": round(achieved / blas["best"], 3),
    "fraction_of_peak": round(achieved / peak["median_gflops"], 3),
    # The same epoch's matrix products alone (vae bench --epoch-products): the floor of our epoch
    # with these kernels, and so the lowest ratio to PyTorch and highest fraction of peak in reach.
    "products_only_epoch_seconds": products_only and round(products_only["seconds"], 3),
    "products_only_ratio_over_pytorch": products_only and round(products_only["seconds"] / theirs_s, 3),
    "products_only_fraction_of_peak": products_only and round(products_only["gflops"] / peak["median_gflops"], 3),
    "vae_peak_rss_mib": round(vae_rss / 1024, 1),
    "pytorch_peak_rss_mib": round(torch_rss / 1024, 1),
    "rss_ratio_vae_over_pytorch": round(vae_rss / torch_rss, 3),
    "vae_test_loss": round(-ours[-1]["test_elbo"], 3),
    "pytorch_test_loss": round(theirs[-1]["test_loss"], 3),
    "pytorch": framework,
    # Where, when and with what this was measured, and how to measure it again.
    "machine": dict(peak.get("provenance", {}), load_average_before=load_before),
    "command": " ".join(
        [f"EPOCHS={epochs_arg}", f"THREADS={threads}", f"BATCH={batch}", f"ARCH={arch_arg}"]
        + ([f'EVAL_K="{eval_k_arg}"', f"EVAL_IMAGES={eval_images_arg}"] if eval_k_arg else [])
        + (["JAX=0"] if jax_arg == "0" else [])
        + ["bench/compare.sh"]
    ),
}
jax_lines = [json.loads(l) for l in open(f"{work}/jax.jsonl")]
jax_epochs = [l["seconds"] for l in jax_lines if "epoch" in l]
if jax_epochs:
    # Epoch 1 holds XLA's compilation: left out, as every side's first epoch is.
    jax_s = median_after_warmup(jax_epochs)
    result["jax_epoch_seconds"] = round(jax_s, 3)
    result["epoch_time_ratio_vae_over_jax"] = round(ours_s / jax_s, 3)
    result["jax_test_loss"] = round(next(l for l in reversed(jax_lines) if "epoch" in l)["test_loss"], 3)
    result["jax"] = next(l["framework"] for l in jax_lines if "framework" in l)
import os
if os.path.exists(f"{work}/run-bf16/metrics.jsonl"):
    bf16 = [json.loads(l) for l in open(f"{work}/run-bf16/metrics.jsonl")]
    bf16_s = median_after_warmup([l["train_seconds"] for l in bf16])
    result["vae_bf16_epoch_seconds"] = round(bf16_s, 3)
    result["vae_bf16_test_loss"] = round(-bf16[-1]["test_elbo"], 3)
    result["epoch_time_ratio_vae_bf16_over_pytorch"] = round(bf16_s / theirs_s, 3)
    if jax_epochs:
        result["epoch_time_ratio_vae_bf16_over_jax"] = round(bf16_s / jax_s, 3)
if products_only:
    # The measure of overhead: how far the epoch is above its products alone.
    result["epoch_over_products_only"] = round(ours_s / products_only["seconds"], 3)
def best_of_runs(side):
    """Each shape's best GFLOP/s (as run, and per layout) over the five runs of one side."""
    import glob
    runs = [json.load(open(f))["shapes"] for f in sorted(glob.glob(f"{work}/shapes_{side}_*.json"))]
    if not runs:
        return None
    best = []
    for versions in zip(*runs):
        merged = dict(versions[0])
        merged["gflops"] = {l: max(v["gflops"][l] for v in versions) for l in versions[0]["gflops"]}
        if "as_run_gflops" in merged:
            merged["as_run_gflops"] = max(v["as_run_gflops"] for v in versions)
        best.append(merged)
    return best
ours_shapes, torch_shapes = best_of_runs("vae"), best_of_runs("torch")
if ours_shapes and torch_shapes:
    # Every product shape of the training step (minibatch 128; the MLP's scoring too), as our
    # kernels run it, against torch.mm's best layout for that shape in this run.
    rows, ours_step, torch_step = [], 0.0, 0.0
    for o, t in zip(ours_shapes, torch_shapes):
        best_layout = max(t["gflops"], key=t["gflops"].get)
        torch_best = t["gflops"][best_layout]
        rows.append({
            "shape": o["name"], "m": o["m"], "k": o["k"], "n": o["n"], "as_run": o["as_run"],
            "vae_gflops": round(o["as_run_gflops"], 1),
            "torch_best_gflops": round(torch_best, 1), "torch_best_layout": best_layout,
            "ratio": round(o["as_run_gflops"] / torch_best, 3),
        })
        if o["name"].startswith("train"):
            flops = 2 * o["m"] * o["k"] * o["n"]
            ours_step += flops / o["as_run_gflops"] / 1e9
            torch_step += flops / torch_best / 1e9
    result["shapes"] = rows
    result["shapes_lowest_ratio"] = min(r["ratio"] for r in rows)
    if batch == 128:
        # An epoch's products at each shape's measured speed, ours and torch.mm's best: the floor
        # any implementation built on that BLAS would have (warm caches, so below a real epoch's).
        result["shape_products_epoch_seconds"] = round(ours_step * 60000 / batch, 3)
        result["shape_products_epoch_seconds_at_torch_best"] = round(torch_step * 60000 / batch, 3)
for line in open(f"{work}/eval.jsonl"):
    e = json.loads(line)
    result[f"iw_k{e['k']}_vae_seconds"] = round(e["vae_seconds"], 2)
    result[f"iw_k{e['k']}_pytorch_seconds"] = round(e["pytorch_seconds"], 2)
    result[f"iw_k{e['k']}_ratio"] = round(e["vae_seconds"] / e["pytorch_seconds"], 3)
    if e["products_seconds"] is not None:
        result[f"iw_k{e['k']}_decoder_products_only_seconds"] = round(e["products_seconds"], 2)
        result[f"iw_k{e['k']}_products_only_ratio"] = round(e["products_seconds"] / e["pytorch_seconds"], 3)
print(json.dumps(result, indent=2))
PY
