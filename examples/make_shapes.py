#!/usr/bin/env python3
"""Writes a small folder of RGB images for trying `vae train --dataset folder:DIR`.

Three classes (one sub-directory each): discs, squares and triangles of random colour, size and
position on a dark background, 32 x 32 pixels (or SIZE x SIZE, the shapes scaled alike). Needs
Pillow (`pip install pillow`).

    python3 examples/make_shapes.py /tmp/shapes        # 300 images per class
    vae train --dataset folder:/tmp/shapes --size 32x32 --epochs 30
    python3 examples/make_shapes.py /tmp/shapes64 300 64
"""
import random
import sys
from pathlib import Path

from PIL import Image, ImageDraw


def shape(kind, rng, side=32):
    image = Image.new("RGB", (side, side), (rng.randint(0, 40),) * 3)
    draw = ImageDraw.Draw(image)
    colour = tuple(rng.randint(60, 255) for _ in range(3))
    size = rng.randint(8, 14) * side // 32
    cx, cy = rng.randint(size, side - 1 - size), rng.randint(size, side - 1 - size)
    if kind == "discs":
        draw.ellipse([cx - size, cy - size, cx + size, cy + size], fill=colour)
    elif kind == "squares":
        draw.rectangle([cx - size, cy - size, cx + size, cy + size], fill=colour)
    else:
        draw.polygon([(cx, cy - size), (cx - size, cy + size), (cx + size, cy + size)], fill=colour)
    return image


def main():
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "shapes")
    per_class = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    side = int(sys.argv[3]) if len(sys.argv) > 3 else 32
    rng = random.Random(0)
    for kind in ("discs", "squares", "triangles"):
        (out / kind).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            shape(kind, rng, side).save(out / kind / f"{i:04d}.png")
    print(f"wrote {3 * per_class} images to {out}")


if __name__ == "__main__":
    main()
