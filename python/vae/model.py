"""`vae.VAE`: a model of the family, trained with `fit` and used with numpy arrays."""

import os
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from . import _vae
from .datasets import Dataset
from .errors import InvalidInputError
from ._progress import ProgressBar

PathLike = Union[str, "os.PathLike[str]"]

#: What `fit` records as the data set of plain arrays.
ARRAYS = "arrays"


def _images(x: Any, what: str) -> np.ndarray:
    """`x` as C-ordered float32 (copied only when it is not already), or an error naming it."""
    if isinstance(x, Dataset):
        raise InvalidInputError(f"{what}: pass the Dataset's arrays (dataset.test_images), not the Dataset")
    array = np.asarray(x)
    if array.dtype.kind != "f":
        hint = " (divide by 255 for bytes)" if array.dtype.kind in "ui" else ""
        raise InvalidInputError(
            f"{what} must be floating-point grey levels in [0, 1]; got dtype {array.dtype}{hint}"
        )
    if array.ndim not in (2, 3, 4):
        raise InvalidInputError(
            f"{what} must be [n, height, width], [n, height, width, channels] or [n, values]; "
            f"got shape {array.shape}"
        )
    if array.size == 0:
        raise InvalidInputError(f"{what} is empty: shape {array.shape}")
    return np.ascontiguousarray(array, dtype=np.float32)


def _labels(y: Any, what: str) -> Optional[List[int]]:
    if y is None:
        return None
    array = np.asarray(y)
    if array.ndim != 1 or array.dtype.kind not in "ui":
        raise InvalidInputError(f"{what} must be a 1-D array of whole class numbers; got {array.dtype} {array.shape}")
    return array.astype(np.int64).tolist()


class VAE:
    """A variational autoencoder, or another member of its family, with the options and
    defaults of `vae train` (the library holds them once for both).

    model: "vae" (Kingma & Welling 2013), "cvae" (conditional on labels), "ae" (plain
    autoencoder), "m2" (semi-supervised, Kingma et al. 2014), "jmvae" (the image and its label in
    one latent space, Suzuki et al. 2016; `alpha` weighs its unimodal encoders' KL terms), "draw"
    (Gregor et al. 2015: LSTMs paint the image in `steps` steps with `lstm` units and `latent`
    dimensions per step, through `read` x `read` and `write` x `write` attention grids, or the
    whole image with attention=False), "gan" (Goodfellow et al. 2014: a dense generator of
    `hidden` widths against a discriminator), "dcgan" (Radford et al. 2016: convolutions, batch
    normalization, Leaky ReLU; a GAN has no encoder, so `encode`, `reconstruct` and `score`
    refuse, and its progress reports the discriminator's and generator's losses) or "vae-gan"
    (Larsen et al. 2015: DCGAN's networks and an encoder, the reconstruction error measured in the
    discriminator's features and weighed by `feature_weight` against the GAN loss, and with
    `equilibrium_margin` the rule of their code that sits a network out while the discriminator
    is far ahead or behind, and with `real_weight` the real images' share of the discriminator's
    loss, as their code weighs it; it encodes and reconstructs, but has no likelihood to `score`). arch: "mlp" or
    "conv" over the
    `hidden` widths (channels for conv). likelihood: "bernoulli" or "gaussian" (None: Bernoulli
    for arrays and digits, Gaussian for faces and photographs). objective: "elbo" or "iwae" with
    `samples` samples. threads: workers for training and inference (all cores when None).
    precision: "fp32" (the default) or "bf16": the training step's products in bfloat16 with
    fp32 sums, on a CPU with AVX512-BF16 (weights, the optimizer and scoring stay fp32).

    The model is built by the first `fit`, for the images it is given."""

    def __init__(
        self,
        latent: Optional[int] = None,
        hidden: Optional[Sequence[int]] = None,
        arch: Optional[str] = None,
        likelihood: Optional[str] = None,
        model: Optional[str] = None,
        objective: Optional[str] = None,
        beta: Optional[float] = None,
        seed: Optional[int] = None,
        threads: Optional[int] = None,
        *,
        activation: Optional[str] = None,
        samples: Optional[int] = None,
        binarize: Optional[str] = None,
        lr: Optional[float] = None,
        optimizer: Optional[str] = None,
        weight_decay: Optional[float] = None,
        lr_schedule: Optional[str] = None,
        lr_gamma: Optional[float] = None,
        eps: Optional[float] = None,
        kl_warmup: Optional[float] = None,
        free_bits: Optional[float] = None,
        gaussian_variance: Optional[str] = None,
        top_latent: Optional[int] = None,
        top_hidden: Optional[Sequence[int]] = None,
        labels: Optional[int] = None,
        alpha: Optional[float] = None,
        feature_weight: Optional[float] = None,
        equilibrium_margin: Optional[float] = None,
        real_weight: Optional[float] = None,
        classifier_hidden: Optional[Sequence[int]] = None,
        labelled_per_batch: Optional[int] = None,
        init_std: Optional[float] = None,
        precision: Optional[str] = None,
        layers: Optional[Union[str, Dict[str, Any]]] = None,
        clip_norm: Optional[float] = None,
        steps: Optional[int] = None,
        lstm: Optional[int] = None,
        read: Optional[int] = None,
        write: Optional[int] = None,
        attention: Optional[bool] = None,
    ) -> None:
        options = {k: v for k, v in locals().items() if k not in ("self", "threads")}
        if isinstance(layers, dict):
            import json

            options["layers"] = json.dumps(layers)
        for key in ("hidden", "top_hidden", "classifier_hidden"):
            if options[key] is not None and not isinstance(options[key], str):
                options[key] = list(options[key])
        self._core = _vae.Core(options, threads)
        #: Every epoch's numbers, as `fit`'s callback receives them.
        self.history: List[Dict[str, Any]] = []

    @classmethod
    def _wrap(cls, core: "_vae.Core") -> "VAE":
        model = cls.__new__(cls)
        model._core = core
        model.history = []
        return model

    def fit(
        self,
        X: Union[np.ndarray, Dataset],
        y: Optional[np.ndarray] = None,
        epochs: int = 10,
        batch_size: Optional[int] = None,
        validation: Optional[Union[np.ndarray, Tuple[np.ndarray, Optional[np.ndarray]]]] = None,
        callback: Optional[Callable[[Dict[str, Any]], Optional[bool]]] = None,
        out: Optional[PathLike] = None,
        progress: bool = True,
        pictures: Optional[bool] = None,
        class_names: Optional[Sequence[str]] = None,
    ) -> "VAE":
        """Trains to `epochs` epochs in all; a model that has trained some (or was loaded)
        continues from them, exactly as an uninterrupted run would.

        X: images in [0, 1], or a `vae.datasets` Dataset (its test split then validates, its
        labels and name are used). y: a class per image (cvae, m2, jmvae). validation: held-out images,
        or (images, labels), scored after every epoch; without it the first 1,000 training
        images stand in. batch_size: 128 by default, fixed once training starts.

        callback(event) is called after every batch ({"event": "batch", "epoch", "epochs",
        "batch", "batches", "loss", "images"}) and every epoch ({"event": "epoch", "epoch",
        "train_loss", "test_loss", their reconstruction and kl terms, "seconds",
        "images_per_second"}); returning False stops training once the epoch is saved. Without
        a callback a progress bar is shown (progress=False for none).

        The run (checkpoint after every epoch, metrics.jsonl, and with pictures=True, the
        default when `out` is given, samples.png, reconstructions.png and report.html) is
        written to `out`, or else to a temporary directory kept while the model lives.
        Ctrl-C stops training within a batch: the model then holds the last finished epoch,
        and `fit` again continues from it. The GIL is released while training."""
        name, labels_y, test, test_y, names, folder = ARRAYS, y, None, None, class_names, None
        if isinstance(X, Dataset):
            if y is not None:
                raise InvalidInputError("y: a Dataset brings its own labels")
            name, folder = X.name, X.folder_options
            labels_y = X.train_labels if X.class_names else None
            test = X.test_images
            test_y = X.test_labels if X.class_names else None
            names = X.class_names if names is None else names
            X = X.train_images
        if validation is not None:
            if isinstance(validation, tuple):
                test, test_y = validation
            else:
                test, test_y = validation, None
        images = _images(X, "X")
        labels = _labels(labels_y, "y")
        if names is None:
            classes = 0 if labels is None else max(labels) + 1
            names = [str(c) for c in range(classes)]
        if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
            raise InvalidInputError(f"epochs must be a whole number ≥ 1; got {epochs!r}")
        if callback is None and progress:
            callback = ProgressBar()
        history = self._core.fit(
            images,
            labels,
            None if test is None else _images(test, "validation"),
            _labels(test_y, "validation labels"),
            name,
            list(names),
            epochs,
            batch_size,
            None if out is None else os.fspath(out),
            callback,
            out is not None if pictures is None else pictures,
            folder,
        )
        self.history.extend(history)
        return self

    def encode(self, X: np.ndarray, y: Optional[np.ndarray] = None) -> Tuple[np.ndarray, np.ndarray]:
        """q(z | x): (means, log-variances), each [n, latent] float32 (the autoencoder's
        log-variances are -inf)."""
        return self._core.encode(_images(X, "X"), _labels(y, "y"))

    def decode(self, Z: np.ndarray, y: Optional[np.ndarray] = None) -> np.ndarray:
        """The decoder's means for latent points `Z [n, latent]`: Bernoulli probabilities or
        Gaussian means, as images shaped like the training images."""
        z = np.asarray(Z)
        if z.dtype.kind != "f":
            raise InvalidInputError(f"Z must be floating-point; got dtype {z.dtype}")
        return self._core.decode(np.ascontiguousarray(z, dtype=np.float32), _labels(y, "y"))

    def sample(self, n: int, label: Optional[Union[int, Sequence[int]]] = None, seed: Optional[int] = None) -> np.ndarray:
        """`n` images decoded from draws z ~ N(0, I); conditional models take a `label` (one,
        or one per image), and a jmvae given one draws z from q(z | label) instead. A fixed
        `seed` gives the same images every time."""
        labels = None
        if label is not None:
            if isinstance(label, (int, np.integer)):
                labels = [int(label)] * n
            else:
                labels = _labels(label, "label")
        return self._core.sample(n, labels, seed)

    def reconstruct(self, X: np.ndarray, y: Optional[np.ndarray] = None) -> np.ndarray:
        """decode(mean of q(z | x)): reconstructions without sampling."""
        means, _ = self.encode(X, y)
        return self.decode(means, y)

    def elbo(self, X: np.ndarray, y: Optional[np.ndarray] = None, seed: int = 0) -> np.ndarray:
        """Per image, in nats: [elbo, reconstruction, kl] (float64, [n, 3]), the
        reconstruction term estimated with one latent sample drawn from the stream `seed`
        names, the KL exact."""
        return self._core.elbo(_images(X, "X"), _labels(y, "y"), seed)

    def log_likelihood(
        self, X: np.ndarray, y: Optional[np.ndarray] = None, k: int = 5000, seed: int = 0
    ) -> Tuple[float, float]:
        """The importance-weighted estimate of log p(x) with `k` samples per image (Burda et
        al. 2015): (mean over the images, its standard error), in nats. Binarize first what the
        model was trained on binarized."""
        return self._core.log_likelihood(_images(X, "X"), _labels(y, "y"), k, seed)

    def classify(self, X: np.ndarray) -> np.ndarray:
        """M2's class for each image, argmax_y q(y | x) (int64)."""
        return self._core.classify(_images(X, "X"))

    def save(self, directory: PathLike) -> None:
        """Copies the run (config.json, model.safetensors, the optimizer's state, metrics and
        pictures) into `directory`, which must not hold a run: `vae serve`, `vae eval` and
        `vae.load` open it."""
        self._core.save(os.fspath(directory))

    @property
    def config(self) -> Optional[Dict[str, Any]]:
        """The run's config.json; None before `fit`."""
        import json

        text = self._core.config_json
        return None if text is None else json.loads(text)

    @property
    def epochs_trained(self) -> int:
        """Epochs trained so far."""
        return self._core.epochs_trained

    @property
    def run_dir(self) -> Optional[str]:
        """Where the run lives (a temporary directory unless `out` or `load` named one)."""
        d = self._core.run_dir
        return None if d is None else os.fspath(d)

    @property
    def latent(self) -> Optional[int]:
        """The latent size; None before `fit`."""
        dims = self._core.dims
        return None if dims is None else dims[0]

    def __repr__(self) -> str:
        dims = self._core.dims
        if dims is None:
            return "VAE(not fitted)"
        latent, (h, w, c), classes = dims
        kind = (self.config or {}).get("model", {}).get("kind")
        return f"VAE({kind}, latent {latent}, {h}x{w}x{c} images, {self.epochs_trained} epochs, run {self.run_dir})"


def load(directory: PathLike, threads: Optional[int] = None) -> VAE:
    """The run in `directory`, written by `vae train` or by `fit(out=...)`/`save`: ready to
    encode, decode and sample, and to `fit` further (in place)."""
    return VAE._wrap(_vae.Core.load(os.fspath(directory), threads))
