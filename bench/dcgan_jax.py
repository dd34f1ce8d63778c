#!/usr/bin/env python3
"""DCGAN on MNIST in JAX, written the fast way: the training set on the device, an epoch's
batches one jit-compiled `lax.scan`, Adam from optax. The same model and step as `vae train
--model dcgan` and bench/dcgan_reference.py (PyTorch), channel-last (NHWC) as ours:

Generator: z (100) -> dense 7*7*128 -> 7 x 7 x 128 -> batch norm -> ReLU -> transposed conv
  (4 x 4, stride 2, padding 1) to 64 channels -> batch norm -> ReLU -> transposed conv to 1
  channel -> sigmoid.
Discriminator: conv (4 x 4, stride 2, padding 1) to 64 -> Leaky ReLU 0.2 -> conv to 128 ->
  batch norm -> Leaky ReLU 0.2 -> flatten -> dense 1.
A step: z ~ N(0, I), fake = G(z); the discriminator's summed BCE on the real batch and the fakes
(held fixed) and its Adam step; then the generator's summed BCE of D(fake) against "real" through
the updated discriminator and its Adam step (lr 2e-4, b1 0.5). Batch normalization uses each
batch's statistics (training mode); the running estimates, which the step never reads, are not
kept. Prints one JSON object per epoch and a summary:

    python3 bench/dcgan_jax.py --data-dir ~/.cache/vae/mnist --epochs 2 --threads 2

Epoch 1 includes XLA's compilation. --batches N runs the first N batches of each epoch.
--threads pins the process to that many cores. Needs `pip install jax optax`.
"""
import argparse
import json
import os
import time

import numpy as np

from mnist_idx import find, read_idx


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=os.path.expanduser("~/.cache/vae/mnist"))
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--batches", type=int, default=None)
    p.add_argument("--latent", type=int, default=100)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[: args.threads])
    import jax
    import jax.numpy as jnp
    import optax
    from jax import lax

    train = read_idx(find(args.data_dir, "train-images-idx3-ubyte")).reshape(-1, 28, 28, 1) / 255.0
    key = jax.random.PRNGKey(args.seed)
    keys = iter(jax.random.split(key, 16))

    def uniform(shape, fan_in):
        bound = 1.0 / np.sqrt(fan_in)
        return jax.random.uniform(next(keys), shape, jnp.float32, -bound, bound)

    def conv_params(k, cin, cout):  # HWIO
        return {"w": uniform((k, k, cin, cout), cin * k * k), "b": uniform((cout,), cin * k * k)}

    def norm_params(c):
        return {"g": jnp.ones((c,)), "b": jnp.zeros((c,))}

    generator = {
        "project": {"w": uniform((args.latent, 7 * 7 * 128), args.latent),
                    "b": uniform((7 * 7 * 128,), args.latent)},
        "norm0": norm_params(128),
        "up1": conv_params(4, 128, 64),
        "norm1": norm_params(64),
        "up2": conv_params(4, 64, 1),
    }
    discriminator = {
        "conv1": conv_params(4, 1, 64),
        "conv2": conv_params(4, 64, 128),
        "norm2": norm_params(128),
        "output": {"w": uniform((7 * 7 * 128, 1), 7 * 7 * 128), "b": uniform((1,), 7 * 7 * 128)},
    }
    dims = ("NHWC", "HWIO", "NHWC")

    def batch_norm(p, h):
        mean = jnp.mean(h, axis=(0, 1, 2))
        var = jnp.var(h, axis=(0, 1, 2))
        return (h - mean) * lax.rsqrt(var + 1e-5) * p["g"] + p["b"]

    def conv(p, h):
        out = lax.conv_general_dilated(h, p["w"], (2, 2), ((1, 1), (1, 1)), dimension_numbers=dims)
        return out + p["b"]

    def up(p, h):
        # The transposed convolution of PyTorch's ConvTranspose2d(4, 2, 1): padding k - 1 - p.
        out = lax.conv_transpose(h, p["w"], (2, 2), ((2, 2), (2, 2)), dimension_numbers=dims)
        return out + p["b"]

    def G(p, z):
        h = (z @ p["project"]["w"] + p["project"]["b"]).reshape(-1, 7, 7, 128)
        h = jax.nn.relu(batch_norm(p["norm0"], h))
        h = jax.nn.relu(batch_norm(p["norm1"], up(p["up1"], h)))
        return jax.nn.sigmoid(up(p["up2"], h))

    def D(p, x):
        h = jax.nn.leaky_relu(conv(p["conv1"], x), 0.2)
        h = jax.nn.leaky_relu(batch_norm(p["norm2"], conv(p["conv2"], h)), 0.2)
        return (h.reshape(h.shape[0], -1) @ p["output"]["w"] + p["output"]["b"])[:, 0]

    def bce(logits, real):
        labels = jnp.ones_like(logits) if real else jnp.zeros_like(logits)
        return jnp.sum(optax.sigmoid_binary_cross_entropy(logits, labels))

    opt = optax.adam(args.lr, b1=0.5, b2=0.999)

    def d_loss(d, x, fake):
        return bce(D(d, x), True) + bce(D(d, fake), False)

    def g_loss(g, d, z):
        return bce(D(d, G(g, z)), True)

    def train_step(carry, batch_and_key):
        g, d, g_state, d_state = carry
        x, key = batch_and_key
        z = jax.random.normal(key, (x.shape[0], args.latent))
        fake = lax.stop_gradient(G(g, z))
        d_value, d_grads = jax.value_and_grad(d_loss)(d, x, fake)
        updates, d_state = opt.update(d_grads, d_state, d)
        d = optax.apply_updates(d, updates)
        g_value, g_grads = jax.value_and_grad(g_loss)(g, d, z)
        updates, g_state = opt.update(g_grads, g_state, g)
        g = optax.apply_updates(g, updates)
        return (g, d, g_state, d_state), (d_value, g_value)

    @jax.jit
    def epoch_scan(carry, batches, keys):
        carry, (d_values, g_values) = lax.scan(train_step, carry, (batches, keys))
        return carry, jnp.sum(d_values), jnp.sum(g_values)

    b = args.batch_size
    full = len(train) // b if args.batches is None else min(args.batches, len(train) // b)
    train_device = jax.device_put(train.astype(np.float32))
    carry = (generator, discriminator, opt.init(generator), opt.init(discriminator))
    key = jax.random.PRNGKey(args.seed + 1)
    epochs = []
    for epoch in range(1, args.epochs + 1):
        key, shuffle_key, noise_key = jax.random.split(key, 3)
        start = time.perf_counter()
        order = jax.random.permutation(shuffle_key, len(train))
        batches = train_device[order][: full * b].reshape(full, b, 28, 28, 1)
        carry, d_total, g_total = epoch_scan(carry, batches, jax.random.split(noise_key, full))
        d_total, g_total = float(d_total), float(g_total)  # waits for the epoch's work
        seconds = time.perf_counter() - start
        record = {"epoch": epoch, "discriminator": d_total / (full * b),
                  "generator": g_total / (full * b), "train_seconds": seconds, "images": full * b}
        epochs.append(record)
        print(json.dumps(record), flush=True)
    print(json.dumps({"summary": True, "framework": f"jax {jax.__version__}", "threads": args.threads,
                      "epochs": epochs}))


if __name__ == "__main__":
    main()
