"""The compiled core of `vae` (a PyO3 extension). Use `vae.VAE`, `vae.load` and
`vae.datasets`; these are what they call."""

from os import PathLike
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

__version__: str

class Core:
    """A model and the run directory it lives in."""

    def __init__(self, options: Dict[str, Any], threads: Optional[int] = None) -> None:
        """A model of the options given (keyword -> value, None for the default); checked now
        against 28 x 28 images in 10 classes, and again by the first fit."""
    @staticmethod
    def load(dir: Union[str, PathLike[str]], threads: Optional[int] = None) -> "Core":
        """The run in `dir`, as `vae train` or `fit(out=...)` wrote it."""
    def fit(
        self,
        images: np.ndarray,
        labels: Optional[List[int]],
        test_images: Optional[np.ndarray],
        test_labels: Optional[List[int]],
        spec: str,
        class_names: List[str],
        epochs: int,
        batch_size: Optional[int],
        out: Optional[str],
        callback: Optional[Callable[[Dict[str, Any]], Optional[bool]]],
        pictures: bool,
        folder: Optional[Tuple[int, int, int, int]],
    ) -> List[Dict[str, Any]]:
        """Trains to `epochs` in all; returns each new epoch's numbers."""
    def encode(self, images: np.ndarray, labels: Optional[List[int]] = None) -> Tuple[np.ndarray, np.ndarray]:
        """q(z | x): means and log-variances, [n, latent] float32 each."""
    def decode(self, z: np.ndarray, labels: Optional[List[int]] = None) -> np.ndarray:
        """The decoder's means for z [n, latent], as images."""
    def sample(self, n: int, labels: Optional[List[int]] = None, seed: Optional[int] = None) -> np.ndarray:
        """n images decoded from prior draws."""
    def elbo(self, images: np.ndarray, labels: Optional[List[int]] = None, seed: int = 0) -> np.ndarray:
        """Per image [elbo, reconstruction, kl] in nats, float64 [n, 3]."""
    def log_likelihood(
        self, images: np.ndarray, labels: Optional[List[int]] = None, k: int = 5000, seed: int = 0
    ) -> Tuple[float, float]:
        """Importance-weighted log p(x): (mean, standard error) in nats."""
    def classify(self, images: np.ndarray) -> np.ndarray:
        """M2's class per image (int64)."""
    def save(self, dir: Union[str, PathLike[str]]) -> None:
        """Copies the run into `dir`, which must not hold one."""
    @property
    def config_json(self) -> Optional[str]: ...
    @property
    def epochs_trained(self) -> int: ...
    @property
    def run_dir(self) -> Optional[str]: ...
    @property
    def run_dir_is_temporary(self) -> bool: ...
    @property
    def dims(self) -> Optional[Tuple[int, Tuple[int, int, int], int]]: ...

def load_dataset(
    spec: str,
    data_dir: Optional[str] = None,
    channels: int = 1,
    height: int = 28,
    width: int = 28,
    split_seed: int = 0,
    say: Optional[Callable[[str], Any]] = None,
) -> Dict[str, Any]:
    """A data set's splits as arrays: train_images, train_labels, test_images, test_labels,
    class_names, name."""

def binarize(images: np.ndarray, seed: int = 0) -> np.ndarray:
    """Each value 1 with its grey level's probability, from the test split's stream `seed`."""

def provenance(threads: int) -> str:
    """The machine, date, version and commit as JSON text, as every record names them."""
