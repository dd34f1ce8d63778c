#!/usr/bin/env python3
"""The pytorch/examples VAE (vae/main.py) as a reference for `vae`: same network, loss and optimizer.

784-400-20 MLP with ReLU, BCE summed over pixels and batch on grey-level targets, analytic KL,
Adam(lr=1e-3), batch 128, shuffled each epoch. Reads the raw or gzipped MNIST IDX files from
--data-dir (no torchvision needed) and prints one JSON object per epoch and a summary:

    python3 bench/pytorch_reference.py --data-dir ~/.cache/vae/mnist --epochs 10 --threads 2

With --arch conv, the same architecture as `vae train --arch conv` on MNIST: Conv2d(1, 32, 4, 2,
1), Conv2d(32, 64, 4, 2, 1), Linear(3136, 400), heads to 20; Linear(20, 400), Linear(400, 3136),
ConvTranspose2d(64, 32, 4, 2, 1), ConvTranspose2d(32, 1, 4, 2, 1), ReLU after each but the last.
`vae` stores images channel-last, so between the convolutions and the dense layers the tensor is
permuted to [batch, height, width, channels] before it is flattened (and back after the reshape):
with that, a `vae` checkpoint loads into this model unchanged (--load DIR checks it).
"""
import argparse, json, math, os, struct, sys, time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn, optim

from mnist_idx import find, read_idx


class VAE(nn.Module):
    def __init__(self, pixels=784):
        super().__init__()
        self.fc1 = nn.Linear(pixels, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, pixels)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        return mu + torch.randn_like(std) * std

    def decode_logits(self, z):
        return self.fc4(F.relu(self.fc3(z)))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, self.fc1.in_features))
        return self.decode_logits(self.reparameterize(mu, logvar)), mu, logvar


class ConvVAE(nn.Module):
    """`vae train --arch conv --latent LATENT --hidden HIDDEN` on 28 x 28 x 1 images."""

    def __init__(self, latent=20, hidden=400):
        super().__init__()
        self.conv0 = nn.Conv2d(1, 32, 4, 2, 1)
        self.conv1 = nn.Conv2d(32, 64, 4, 2, 1)
        self.enc = nn.Linear(7 * 7 * 64, hidden)
        self.mean = nn.Linear(hidden, latent)
        self.log_var = nn.Linear(hidden, latent)
        self.dec0 = nn.Linear(latent, hidden)
        self.dec1 = nn.Linear(hidden, 7 * 7 * 64)
        self.deconv0 = nn.ConvTranspose2d(64, 32, 4, 2, 1)
        self.deconv1 = nn.ConvTranspose2d(32, 1, 4, 2, 1)

    def encode(self, x):
        h = F.relu(self.conv1(F.relu(self.conv0(x.view(-1, 1, 28, 28)))))
        h = F.relu(self.enc(h.permute(0, 2, 3, 1).flatten(1)))
        return self.mean(h), self.log_var(h)

    def decode_logits(self, z):
        lead = z.shape[:-1]
        h = F.relu(self.dec1(F.relu(self.dec0(z.reshape(-1, z.shape[-1])))))
        h = h.view(-1, 7, 7, 64).permute(0, 3, 1, 2)
        logits = self.deconv1(F.relu(self.deconv0(h)))
        return logits.reshape(*lead, 784)

    reparameterize = VAE.reparameterize

    def forward(self, x):
        mu, logvar = self.encode(x)
        return self.decode_logits(self.reparameterize(mu, logvar)), mu, logvar

    # Parameter names in a `vae` checkpoint, for --load.
    NAMES = {
        "conv0": "encoder.conv.0", "conv1": "encoder.conv.1", "enc": "encoder.hidden.0",
        "mean": "encoder.mean", "log_var": "encoder.log_var", "dec0": "decoder.hidden.0",
        "dec1": "decoder.hidden.1", "deconv0": "decoder.deconv.0", "deconv1": "decoder.deconv.1",
    }


def read_safetensors(path):
    """name -> float32 array, read with the standard library and numpy alone."""
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8 : 8 + n])
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        start, end = t["data_offsets"]
        out[name] = np.frombuffer(data[8 + n + start : 8 + n + end], dtype=np.float32).reshape(t["shape"])
    return out


def loss_function(logits, x, mu, logvar):
    # BCE on logits is the numerically stable form of the example's sigmoid + binary_cross_entropy.
    bce = F.binary_cross_entropy_with_logits(logits, x.view(logits.shape), reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


@torch.no_grad()
def importance_sampled_log_px(model, x, k, chunk):
    """log p(x) ~ logsumexp_k [log p(x|z_k) + log p(z_k) - log q(z_k|x)] - log k (Burda et al. 2015)."""
    total = 0.0
    for start in range(0, len(x), chunk):
        xb = x[start : start + chunk]
        mu, logvar = model.encode(xb)
        std = torch.exp(0.5 * logvar)
        eps = torch.randn(k, *mu.shape)
        z = mu + std * eps  # [k, b, latent]
        logits = model.decode_logits(z)
        log_px_z = -F.binary_cross_entropy_with_logits(logits, xb.expand(k, -1, -1), reduction="none").sum(-1)
        log_pz = (-0.5 * z.pow(2) - 0.5 * math.log(2 * math.pi)).sum(-1)
        log_qz = (-0.5 * eps.pow(2) - 0.5 * logvar - 0.5 * math.log(2 * math.pi)).sum(-1)
        total += (torch.logsumexp(log_px_z + log_pz - log_qz, 0) - math.log(k)).sum().item()
    return total / len(x)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--iw-samples", type=int, nargs="*", default=[])
    parser.add_argument("--eval-images", type=int, default=10000, help="test images scored with --iw-samples")
    parser.add_argument("--arch", choices=["mlp", "conv"], default="mlp")
    parser.add_argument("--load", help="a `vae --arch conv` run directory: load its weights unchanged and print the encoder's means and the decoder's logits of the first test images")
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    # MNIST's 28 x 28 by default; the MLP takes any image size of the same IDX layout.
    train = read_idx(find(args.data_dir, "train-images-idx3-ubyte"))
    pixels = int(np.prod(train.shape[1:]))
    train = torch.from_numpy(train.reshape(-1, pixels).astype(np.float32) / 255)
    test = torch.from_numpy(read_idx(find(args.data_dir, "t10k-images-idx3-ubyte")).reshape(-1, pixels).astype(np.float32) / 255)
    if args.arch == "conv" and pixels != 784:
        sys.exit(f"--arch conv is MNIST's 28 x 28 architecture; these images have {pixels} pixels")
    model = VAE(pixels) if args.arch == "mlp" else ConvVAE()
    if args.load:
        weights = read_safetensors(os.path.join(args.load, "model.safetensors"))
        latent = weights["encoder.mean.weight"].shape[0]
        model = ConvVAE(latent=latent, hidden=weights["encoder.hidden.0.weight"].shape[0])
        for module, prefix in ConvVAE.NAMES.items():
            layer = getattr(model, module)
            layer.weight.data = torch.from_numpy(weights[prefix + ".weight"].copy())
            layer.bias.data = torch.from_numpy(weights[prefix + ".bias"].copy())
        with torch.no_grad():
            x = test[:4]
            mu, logvar = model.encode(x)
            logits = model.decode_logits(mu)
        print(json.dumps({"mean": mu.tolist(), "log_var": logvar.tolist(), "reconstruction": torch.sigmoid(logits).tolist()}))
        return
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    epoch_seconds = []
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        model.train()
        train_loss = 0.0
        for idx in torch.randperm(len(train)).split(args.batch_size):
            x = train[idx]
            optimizer.zero_grad()
            logits, mu, logvar = model(x)
            loss = loss_function(logits, x, mu, logvar)
            loss.backward()
            train_loss += loss.item()
            optimizer.step()
        epoch_seconds.append(time.perf_counter() - start)
        model.eval()
        with torch.no_grad():
            test_loss = 0.0
            for x in test.split(1000):
                logits, mu, logvar = model(x)
                test_loss += loss_function(logits, x, mu, logvar).item()
        print(json.dumps({"epoch": epoch, "train_loss": train_loss / len(train), "test_loss": test_loss / len(test), "seconds": epoch_seconds[-1]}), flush=True)
    summary = {"framework": f"torch {torch.__version__}", "threads": args.threads, "epoch_seconds": epoch_seconds}
    if epoch_seconds:
        summary["median_epoch_seconds_after_warmup"] = float(np.median(epoch_seconds[1:] or epoch_seconds))
    for k in args.iw_samples:
        start = time.perf_counter()
        summary[f"log_px_k{k}"] = importance_sampled_log_px(model, test[: args.eval_images], k, max(1, 4_000_000 // (k * 784)))
        summary[f"iw_seconds_k{k}"] = time.perf_counter() - start
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
