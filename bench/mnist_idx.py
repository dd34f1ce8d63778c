"""MNIST's IDX files, raw or gzipped, read with numpy alone: what the PyTorch and JAX references
train on (no torchvision, no tensorflow_datasets)."""
import gzip
import os
import struct
import sys

import numpy as np


def read_idx(path):
    """The array an IDX file holds, as uint8."""
    opener = gzip.open if open(path, "rb").read(2) == b"\x1f\x8b" else open
    with opener(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def find(data_dir, name):
    """`name` or `name.gz` in `data_dir`; exits naming the file when neither is there."""
    for candidate in (name, name + ".gz"):
        path = os.path.join(data_dir, candidate)
        if os.path.exists(path):
            return path
    sys.exit(f"{name} not found in {data_dir}")
