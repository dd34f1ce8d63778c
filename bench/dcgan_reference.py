"""DCGAN on MNIST in PyTorch: the architecture `vae train --model dcgan` builds for 28 x 28 images,
trained the same way, for timing against it (bench/dcgan_compare.sh).

Generator: z (100) -> Linear(7*7*128) -> 128 x 7 x 7 -> BatchNorm2d -> ReLU
  -> ConvTranspose2d(128, 64, 4, 2, 1) -> BatchNorm2d -> ReLU -> ConvTranspose2d(64, 1, 4, 2, 1)
  -> sigmoid.
Discriminator: Conv2d(1, 64, 4, 2, 1) -> LeakyReLU(0.2) -> Conv2d(64, 128, 4, 2, 1)
  -> BatchNorm2d -> LeakyReLU(0.2) -> flatten -> Linear(1).
A step: z ~ N(0, I), fake = G(z); the discriminator minimises the summed BCE on the real batch and
on fake.detach(), Adam step; then the generator minimises the summed BCE of D(fake) against
"real" through the updated discriminator, Adam step (lr 2e-4, betas (0.5, 0.999)), as ours.

    python3 bench/dcgan_reference.py --data-dir ~/.cache/vae/mnist --epochs 1 --threads 2
"""
import argparse, json, os, sys, time

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mnist_idx import find, read_idx


class Generator(nn.Module):
    def __init__(self, latent):
        super().__init__()
        self.project = nn.Linear(latent, 7 * 7 * 128)
        self.norm0 = nn.BatchNorm2d(128)
        self.up1 = nn.ConvTranspose2d(128, 64, 4, 2, 1)
        self.norm1 = nn.BatchNorm2d(64)
        self.up2 = nn.ConvTranspose2d(64, 1, 4, 2, 1)

    def forward(self, z):
        h = self.project(z).view(-1, 128, 7, 7)
        h = F.relu(self.norm0(h))
        h = F.relu(self.norm1(self.up1(h)))
        return self.up2(h)  # logits; the image is their sigmoid


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 64, 4, 2, 1)
        self.conv2 = nn.Conv2d(64, 128, 4, 2, 1)
        self.norm2 = nn.BatchNorm2d(128)
        self.output = nn.Linear(7 * 7 * 128, 1)

    def forward(self, x):
        h = F.leaky_relu(self.conv1(x), 0.2)
        h = F.leaky_relu(self.norm2(self.conv2(h)), 0.2)
        return self.output(h.flatten(1)).squeeze(1)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data-dir", default=os.path.expanduser("~/.cache/vae/mnist"))
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--latent", type=int, default=100)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batches", type=int, default=None, help="stop each epoch after this many")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    train = read_idx(find(args.data_dir, "train-images-idx3-ubyte")).reshape(-1, 1, 28, 28) / 255.0
    train = torch.tensor(train, dtype=torch.float32)
    G, D = Generator(args.latent), Discriminator()
    opt_g = torch.optim.Adam(G.parameters(), lr=args.lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=args.lr, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss(reduction="sum")
    epochs = []
    for epoch in range(1, args.epochs + 1):
        order = torch.tensor(rng.permutation(len(train)))
        started = time.perf_counter()
        d_total, g_total, images = 0.0, 0.0, 0
        for b, first in enumerate(range(0, len(train), args.batch_size)):
            if args.batches is not None and b >= args.batches:
                break
            x = train[order[first:first + args.batch_size]]
            n = len(x)
            fake = torch.sigmoid(G(torch.randn(n, args.latent)))
            d_loss = bce(D(x), torch.ones(n)) + bce(D(fake.detach()), torch.zeros(n))
            opt_d.zero_grad()
            d_loss.backward()
            opt_d.step()
            g_loss = bce(D(fake), torch.ones(n))
            opt_g.zero_grad()
            g_loss.backward()
            opt_g.step()
            d_total += d_loss.item()
            g_total += g_loss.item()
            images += n
        seconds = time.perf_counter() - started
        record = {"epoch": epoch, "discriminator": d_total / images, "generator": g_total / images,
                  "train_seconds": seconds, "images": images}
        epochs.append(record)
        print(json.dumps(record), flush=True)
    print(json.dumps({"summary": True, "threads": torch.get_num_threads(),
                      "torch": torch.__version__, "epochs": epochs}))


if __name__ == "__main__":
    sys.exit(main())
