#!/usr/bin/env bash
# A DCGAN training epoch on MNIST: `vae train --model dcgan` against the same model and step in
# PyTorch (bench/dcgan_reference.py) and in JAX (bench/dcgan_jax.py: the epoch's batches one
# jit-compiled lax.scan, data on the device), one after the other on the same MNIST files and
# thread count. Prints one JSON object.
#
# Ours trains one whole epoch (469 batches of 128). The references run BATCHES batches (PyTorch,
# default 100) or JAX_BATCHES (default 10: XLA's CPU convolutions with strides run slowly here)
# after one untimed warm-up epoch of the same length, which for JAX holds XLA's compilation; their
# epoch time is that pace times the epoch's images, and the JSON says so. Needs `pip install torch
# numpy`; JAX runs when JAX_PYTHON (default python3) imports jax and optax, and JAX=0 leaves it
# out.
#
# Ours and PyTorch alternate for ROUNDS rounds (default 3), each round one epoch of ours and then
# PyTorch's batches, and the ratio reported is the median of the rounds' ratios: a shared machine
# whose speed drifts from one minute to the next then moves both sides of a round alike. JAX, 30
# times slower here, runs once.
#
#   THREADS=2 bench/dcgan_compare.sh
set -euo pipefail
cd "$(dirname "$0")/.."
threads="${THREADS:-$(nproc)}"
batches="${BATCHES:-100}"
jax_batches="${JAX_BATCHES:-10}"
jax_python="${JAX_PYTHON:-python3}"
rounds="${ROUNDS:-3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Read before the build, whose own load would otherwise show in it.
load_before="$(cut -d' ' -f1 /proc/loadavg)"
cargo build --release --quiet
vae=target/release/vae
"$vae" data fetch mnist >/dev/null
data="$("$vae" data list | awk '/^mnist/{m=1; next} m && /train-images/{print $2; exit}')"
data="$(dirname "$data")"

for round in $(seq 1 "$rounds"); do
    echo "round $round of $rounds: vae, one epoch, $threads threads" >&2
    "$vae" train --dataset mnist --model dcgan --epochs 1 --threads "$threads" \
        --out "$work/vae$round" > "$work/vae$round.log"
    echo "round $round of $rounds: PyTorch, $batches batches after as many untimed, $threads threads" >&2
    python3 bench/dcgan_reference.py --data-dir "$data" --epochs 2 --batches "$batches" \
        --threads "$threads" > "$work/torch$round.json"
done
if [ "${JAX:-1}" != 0 ] && "$jax_python" -c "import jax, optax" 2>/dev/null; then
    echo "JAX: $jax_batches batches after as many untimed (compilation), $threads threads" >&2
    "$jax_python" bench/dcgan_jax.py --data-dir "$data" --epochs 2 --batches "$jax_batches" \
        --threads "$threads" > "$work/jax.json"
else
    echo '{"summary": true, "skipped": "jax and optax are not importable"}' > "$work/jax.json"
fi

python3 - "$work" "$load_before" "$batches" "$jax_batches" "$threads" "$rounds" <<'PY'
import json, statistics, subprocess, sys
work, load_before = sys.argv[1], float(sys.argv[2])
batches, jax_batches, threads = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
rounds = int(sys.argv[6])
config = json.load(open(f"{work}/vae1/config.json"))
def pace(path):
    summary = json.loads(open(path).read().strip().splitlines()[-1])
    if "skipped" in summary:
        return None, summary
    last = summary["epochs"][-1]
    return last["train_seconds"] / last["images"] * 60000, summary
pairs = []
for r in range(1, rounds + 1):
    ours = json.loads(open(f"{work}/vae{r}/metrics.jsonl").readline())
    torch_epoch, torch_summary = pace(f"{work}/torch{r}.json")
    pairs.append({"round": r, "vae_epoch_seconds": ours["train_seconds"],
                  "pytorch_epoch_seconds": torch_epoch,
                  "vae_over_pytorch": ours["train_seconds"] / torch_epoch,
                  "vae_first_epoch": ours, "pytorch": torch_summary})
vae_epoch = statistics.median(p["vae_epoch_seconds"] for p in pairs)
torch_epoch = statistics.median(p["pytorch_epoch_seconds"] for p in pairs)
jax_epoch, jax_summary = pace(f"{work}/jax.json")
provenance = json.loads(subprocess.run(["target/release/vae", "bench", "--threads", str(threads), "--repeats", "1"],
                                       capture_output=True, text=True, check=True).stdout)["provenance"]
record = {
    "command": f"THREADS={threads} BATCHES={batches} JAX_BATCHES={jax_batches} ROUNDS={rounds} bench/dcgan_compare.sh",
    "what": "one DCGAN training epoch on MNIST (60,000 images, batch 128: a discriminator and a generator step per batch); the references' epoch is their pace over the timed batches times 60,000 images; ours and PyTorch alternate for the rounds, the epoch times are the rounds' medians and vae_over_pytorch the median of the rounds' ratios",
    "model": {"generator": config["model"]["decoder"], "discriminator": config["model"]["discriminator"],
              "latent": config["model"]["latent"]},
    "vae_epoch_seconds": vae_epoch,
    "pytorch_epoch_seconds": torch_epoch,
    "jax_epoch_seconds": jax_epoch,
    "vae_over_pytorch": statistics.median(p["vae_over_pytorch"] for p in pairs),
    "vae_over_jax": None if jax_epoch is None else vae_epoch / jax_epoch,
    "reference_batches_timed": {"pytorch": batches, "jax": jax_batches},
    "rounds": pairs,
    "jax": jax_summary,
    "load_average_before": load_before,
    "machine": provenance,
}
print(json.dumps(record, indent=2))
PY
