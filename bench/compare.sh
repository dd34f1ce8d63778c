#!/usr/bin/env bash
# Trains the pytorch/examples VAE with `vae` and with PyTorch, one after the other, on the same
# MNIST files and thread count, and prints the median epoch time of each (after one warm-up epoch)
# and the ratio. Needs `pip install torch numpy`.
#
#   bench/compare.sh                 # 3 epochs, all cores
#   EPOCHS=5 THREADS=1 bench/compare.sh
set -euo pipefail
cd "$(dirname "$0")/.."
epochs="${EPOCHS:-3}"
threads="${THREADS:-$(nproc)}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cargo build --release --quiet
vae=target/release/vae
"$vae" data fetch mnist >/dev/null
data="$("$vae" data list | awk '/^mnist/{m=1; next} m && /train-images/{print $2; exit}')"
data="$(dirname "$data")"

echo "vae: $epochs epochs, $threads threads, data in $data" >&2
"$vae" train --binarize none --epochs "$epochs" --threads "$threads" --out "$work/run" --data-dir "$data" >&2
echo "pytorch: $epochs epochs, $threads threads" >&2
python3 bench/pytorch_reference.py --data-dir "$data" --epochs "$epochs" --threads "$threads" > "$work/torch.jsonl"

python3 - "$work/run/metrics.jsonl" "$work/torch.jsonl" "$threads" <<'PY'
import json, statistics, sys
ours = [json.loads(l) for l in open(sys.argv[1])]
torch_lines = [json.loads(l) for l in open(sys.argv[2])]
theirs = [l for l in torch_lines if "epoch" in l]
framework = next(l["framework"] for l in torch_lines if "framework" in l)
def median_after_warmup(xs):
    return statistics.median(xs[1:] if len(xs) > 1 else xs)
ours_s = median_after_warmup([l["train_seconds"] for l in ours])
theirs_s = median_after_warmup([l["seconds"] for l in theirs])
print(json.dumps({
    "threads": int(sys.argv[3]),
    "epochs": len(ours),
    "vae_epoch_seconds": round(ours_s, 3),
    "pytorch_epoch_seconds": round(theirs_s, 3),
    "ratio_vae_over_pytorch": round(ours_s / theirs_s, 3),
    "vae_test_loss": round(-ours[-1]["test_elbo"], 3),
    "pytorch_test_loss": round(theirs[-1]["test_loss"], 3),
    "pytorch": framework,
}, indent=2))
PY
