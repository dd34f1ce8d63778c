#!/usr/bin/env python3
"""DRAW (Gregor et al. 2015) in PyTorch, built as `vae train --model draw` builds it: the reference
its epoch time is measured against, and a second implementation its numbers can be checked with.

Encoder and decoder `nn.LSTMCell`s (`encoder.`, `decoder.`), the posterior's heads `mean.` and
`log_var.` on h_enc, `write.` on h_dec, and with attention `read_window.` and `write_window.`
(five numbers each: g̃_X, g̃_Y, log σ², log δ̃, log γ). Filters are Gaussians over pixel
coordinates 1..A normalised over the pixels (a softmax), centred at g + (i − N/2 − 0.5) δ for
i = 1..N; the read grid starts with log σ² at the value that makes its filters half as wide as
their spacing. Bernoulli likelihood of the final canvas, the steps' KL summed, Adam, batch 100,
dynamically binarized MNIST; prints one JSON object per epoch and a summary:

    python3 bench/draw_reference.py --data-dir ~/.cache/vae/mnist --epochs 1 --threads 2

With --load DIR the weights of a `vae` run directory (model.safetensors) are loaded first: the
names and layouts are the same.
"""
import argparse, json, math, os, sys, time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mnist_idx import find, read_idx


class Draw(nn.Module):
    def __init__(self, steps=64, lstm=256, latent=100, read=2, write=5, attention=True,
                 height=28, width=28):
        super().__init__()
        self.steps, self.latent, self.attention = steps, latent, attention
        self.height, self.width = height, width
        self.read_n, self.write_n = read, write
        pixels = height * width
        read_width = 2 * (read * read if attention else pixels)
        write_width = write * write if attention else pixels
        self.encoder = nn.LSTMCell(read_width + lstm, lstm)
        self.decoder = nn.LSTMCell(latent, lstm)
        self.mean = nn.Linear(lstm, latent)
        self.log_var = nn.Linear(lstm, latent)
        self.write = nn.Linear(lstm, write_width)
        if attention:
            self.read_window = nn.Linear(lstm, 5)
            self.write_window = nn.Linear(lstm, 5)
            with torch.no_grad():
                self.read_window.bias[2] = self.covering_log_var(read)

    def stride_scale(self, n):
        return (max(self.height, self.width) - 1) / (max(n, 2) - 1)

    def covering_log_var(self, n):
        return 2 * math.log(max(self.stride_scale(n) / 2, 1.0))

    def filterbanks(self, params, n):
        gx_, gy_, log_var, log_delta, log_gamma = params.unbind(1)
        gx = (self.width + 1) / 2 * (gx_ + 1)
        gy = (self.height + 1) / 2 * (gy_ + 1)
        delta = self.stride_scale(n) * log_delta.exp()
        var = log_var.exp()
        offsets = torch.arange(n, dtype=params.dtype) + 0.5 - n / 2
        mu_x = gx[:, None] + offsets[None] * delta[:, None]
        mu_y = gy[:, None] + offsets[None] * delta[:, None]
        a = torch.arange(1, self.width + 1, dtype=params.dtype)
        b = torch.arange(1, self.height + 1, dtype=params.dtype)
        fx = torch.softmax(-(a[None, None] - mu_x[..., None]) ** 2 / (2 * var[:, None, None]), -1)
        fy = torch.softmax(-(b[None, None] - mu_y[..., None]) ** 2 / (2 * var[:, None, None]), -1)
        return fx, fy, log_gamma.exp()

    def read(self, x, x_hat, h_dec):
        if not self.attention:
            return torch.cat([x, x_hat], 1)
        fx, fy, gamma = self.filterbanks(self.read_window(h_dec), self.read_n)
        def glimpse(img):
            img = img.view(-1, self.height, self.width)
            return (fy @ img @ fx.transpose(1, 2)).flatten(1) * gamma[:, None]
        return torch.cat([glimpse(x), glimpse(x_hat)], 1)

    def write_canvas(self, h_dec):
        w = self.write(h_dec)
        if not self.attention:
            return w
        fx, fy, gamma = self.filterbanks(self.write_window(h_dec), self.write_n)
        patch = w.view(-1, self.write_n, self.write_n)
        return (fy.transpose(1, 2) @ patch @ fx).flatten(1) / gamma[:, None]

    def forward(self, x, noise=None):
        """The negative ELBO's two terms per image: −log p(x | c_T) and Σ_t KL."""
        rows = x.shape[0]
        hidden = self.decoder.hidden_size
        zeros = x.new_zeros(rows, hidden)
        enc, dec = (zeros, zeros), (zeros, zeros)
        canvas = torch.zeros_like(x)
        kl = x.new_zeros(rows)
        for t in range(self.steps):
            x_hat = x - torch.sigmoid(canvas)
            r = self.read(x, x_hat, dec[0])
            enc = self.encoder(torch.cat([r, dec[0]], 1), enc)
            mu, log_var = self.mean(enc[0]), self.log_var(enc[0])
            eps = torch.randn_like(mu) if noise is None else noise[t]
            z = mu + (0.5 * log_var).exp() * eps
            kl = kl + 0.5 * (mu ** 2 + log_var.exp() - 1 - log_var).sum(1)
            dec = self.decoder(z, dec)
            canvas = canvas + self.write_canvas(dec[0])
        nll = F.binary_cross_entropy_with_logits(canvas, x, reduction="none").sum(1)
        return nll, kl


def load(model, run):
    from safetensors.torch import load_file
    state = load_file(os.path.join(run, "model.safetensors"))
    model.load_state_dict({k: v.to(torch.float32) for k, v in state.items()})


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data-dir", default=os.path.expanduser("~/.cache/vae/mnist"))
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--steps", type=int, default=64)
    p.add_argument("--lstm", type=int, default=256)
    p.add_argument("--latent", type=int, default=100)
    p.add_argument("--read", type=int, default=2)
    p.add_argument("--write", type=int, default=5)
    p.add_argument("--no-attention", action="store_true")
    p.add_argument("--clip-norm", type=float, default=None)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--load", default=None, help="a vae run directory whose weights to start from")
    p.add_argument("--batches", type=int, default=None, help="stop each epoch after this many")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    train = read_idx(find(args.data_dir, "train-images-idx3-ubyte")).reshape(-1, 784) / 255.0
    test = read_idx(find(args.data_dir, "t10k-images-idx3-ubyte")).reshape(-1, 784) / 255.0
    train = torch.tensor(train, dtype=torch.float32)
    test = torch.bernoulli(torch.tensor(test, dtype=torch.float32))
    model = Draw(args.steps, args.lstm, args.latent, args.read, args.write, not args.no_attention)
    if args.load:
        load(model, args.load)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    epochs = []
    for epoch in range(1, args.epochs + 1):
        order = torch.tensor(rng.permutation(len(train)))
        started = time.perf_counter()
        total, images = 0.0, 0
        for b, first in enumerate(range(0, len(train), args.batch_size)):
            if args.batches is not None and b >= args.batches:
                break
            x = torch.bernoulli(train[order[first:first + args.batch_size]])
            nll, kl = model(x)
            loss = (nll + kl).sum()
            opt.zero_grad()
            (loss / len(x)).backward()
            if args.clip_norm:
                nn.utils.clip_grad_norm_(model.parameters(), args.clip_norm)
            opt.step()
            total += loss.item()
            images += len(x)
        seconds = time.perf_counter() - started
        with torch.no_grad():
            nll, kl = zip(*(model(test[i:i + 1000]) for i in range(0, len(test), 1000)))
            test_loss = (torch.cat(nll) + torch.cat(kl)).mean().item()
        record = {"epoch": epoch, "train_loss": total / images, "test_loss": test_loss,
                  "train_seconds": seconds, "images": images}
        epochs.append(record)
        print(json.dumps(record), flush=True)
    print(json.dumps({"summary": True, "threads": torch.get_num_threads(),
                      "torch": torch.__version__, "epochs": epochs}))


if __name__ == "__main__":
    sys.exit(main())
