#!/usr/bin/env bash
# A DRAW training epoch on MNIST: `vae train --model draw` against the same model in PyTorch
# (bench/draw_reference.py) and in JAX (bench/draw_jax.py: the steps and the epoch's batches each
# one lax.scan, jit-compiled, data on the device), one after the other on the same MNIST files and
# thread count. Prints one JSON object.
#
# Ours trains one whole epoch. The references run BATCHES batches (default 100 of the 600) after
# one untimed warm-up epoch of the same length, which for JAX holds XLA's compilation; their epoch
# time is that pace times the epoch's batches, and the JSON says so. Needs `pip install torch
# numpy`; JAX runs when JAX_PYTHON (default python3) imports jax and optax, and JAX=0 leaves it out.
#
#   bench/draw_compare.sh                              # the paper's MNIST model, with attention
#   ATTENTION=0 bench/draw_compare.sh                  # without attention
#   STEPS=16 LSTM=128 LATENT=10 bench/draw_compare.sh  # a smaller model
set -euo pipefail
cd "$(dirname "$0")/.."
threads="${THREADS:-$(nproc)}"
steps="${STEPS:-64}"
lstm="${LSTM:-256}"
latent="${LATENT:-100}"
batches="${BATCHES:-100}"
attention="${ATTENTION:-1}"
jax_python="${JAX_PYTHON:-python3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Read before the build, whose own load would otherwise show in it.
load_before="$(cut -d' ' -f1 /proc/loadavg)"
cargo build --release --quiet
vae=target/release/vae
"$vae" data fetch mnist >/dev/null
data="$("$vae" data list | awk '/^mnist/{m=1; next} m && /train-images/{print $2; exit}')"
data="$(dirname "$data")"
if [ "$attention" = 1 ]; then
    grids=(--read 2 --write 5)
else
    grids=(--no-attention)
fi
model=(--steps "$steps" --lstm "$lstm" --latent "$latent" "${grids[@]}")

echo "vae: one epoch, $threads threads" >&2
"$vae" train --dataset mnist --model draw "${model[@]}" --batch-size 100 --clip-norm 10 \
    --epochs 1 --threads "$threads" --out "$work/vae" > "$work/vae.log"
echo "PyTorch: $batches batches after as many untimed, $threads threads" >&2
python3 bench/draw_reference.py --data-dir "$data" "${model[@]}" --epochs 2 --batches "$batches" \
    --clip-norm 10 --threads "$threads" > "$work/torch.json"
if [ "${JAX:-1}" != 0 ] && "$jax_python" -c "import jax, optax" 2>/dev/null; then
    echo "JAX: $batches batches after as many untimed (compilation), $threads threads" >&2
    "$jax_python" bench/draw_jax.py --data-dir "$data" "${model[@]}" --epochs 2 \
        --batches "$batches" --threads "$threads" > "$work/jax.json"
else
    echo '{"summary": true, "skipped": "jax and optax are not importable"}' > "$work/jax.json"
fi

python3 - "$work" "$load_before" "$batches" "$threads" "$steps" "$lstm" "$latent" "$attention" <<'EOF'
import json, subprocess, sys
work, load_before, batches, threads = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
steps, lstm, latent, attention = sys.argv[5:9]
ours = json.loads(open(f"{work}/vae/metrics.jsonl").readline())
config = json.load(open(f"{work}/vae/config.json"))
def pace(path):
    summary = json.loads(open(path).read().strip().splitlines()[-1])
    if "skipped" in summary:
        return None, summary
    last = summary["epochs"][-1]
    return last["train_seconds"] / last["images"] * 60000, summary
torch_epoch, torch_summary = pace(f"{work}/torch.json")
jax_epoch, jax_summary = pace(f"{work}/jax.json")
provenance = json.loads(subprocess.run(["target/release/vae", "bench", "--threads", str(threads), "--repeats", "1"],
                                       capture_output=True, text=True, check=True).stdout)["provenance"]
record = {
    "command": f"THREADS={threads} STEPS={steps} LSTM={lstm} LATENT={latent} ATTENTION={attention} BATCHES={batches} bench/draw_compare.sh",
    "what": "one DRAW training epoch on MNIST (60,000 images, batch 100); the references' epoch is their pace over the timed batches times 600",
    "model": config["model"]["draw"] | {"latent": config["model"]["latent"]},
    "vae_epoch_seconds": ours["train_seconds"],
    "pytorch_epoch_seconds": torch_epoch,
    "jax_epoch_seconds": jax_epoch,
    "vae_over_pytorch": ours["train_seconds"] / torch_epoch,
    "vae_over_jax": None if jax_epoch is None else ours["train_seconds"] / jax_epoch,
    "reference_batches_timed": batches,
    "pytorch": torch_summary,
    "jax": jax_summary,
    "vae_first_epoch": ours,
    "load_average_before": load_before,
    "machine": provenance,
}
print(json.dumps(record, indent=2))
EOF
