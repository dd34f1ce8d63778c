"""`vae.torch.to_module`: the run's weights in a `torch.nn.Module` compute what the toolkit
computes. Skipped, with the reason printed, where torch is not installed."""

import numpy as np
import pytest

import vae

torch = pytest.importorskip("torch", reason="torch is not installed: vae.torch is not tested")
from vae.torch import to_module  # noqa: E402


@pytest.mark.parametrize("options", [
    dict(latent=2, hidden=[16]),
    dict(latent=3, hidden=[8, 16], arch="conv"),
    dict(latent=2, hidden=[16], model="cvae"),
    dict(latent=2, hidden=[16], model="ae"),
    dict(latent=2, hidden=[16], likelihood="gaussian", activation="tanh"),
])
def test_the_module_encodes_and_decodes_as_the_toolkit(quadrants, tmp_path, options):
    train, labels, test, test_labels = quadrants
    model = vae.VAE(seed=2, threads=1, **options)
    conditional = options.get("model") == "cvae"
    model.fit(train, labels if conditional else None, epochs=1, out=tmp_path / "run",
              progress=False, pictures=False)
    y = test_labels if conditional else None
    module = to_module(tmp_path / "run")
    with torch.no_grad():
        mean, log_var = module.encode(test, y)
        decoded = module.decode(mean, y).numpy()
    ours_mean, ours_log_var = model.encode(test, y)
    np.testing.assert_allclose(mean.numpy(), ours_mean, atol=1e-5)
    np.testing.assert_allclose(log_var.numpy(), ours_log_var, atol=1e-5)
    np.testing.assert_allclose(decoded, model.decode(ours_mean, y), atol=1e-5)


def test_models_it_does_not_build_are_refused(quadrants, tmp_path):
    train, labels, *_ = quadrants
    vae.VAE(model="m2", latent=2, hidden=[16], labels=40, threads=1).fit(
        train, labels, epochs=1, out=tmp_path / "m2", progress=False, pictures=False)
    with pytest.raises(ValueError, match="m2"):
        to_module(tmp_path / "m2")


@pytest.mark.parametrize("kind", ["gan", "dcgan"])
def test_a_gan_s_generator_draws_as_the_toolkit(quadrants, tmp_path, kind):
    """Batch normalization in evaluation mode (its running estimates, num_batches_tracked an
    int64), Leaky ReLU and the channel-last layouts, through PyTorch's own modules."""
    train, *_ = quadrants
    options = dict(hidden=[16]) if kind == "gan" else {}
    model = vae.VAE(model=kind, latent=4, seed=3, threads=1, **options)
    model.fit(train, epochs=2, batch_size=64, out=tmp_path / "run", progress=False, pictures=False)
    module = to_module(tmp_path / "run")
    z = np.random.default_rng(0).standard_normal((6, 4)).astype(np.float32)
    with torch.no_grad():
        drawn = module.decode(z).numpy()
        logits = module.discriminate(drawn)
    np.testing.assert_allclose(drawn, model.decode(z), atol=1e-5)
    assert logits.shape == (6,) and torch.isfinite(logits).all()
    if kind == "dcgan":
        tracked = getattr(module.generator.hidden, "1").num_batches_tracked
        assert tracked.dtype == torch.int64 and int(tracked) > 0


def test_a_vae_gan_encodes_and_decodes_as_the_toolkit(quadrants, tmp_path):
    """The encoder with its Gaussian heads, the decoder and the discriminator of a VAE-GAN, in
    evaluation mode, against the toolkit's own encodings and reconstructions."""
    train, *_ = quadrants
    model = vae.VAE(model="vae-gan", latent=4, seed=3, threads=1)
    model.fit(train, epochs=2, batch_size=64, out=tmp_path / "run", progress=False, pictures=False)
    module = to_module(tmp_path / "run")
    x = train[:6]
    with torch.no_grad():
        mean, log_var = module.encode(x)
        rebuilt, _, _ = module(x)
        logits = module.discriminate(rebuilt.numpy())
    np.testing.assert_allclose(mean.numpy(), model.encode(x)[0], atol=1e-4)
    np.testing.assert_allclose(rebuilt.numpy(), model.reconstruct(x), atol=1e-4)
    assert logits.shape == (6,) and torch.isfinite(logits).all()
