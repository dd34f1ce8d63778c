#!/usr/bin/env python3
"""The benchmarked VAEs in JAX, written the way a careful JAX user writes them: the training set
on the device once, one jit-compiled `lax.scan` over an epoch's full batches (and one jitted
step for the last, smaller batch), Adam from optax. The same models as bench/pytorch_reference.py
and `vae train --binarize none`: grey-level targets under a Bernoulli decoder (BCE summed over
pixels and batch), the analytic KL, Adam(lr=1e-3), PyTorch's default initialisation, the
training set shuffled every epoch. Prints one JSON object per epoch and a summary:

    python3 bench/jax_reference.py --data-dir ~/.cache/vae/mnist --epochs 5 --threads 2
    python3 bench/jax_reference.py --data-dir DIR --arch conv                 # the conv preset
    python3 bench/jax_reference.py --data-dir DIR --hidden 200,200 --latent 50 \\
        --activation tanh --batch-size 20                                     # Burda et al.'s net

Epoch 1 includes XLA's compilation; the summary's median leaves it out. --threads pins the
process to that many cores (XLA's CPU backend uses every core it may run on). Needs
`pip install jax optax`.
"""
import argparse
import json
import math
import os
import time

import numpy as np

from mnist_idx import find, read_idx


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--arch", choices=["mlp", "conv"], default="mlp")
    parser.add_argument("--hidden", default="400", help="hidden widths, comma-separated (mlp)")
    parser.add_argument("--latent", type=int, default=20)
    parser.add_argument("--activation", choices=["relu", "tanh"], default="relu")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    # Before jax is imported: XLA sizes its thread pool from the cores it may run on.
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[: args.threads])
    import jax
    import jax.numpy as jnp
    import optax
    from jax import lax

    train = read_idx(find(args.data_dir, "train-images-idx3-ubyte")).astype(np.float32) / 255.0
    test = read_idx(find(args.data_dir, "t10k-images-idx3-ubyte")).astype(np.float32) / 255.0
    n, pixels = len(train), 28 * 28
    act = jax.nn.relu if args.activation == "relu" else jnp.tanh
    hidden = [int(h) for h in args.hidden.split(",")]
    key = jax.random.PRNGKey(args.seed)

    def uniform(key, shape, fan_in):
        bound = 1.0 / math.sqrt(fan_in)
        return jax.random.uniform(key, shape, jnp.float32, -bound, bound)

    def linear(key, fan_in, fan_out):
        k1, k2 = jax.random.split(key)
        return {"w": uniform(k1, (fan_in, fan_out), fan_in), "b": uniform(k2, (fan_out,), fan_in)}

    def conv(key, c_in, c_out, k=4, transpose=False):
        k1, k2 = jax.random.split(key)
        fan_in = (c_out if transpose else c_in) * k * k
        return {"w": uniform(k1, (k, k, c_in, c_out), fan_in), "b": uniform(k2, (c_out,), fan_in)}

    keys = iter(jax.random.split(key, 16))
    if args.arch == "mlp":
        widths = [pixels] + hidden
        params = {
            "enc": [linear(next(keys), a, b) for a, b in zip(widths, widths[1:])],
            "mean": linear(next(keys), widths[-1], args.latent),
            "log_var": linear(next(keys), widths[-1], args.latent),
            "dec": [linear(next(keys), a, b) for a, b in zip([args.latent] + hidden[::-1], hidden[::-1])],
            "out": linear(next(keys), hidden[0], pixels),
        }
    else:
        h = hidden[0]
        params = {
            "conv": [conv(next(keys), 1, 32), conv(next(keys), 32, 64)],
            "enc": [linear(next(keys), 7 * 7 * 64, h)],
            "mean": linear(next(keys), h, args.latent),
            "log_var": linear(next(keys), h, args.latent),
            "dec": [linear(next(keys), args.latent, h), linear(next(keys), h, 7 * 7 * 64)],
            "deconv": [conv(next(keys), 64, 32, transpose=True), conv(next(keys), 32, 1, transpose=True)],
        }
    dims = ("NHWC", "HWIO", "NHWC")

    def dense(p, x):
        return x @ p["w"] + p["b"]

    def encode(params, x):
        if args.arch == "conv":
            h = x.reshape(-1, 28, 28, 1)
            for p in params["conv"]:
                h = act(lax.conv_general_dilated(h, p["w"], (2, 2), ((1, 1), (1, 1)), dimension_numbers=dims) + p["b"])
            h = h.reshape(h.shape[0], -1)
        else:
            h = x
        for p in params["enc"]:
            h = act(dense(p, h))
        return dense(params["mean"], h), dense(params["log_var"], h)

    def decode_logits(params, z):
        h = z
        for p in params["dec"]:
            h = act(dense(p, h))
        if args.arch == "conv":
            h = h.reshape(-1, 7, 7, 64)
            last = len(params["deconv"]) - 1
            for i, p in enumerate(params["deconv"]):
                h = lax.conv_transpose(h, p["w"], (2, 2), "SAME", dimension_numbers=dims) + p["b"]
                h = h if i == last else act(h)
            return h.reshape(h.shape[0], -1)
        return dense(params["out"], h)

    def loss(params, x, key):
        mean, log_var = encode(params, x)
        z = mean + jnp.exp(0.5 * log_var) * jax.random.normal(key, mean.shape)
        logits = decode_logits(params, z)
        bce = jnp.sum(optax.sigmoid_binary_cross_entropy(logits, x))
        kl = -0.5 * jnp.sum(1 + log_var - mean**2 - jnp.exp(log_var))
        return bce + kl

    optimizer = optax.adam(1e-3)

    def step(carry, x_and_key):
        params, state = carry
        x, key = x_and_key
        value, grads = jax.value_and_grad(loss)(params, x, key)
        updates, state = optimizer.update(grads, state, params)
        return (optax.apply_updates(params, updates), state), value

    @jax.jit
    def epoch_scan(params, state, batches, keys):
        (params, state), losses = lax.scan(step, (params, state), (batches, keys))
        return params, state, jnp.sum(losses)

    @jax.jit
    def one_step(params, state, x, key):
        (params, state), value = step((params, state), (x, key))
        return params, state, value

    @jax.jit
    def test_loss(params, x, key):
        return loss(params, x, key)

    b = args.batch_size
    full = n // b
    train_device = jax.device_put(train.reshape(n, pixels))
    test_device = jax.device_put(test.reshape(len(test), pixels))
    state = optimizer.init(params)
    epoch_seconds = []
    for epoch in range(1, args.epochs + 1):
        key, shuffle_key, noise_key, rest_key, test_key = jax.random.split(key, 5)
        start = time.perf_counter()
        order = jax.random.permutation(shuffle_key, n)
        shuffled = train_device[order]
        batches = shuffled[: full * b].reshape(full, b, pixels)
        params, state, total = epoch_scan(params, state, batches, jax.random.split(noise_key, full))
        if n % b:
            params, state, rest = one_step(params, state, shuffled[full * b :], rest_key)
            total = total + rest
        total = float(total)  # waits for the epoch's work
        epoch_seconds.append(time.perf_counter() - start)
        tested = float(test_loss(params, test_device, test_key)) / len(test)
        print(json.dumps({"epoch": epoch, "train_loss": total / n, "test_loss": tested, "seconds": epoch_seconds[-1]}), flush=True)
    summary = {
        "framework": f"jax {jax.__version__}",
        "threads": args.threads,
        "arch": args.arch,
        "batch_size": b,
        "epoch_seconds": epoch_seconds,
    }
    if epoch_seconds:
        summary["median_epoch_seconds_after_warmup"] = float(np.median(epoch_seconds[1:] or epoch_seconds))
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
