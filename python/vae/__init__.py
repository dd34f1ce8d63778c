"""Variational autoencoders on the toolkit's compiled CPU kernels, numpy in and out.

    import vae
    data = vae.datasets.mnist()
    model = vae.VAE(latent=2).fit(data, epochs=10)
    z, _ = model.encode(data.test_images)
    images = model.decode(z)

Every call is documented in its docstring; a model's run directory is the one `vae train`
writes, so the command line and Python open each other's models."""

from . import datasets, errors
from ._vae import __version__
from .errors import Error
from .model import VAE, load

__all__ = ["VAE", "load", "datasets", "errors", "Error", "provenance", "__version__"]


def provenance(threads: int) -> dict:
    """Where and with what a number is measured, as every record the toolkit writes names it:
    the CPU, logical CPUs, `threads`, the date (UTC), the version and the commit built."""
    import json

    from . import _vae

    return json.loads(_vae.provenance(threads))
