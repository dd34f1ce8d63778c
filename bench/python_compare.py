#!/usr/bin/env python3
"""`vae.VAE(...).fit` from Python against `vae train` and the PyTorch reference (the
pytorch/examples VAE, bench/pytorch_reference.py), in one run on one machine: the same model
(784-400-20, ReLU, Bernoulli on grey levels, Adam 1e-3, batch 128), the same threads. Reports the
median training-epoch seconds after each run's first epoch, their ratios, and the time
`import vae` takes; with --record, writes them with the machine to a JSON file. Python and the
binary take turns, --rounds times each, so a load that comes and goes falls on both.

    python bench/python_compare.py --epochs 4 --rounds 3 --threads 2 --record docs/records/bench-python.json
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def median_after_first(runs):
    """The median epoch over runs (lists of epoch seconds), each without its first epoch."""
    return statistics.median([s for run in runs for s in (run[1:] or run)])


def cli_epochs(binary, epochs, threads, out):
    subprocess.run(
        [binary, "train", "--binarize", "none", "--epochs", str(epochs), "--threads", str(threads),
         "--seed", "0", "--out", out],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    with open(os.path.join(out, "metrics.jsonl")) as f:
        return [json.loads(line)["train_seconds"] for line in f]


def python_epochs(epochs, threads):
    import vae

    data = vae.datasets.mnist()
    model = vae.VAE(binarize="none", seed=0, threads=threads)
    model.fit(data, epochs=epochs, progress=False, pictures=False)
    return [e["seconds"] for e in model.history]


def torch_epochs(python, data_dir, epochs, threads):
    result = subprocess.run(
        [python, os.path.join(HERE, "pytorch_reference.py"), "--data-dir", data_dir,
         "--epochs", str(epochs), "--threads", str(threads)],
        check=True, capture_output=True, text=True,
    )
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    return summary["epoch_seconds"], summary["framework"]


def import_seconds(python, runs=5):
    code = "import time; t = time.perf_counter(); import vae; print(time.perf_counter() - t)"
    times = [float(subprocess.run([python, "-c", code], check=True, capture_output=True, text=True,
                                  cwd=tempfile.gettempdir()).stdout) for _ in range(runs)]
    return statistics.median(times)


def machine(threads):
    import vae

    return {**vae.provenance(threads), "python": platform.python_version(),
            "load_average_before": os.getloadavg()[0]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--vae", default=os.path.join(ROOT, "target", "release", "vae"))
    parser.add_argument("--torch-python", default=sys.executable,
                        help="the interpreter that has torch (default: this one)")
    parser.add_argument("--data-dir", default=os.path.expanduser("~/.cache/vae/mnist"))
    parser.add_argument("--record", default=None)
    args = parser.parse_args()

    before = machine(args.threads)
    cli, py = [], []
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory() as work:
            cli.append(cli_epochs(args.vae, args.epochs, args.threads, os.path.join(work, "run")))
        py.append(python_epochs(args.epochs, args.threads))
    torch, framework = torch_epochs(args.torch_python, args.data_dir, args.epochs, args.threads)
    torch = [torch]
    result = {
        "epochs": args.epochs,
        "python_epoch_seconds": round(median_after_first(py), 3),
        "cli_epoch_seconds": round(median_after_first(cli), 3),
        "pytorch_epoch_seconds": round(median_after_first(torch), 3),
        "python_over_cli": round(median_after_first(py) / median_after_first(cli), 3),
        "python_over_pytorch": round(median_after_first(py) / median_after_first(torch), 3),
        "import_seconds": round(import_seconds(sys.executable), 3),
        "rounds": args.rounds,
        "python_epochs": [[round(s, 3) for s in run] for run in py],
        "cli_epochs": [[round(s, 3) for s in run] for run in cli],
        "pytorch_epochs": [[round(s, 3) for s in run] for run in torch],
        "pytorch": framework,
        "command": "python bench/python_compare.py " + " ".join(sys.argv[1:]),
        "machine": before,
    }
    print(json.dumps(result, indent=2))
    if args.record:
        with open(args.record, "w") as f:
            json.dump(result, f, indent=2)
            f.write("\n")


if __name__ == "__main__":
    main()
