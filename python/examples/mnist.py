"""Train a VAE with a 2-D latent space on MNIST from Python, score it, and draw its latent space
as Kingma & Welling's Fig. 4b: a grid of points through the prior's quantiles, decoded.

    python python/examples/mnist.py --epochs 10 --out runs/python-mnist \
        --picture manifold.png --record mnist.json

Draws with matplotlib when it is installed, and otherwise writes the grid as a PNG itself. With
--record, writes the numbers it prints, the command and the machine to a JSON file."""

import argparse
import json
import platform
import struct
import sys
import time
import zlib
from statistics import NormalDist

import numpy as np

import vae


def write_png(path: str, grey: np.ndarray) -> None:
    """An 8-bit grey-level PNG of `grey` in [0, 1], without dependencies."""
    pixels = np.round(np.clip(grey, 0, 1) * 255).astype(np.uint8)
    rows = b"".join(b"\x00" + row.tobytes() for row in pixels)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", pixels.shape[1], pixels.shape[0], 8, 0, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


def manifold(model: vae.VAE, n: int = 20) -> np.ndarray:
    """The decoded grid, (n * 28) x (n * 28)."""
    quantiles = [NormalDist().inv_cdf((i + 0.5) / n) for i in range(n)]
    z = np.array([[x, y] for y in reversed(quantiles) for x in quantiles], dtype=np.float32)
    images = model.decode(z)
    h, w = images.shape[1:3]
    return images.reshape(n, n, h, w).transpose(0, 2, 1, 3).reshape(n * h, n * w)


def machine(threads: int) -> dict:
    return {**vae.provenance(threads), "python": platform.python_version(), "numpy": np.__version__}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=None, help="the run directory (else a temporary one)")
    parser.add_argument("--picture", default="manifold.png")
    parser.add_argument("--record", default=None)
    parser.add_argument("--k", type=int, default=1000, help="importance samples for log p(x)")
    args = parser.parse_args()

    data = vae.datasets.mnist()
    model = vae.VAE(latent=2, seed=0, threads=args.threads)
    started = time.time()
    model.fit(data, epochs=args.epochs, out=args.out)
    seconds = time.time() - started
    # Scored as trained: binarized, on the binary test images `vae eval` scores.
    test = vae.datasets.binarize(data.test_images)
    elbo = float(model.elbo(test)[:, 0].mean())
    log_px, stderr = model.log_likelihood(test[:1000], k=args.k)
    print(f"trained {args.epochs} epochs in {seconds:.1f} s")
    print(f"test ELBO {elbo:.2f} nats; log p(x) {log_px:.2f} ± {stderr:.2f} nats (K = {args.k}, 1,000 images)")

    grid = manifold(model)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        plt.imsave(args.picture, grid, cmap="gray", vmin=0, vmax=1)
    except ImportError:
        write_png(args.picture, grid)
    print(f"wrote {args.picture}")
    if args.record:
        record = {
            "command": "python " + " ".join(sys.argv),
            "epochs": args.epochs,
            "latent": 2,
            "train_seconds": round(seconds, 2),
            "epoch_seconds": round(seconds / args.epochs, 3),
            "final_train_loss": round(model.history[-1]["train_loss"], 2),
            "final_test_loss": round(model.history[-1]["test_loss"], 2),
            "test_elbo": round(elbo, 2),
            "log_likelihood": round(log_px, 2),
            "log_likelihood_stderr": round(stderr, 2),
            "iw_samples": args.k,
            "log_likelihood_images": 1000,
            "picture": args.picture,
            "machine": machine(args.threads),
        }
        with open(args.record, "w") as f:
            json.dump(record, f, indent=2)
            f.write("\n")
        print(f"wrote {args.record}")


if __name__ == "__main__":
    main()
