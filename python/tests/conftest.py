"""Shared data for the `vae` package's tests: small synthetic images, an IDX directory of them
(so the `vae` binary can train on the very same data), and the binary itself."""

import os
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


def quadrant_images(n: int, seed: int, size: int = 8):
    """`n` images of `size` x `size` grey levels, each bright in one of four quadrants (its
    label), with noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, n).astype(np.uint8)
    images = rng.uniform(0.0, 0.3, (n, size, size)).astype(np.float32)
    half = size // 2
    for i, label in enumerate(labels):
        r, c = divmod(int(label), 2)
        images[i, r * half : (r + 1) * half, c * half : (c + 1) * half] += 0.6
    # Grey levels as the toolkit reads bytes: v * (1 / 255) in float32.
    levels = np.round(np.clip(images, 0, 1) * 255).astype(np.uint8)
    return levels.astype(np.float32) * np.float32(1 / 255), labels


def write_idx(path: Path, array: np.ndarray) -> None:
    kind = 0x08
    header = bytes([0, 0, kind, array.ndim]) + struct.pack(">" + "I" * array.ndim, *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


@pytest.fixture(scope="module")
def quadrants():
    train, train_labels = quadrant_images(512, 1)
    test, test_labels = quadrant_images(128, 2)
    return train, train_labels, test, test_labels


@pytest.fixture(scope="module")
def idx_dir(tmp_path_factory, quadrants):
    """The quadrant images as the four MNIST-named IDX files."""
    train, train_labels, test, test_labels = quadrants
    d = tmp_path_factory.mktemp("idx")
    write_idx(d / "train-images-idx3-ubyte", np.round(train * 255))
    write_idx(d / "train-labels-idx1-ubyte", train_labels)
    write_idx(d / "t10k-images-idx3-ubyte", np.round(test * 255))
    write_idx(d / "t10k-labels-idx1-ubyte", test_labels)
    return d


@pytest.fixture(scope="module")
def vae_bin():
    """The `vae` command (VAE_BIN, or the workspace's release build)."""
    path = Path(os.environ.get("VAE_BIN", ROOT / "target" / "release" / "vae"))
    if not path.exists():
        pytest.fail(f"{path} is missing: build it with `cargo build --release` or set VAE_BIN")
    return path


def run(binary, *args):
    result = subprocess.run([str(binary), *map(str, args)], capture_output=True, text=True)
    assert result.returncode == 0, f"vae {' '.join(map(str, args))} failed:\n{result.stderr}"
    return result


def write_rgb_png(path: Path, rgb: np.ndarray) -> None:
    """An 8-bit RGB PNG of `rgb [height, width, 3]` (bytes), written with zlib alone."""
    import zlib

    rows = b"".join(b"\x00" + row.tobytes() for row in rgb.astype(np.uint8))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", rgb.shape[1], rgb.shape[0], 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
