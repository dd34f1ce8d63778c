#!/usr/bin/env python3
"""DRAW (Gregor et al. 2015) in JAX, written the fast way: the T steps one `lax.scan` inside the
loss, the training set on the device, an epoch's batches one jit-compiled `lax.scan`, Adam from
optax. The same model as `vae train --model draw` and bench/draw_reference.py (PyTorch): LSTM
cells in PyTorch's gate order, the posterior's heads, the write layer, and with attention the read
and write grids of five numbers each; PyTorch's default initialisation with the read grid's
log σ² starting where its filters are half as wide as their spacing; dynamically binarized
MNIST, the Bernoulli loss of the final canvas and the steps' KL summed. Prints one JSON object per
epoch and a summary:

    python3 bench/draw_jax.py --data-dir ~/.cache/vae/mnist --epochs 2 --threads 2

Epoch 1 includes XLA's compilation. --batches N runs the first N batches of each epoch (for
timing a fraction of one). --threads pins the process to that many cores (XLA's CPU backend uses
every core it may run on). Needs `pip install jax optax`.
"""
import argparse
import json
import math
import os
import time

import numpy as np

from mnist_idx import find, read_idx


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=os.path.expanduser("~/.cache/vae/mnist"))
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--batches", type=int, default=None)
    p.add_argument("--steps", type=int, default=64)
    p.add_argument("--lstm", type=int, default=256)
    p.add_argument("--latent", type=int, default=100)
    p.add_argument("--read", type=int, default=2)
    p.add_argument("--write", type=int, default=5)
    p.add_argument("--no-attention", action="store_true")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[: args.threads])
    import jax
    import jax.numpy as jnp
    import optax
    from jax import lax

    train = read_idx(find(args.data_dir, "train-images-idx3-ubyte")).reshape(-1, 784) / 255.0
    test = read_idx(find(args.data_dir, "t10k-images-idx3-ubyte")).reshape(-1, 784) / 255.0
    height = width = 28
    pixels = height * width
    attention = not args.no_attention
    h = args.lstm
    read_width = 2 * (args.read ** 2 if attention else pixels)
    write_width = args.write ** 2 if attention else pixels

    def uniform(key, shape, fan_in):
        bound = 1.0 / math.sqrt(fan_in)
        return jax.random.uniform(key, shape, jnp.float32, -bound, bound)

    def linear(key, fan_in, fan_out):
        k1, k2 = jax.random.split(key)
        return {"w": uniform(k1, (fan_in, fan_out), fan_in), "b": uniform(k2, (fan_out,), fan_in)}

    def lstm(key, fan_in):
        k = jax.random.split(key, 4)
        return {"w_ih": uniform(k[0], (fan_in, 4 * h), h), "w_hh": uniform(k[1], (h, 4 * h), h),
                "b": uniform(k[2], (4 * h,), h) + uniform(k[3], (4 * h,), h)}

    def stride_scale(n):
        return (max(height, width) - 1) / (max(n, 2) - 1)

    keys = iter(jax.random.split(jax.random.PRNGKey(args.seed), 16))
    params = {
        "encoder": lstm(next(keys), read_width + h),
        "decoder": lstm(next(keys), args.latent),
        "posterior": linear(next(keys), h, 2 * args.latent),
        "write": linear(next(keys), h, write_width),
    }
    if attention:
        params["read_window"] = linear(next(keys), h, 5)
        params["write_window"] = linear(next(keys), h, 5)
        covering = 2 * math.log(max(stride_scale(args.read) / 2, 1.0))
        params["read_window"]["b"] = params["read_window"]["b"].at[2].set(covering)

    def cell(p, x, state):
        hidden, c = state
        gates = x @ p["w_ih"] + hidden @ p["w_hh"] + p["b"]
        i, f, g, o = jnp.split(gates, 4, axis=1)
        c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
        return jax.nn.sigmoid(o) * jnp.tanh(c), c

    def filterbanks(window, n):
        gx_, gy_, log_var, log_delta, log_gamma = jnp.split(window, 5, axis=1)
        gx = (width + 1) / 2 * (gx_ + 1)
        gy = (height + 1) / 2 * (gy_ + 1)
        delta = stride_scale(n) * jnp.exp(log_delta)
        var = jnp.exp(log_var)[:, :, None]
        offsets = jnp.arange(n, dtype=jnp.float32) + 0.5 - n / 2
        mu_x, mu_y = gx + offsets * delta, gy + offsets * delta
        a = jnp.arange(1, width + 1, dtype=jnp.float32)
        b = jnp.arange(1, height + 1, dtype=jnp.float32)
        fx = jax.nn.softmax(-((a - mu_x[..., None]) ** 2) / (2 * var), axis=-1)
        fy = jax.nn.softmax(-((b - mu_y[..., None]) ** 2) / (2 * var), axis=-1)
        return fx, fy, jnp.exp(log_gamma)

    def dense(p, x):
        return x @ p["w"] + p["b"]

    def read(params, x, x_hat, h_dec):
        if not attention:
            return jnp.concatenate([x, x_hat], 1)
        fx, fy, gamma = filterbanks(dense(params["read_window"], h_dec), args.read)

        def glimpse(img):
            img = img.reshape(-1, height, width)
            return jnp.einsum("rjb,rba,ria->rji", fy, img, fx).reshape(len(img), -1) * gamma

        return jnp.concatenate([glimpse(x), glimpse(x_hat)], 1)

    def write(params, h_dec):
        w = dense(params["write"], h_dec)
        if not attention:
            return w
        fx, fy, gamma = filterbanks(dense(params["write_window"], h_dec), args.write)
        patch = w.reshape(-1, args.write, args.write)
        return jnp.einsum("rjb,rji,ria->rba", fy, patch, fx).reshape(len(w), -1) / gamma

    def loss(params, x, key):
        rows = x.shape[0]
        zeros = jnp.zeros((rows, h))
        noise = jax.random.normal(key, (args.steps, rows, args.latent))

        def step(carry, eps):
            canvas, enc, dec, kl = carry
            x_hat = x - jax.nn.sigmoid(canvas)
            r = read(params, x, x_hat, dec[0])
            enc = cell(params["encoder"], jnp.concatenate([r, dec[0]], 1), enc)
            q = dense(params["posterior"], enc[0])
            mu, log_var = q[:, : args.latent], q[:, args.latent:]
            z = mu + jnp.exp(0.5 * log_var) * eps
            kl = kl + 0.5 * jnp.sum(mu ** 2 + jnp.exp(log_var) - 1 - log_var)
            dec = cell(params["decoder"], z, dec)
            return (canvas + write(params, dec[0]), enc, dec, kl), None

        init = (jnp.zeros_like(x), (zeros, zeros), (zeros, zeros), 0.0)
        (canvas, _, _, kl), _ = lax.scan(step, init, noise)
        return jnp.sum(optax.sigmoid_binary_cross_entropy(canvas, x)) + kl

    optimizer = optax.adam(args.lr)

    def train_step(carry, batch_and_key):
        params, state = carry
        grey, key = batch_and_key
        k1, k2 = jax.random.split(key)
        x = jax.random.bernoulli(k1, grey).astype(jnp.float32)
        value, grads = jax.value_and_grad(loss)(params, x, k2)
        # The mean loss's gradient, as the PyTorch reference and `vae` step with.
        grads = jax.tree_util.tree_map(lambda g: g / x.shape[0], grads)
        updates, state = optimizer.update(grads, state, params)
        return (optax.apply_updates(params, updates), state), value

    @jax.jit
    def epoch_scan(params, state, batches, keys):
        (params, state), losses = lax.scan(train_step, (params, state), (batches, keys))
        return params, state, jnp.sum(losses)

    @jax.jit
    def test_loss(params, x, key):
        return loss(params, x, key)

    b = args.batch_size
    full = len(train) // b if args.batches is None else min(args.batches, len(train) // b)
    train_device = jax.device_put(train.astype(np.float32))
    test_device = jax.device_put(np.random.default_rng(0).binomial(1, test).astype(np.float32))
    state = optimizer.init(params)
    key = jax.random.PRNGKey(args.seed + 1)
    epochs = []
    for epoch in range(1, args.epochs + 1):
        key, shuffle_key, noise_key, test_key = jax.random.split(key, 4)
        start = time.perf_counter()
        order = jax.random.permutation(shuffle_key, len(train))
        batches = train_device[order][: full * b].reshape(full, b, pixels)
        params, state, total = epoch_scan(params, state, batches, jax.random.split(noise_key, full))
        total = float(total)  # waits for the epoch's work
        seconds = time.perf_counter() - start
        tested = float(sum(test_loss(params, test_device[i:i + 1000], jax.random.fold_in(test_key, i))
                           for i in range(0, len(test), 1000))) / len(test)
        record = {"epoch": epoch, "train_loss": total / (full * b), "test_loss": tested,
                  "train_seconds": seconds, "images": full * b}
        epochs.append(record)
        print(json.dumps(record), flush=True)
    print(json.dumps({"summary": True, "framework": f"jax {jax.__version__}", "threads": args.threads,
                      "epochs": epochs}))


if __name__ == "__main__":
    main()
