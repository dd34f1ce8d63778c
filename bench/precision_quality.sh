#!/usr/bin/env bash
# What `--precision bf16` costs in quality on the default model (784-400-20 ReLU, Adam, batch 128,
# dynamically binarized MNIST): the 10-epoch test loss of each seed in fp32 and in bf16, and the
# log-likelihood of the first seed's two models with K importance samples (scored in fp32, as
# `vae eval` always scores). Prints one JSON object.
#
#   bench/precision_quality.sh                    # seeds 0 1 2, K = 5000
#   SEEDS="0 1 2 3" K=1000 bench/precision_quality.sh
set -euo pipefail
cd "$(dirname "$0")/.."
seeds="${SEEDS:-0 1 2}"
k="${K:-5000}"
threads="${THREADS:-$(nproc)}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cargo build --release --quiet
vae=target/release/vae
for seed in $seeds; do
    for precision in fp32 bf16; do
        echo "train: seed $seed, $precision" >&2
        "$vae" train --epochs 10 --seed "$seed" --precision "$precision" --threads "$threads" \
            --out "$work/$precision-$seed" >&2
    done
done
first="${seeds%% *}"
for precision in fp32 bf16; do
    echo "eval: seed $first, $precision, K = $k" >&2
    "$vae" eval --model "$work/$precision-$first" --iw-samples "$k" --threads "$threads" --json \
        > "$work/eval-$precision.json"
done

python3 - "$work" "$seeds" "$k" "$threads" <<'PY'
import json, statistics, sys
work, seeds, k, threads = sys.argv[1], sys.argv[2].split(), int(sys.argv[3]), int(sys.argv[4])
result = {"model": "vae train defaults: 784-400-20 relu, Adam 1e-3, batch 128, 10 epochs"}
for precision in ("fp32", "bf16"):
    losses, epochs = [], []
    for seed in seeds:
        lines = [json.loads(l) for l in open(f"{work}/{precision}-{seed}/metrics.jsonl")]
        losses.append(-lines[-1]["test_elbo"])
        epochs.append(statistics.median(l["train_seconds"] for l in lines[1:]))
    scored = json.load(open(f"{work}/eval-{precision}.json"))
    result[precision] = {
        "test_loss_by_seed": dict(zip(seeds, [round(x, 3) for x in losses])),
        "test_loss_mean": round(statistics.mean(losses), 3),
        "test_loss_std": round(statistics.stdev(losses), 3) if len(losses) > 1 else None,
        "epoch_seconds_median": round(statistics.median(epochs), 3),
        f"seed_{seeds[0]}_elbo_k{k}": round(scored["elbo"], 3),
        f"seed_{seeds[0]}_log_likelihood_k{k}": round(scored["log_likelihood"], 3),
        f"seed_{seeds[0]}_log_likelihood_stderr": round(scored["log_likelihood_stderr"], 3),
    }
    result["machine"] = scored["machine"]
result["bf16_minus_fp32_test_loss_mean"] = round(result["bf16"]["test_loss_mean"] - result["fp32"]["test_loss_mean"], 3)
result["command"] = " ".join([f'SEEDS="{" ".join(seeds)}"', f"K={k}", f"THREADS={threads}", "bench/precision_quality.sh"])
print(json.dumps(result, indent=2))
PY
