"""Data sets as numpy arrays, fetched, checked and cached exactly as the `vae` command does: the
same files, checksums and cache directory (`~/.cache/vae`, or `data_dir`). Images are float32
grey levels in [0, 1], `[n, height, width]` (one channel) or `[n, height, width, channels]`;
labels are uint8."""

from dataclasses import dataclass, field
from typing import List, Optional, Tuple, Union
import os
import sys

import numpy as np

from . import _vae

PathLike = Union[str, "os.PathLike[str]"]


@dataclass
class Dataset:
    """A data set's two splits. `name` is what `vae train --dataset` calls it; a model fitted on
    a `Dataset` records it, so `vae eval` finds the data again."""

    name: str
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_labels: np.ndarray
    class_names: List[str] = field(default_factory=list)
    #: A folder's conversion, (channels, height, width, split seed), recorded with a run.
    folder_options: Optional[Tuple[int, int, int, int]] = None

    @property
    def shape(self) -> Tuple[int, ...]:
        """One image's shape."""
        return tuple(self.train_images.shape[1:])

    def __repr__(self) -> str:
        return (
            f"Dataset({self.name!r}: {len(self.train_images)} train / {len(self.test_images)} test "
            f"images of {self.shape}, {len(self.class_names)} classes)"
        )


def _say(line: str) -> None:
    print(line, file=sys.stderr)


def _load(spec: str, data_dir: Optional[PathLike], **folder) -> Dataset:
    d = _vae.load_dataset(
        spec, None if data_dir is None else os.fspath(data_dir), say=_say, **folder
    )
    return Dataset(
        name=d["name"],
        train_images=d["train_images"],
        train_labels=d["train_labels"],
        test_images=d["test_images"],
        test_labels=d["test_labels"],
        class_names=list(d["class_names"]),
        folder_options=(
            (folder["channels"], folder["height"], folder["width"], folder["split_seed"])
            if folder
            else None
        ),
    )


def mnist(data_dir: Optional[PathLike] = None) -> Dataset:
    """MNIST's 60,000 training and 10,000 test digits, 28 x 28, downloaded when missing."""
    return _load("mnist", data_dir)


def fashion_mnist(data_dir: Optional[PathLike] = None) -> Dataset:
    """Fashion-MNIST's 60,000 + 10,000 clothes, 28 x 28, downloaded when missing."""
    return _load("fashion-mnist", data_dir)


def frey(data_dir: Optional[PathLike] = None) -> Dataset:
    """The Frey Face frames, 28 x 20 grey levels, split 90/10, downloaded when missing."""
    return _load("frey", data_dir)


def idx(directory: PathLike) -> Dataset:
    """A directory holding the four IDX files of an MNIST-like data set."""
    return _load("idx:" + os.fspath(directory), None)


def folder(
    directory: PathLike,
    channels: int = 1,
    size: Tuple[int, int] = (28, 28),
    seed: int = 0,
) -> Dataset:
    """PNG and JPEG images (one class per subdirectory, or none), resized to `size` (height,
    width) with `channels` (1 or 3), split 90/10 by `seed`."""
    height, width = size
    return _load(
        "folder:" + os.fspath(directory),
        None,
        channels=channels,
        height=height,
        width=width,
        split_seed=seed,
    )


def binarize(images: np.ndarray, seed: int = 0) -> np.ndarray:
    """`images` (grey levels in [0, 1]) binarized as the command line binarizes a test split:
    each value becomes 1 with its grey level's probability. Seed 0 gives the binary images
    `vae eval` and training's held-out numbers score, so a model trained on binarized digits is
    scored here on the same data as there."""
    from .model import _images

    return _vae.binarize(_images(images, "images"), seed)
