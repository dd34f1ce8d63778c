"""`vae.VAE` end to end on small synthetic images: fit, encode, decode, sample, score, and the
run directory it leaves."""

import numpy as np
import pytest

import vae


def small(**options):
    return vae.VAE(latent=2, hidden=[16], seed=3, threads=1, **options)


def test_fit_encode_decode_sample_and_score(quadrants, tmp_path):
    train, _, test, _ = quadrants
    model = small().fit(train, epochs=3, validation=test, out=tmp_path / "run", progress=False)
    assert model.epochs_trained == 3
    assert [e["epoch"] for e in model.history] == [1, 2, 3]
    # Training lowers the loss.
    assert model.history[-1]["train_loss"] < model.history[0]["train_loss"]
    mean, log_var = model.encode(test)
    assert mean.shape == log_var.shape == (128, 2) and mean.dtype == np.float32
    images = model.decode(mean)
    assert images.shape == (128, 8, 8) and images.dtype == np.float32
    assert ((images >= 0) & (images <= 1)).all()
    np.testing.assert_array_equal(model.reconstruct(test), images)
    assert model.sample(5, seed=7).shape == (5, 8, 8)
    np.testing.assert_array_equal(model.sample(5, seed=7), model.sample(5, seed=7))
    assert not np.array_equal(model.sample(5), model.sample(5)), "unseeded draws differ"
    terms = model.elbo(test)
    assert terms.shape == (128, 3)
    np.testing.assert_allclose(terms[:, 0], -(terms[:, 1] + terms[:, 2]))
    mean_ll, stderr = model.log_likelihood(test, k=50)
    # The importance-weighted bound is above the ELBO (up to its noise).
    assert mean_ll > terms[:, 0].mean() - 3 * stderr and stderr > 0
    for name in ["config.json", "model.safetensors", "metrics.jsonl", "samples.png", "report.html"]:
        assert (tmp_path / "run" / name).stat().st_size > 0, name
    assert model.config["train"]["epochs"] == 3 and model.config["dataset"] == "arrays"


def test_options_take_the_command_lines_defaults():
    model = vae.VAE()
    data = np.random.default_rng(0).uniform(size=(64, 28, 28)).astype(np.float32)
    model.fit(data, epochs=1, progress=False)
    config = model.config
    assert config["model"]["latent"] == 20
    assert config["model"]["encoder"] == [{"type": "linear", "name": "hidden.0", "out": 400}, {"type": "relu"}]
    assert config["train"]["batch_size"] == 128
    assert config["train"]["optimizer"]["lr"] == 1e-3
    # Arrays are trained on as given: grey levels, a Bernoulli decoder.
    assert config["train"]["binarize"] == "none" and config["model"]["likelihood"] == "bernoulli"
    # fp32 products, the default, are not written down: config.json reads as it always did.
    assert "precision" not in config["train"]


def test_conditional_and_semi_supervised_models(quadrants):
    train, labels, test, test_labels = quadrants
    cvae = vae.VAE(model="cvae", latent=2, hidden=[16], seed=1, threads=1)
    cvae.fit(train, labels, epochs=2, progress=False)
    assert cvae.sample(4, label=2, seed=0).shape == (4, 8, 8)
    with pytest.raises(ValueError, match="label"):
        cvae.sample(4)
    m2 = vae.VAE(model="m2", latent=2, hidden=[32], labels=40, seed=1, threads=1)
    m2.fit(train, labels, epochs=8, progress=False)
    predicted = m2.classify(test)
    assert predicted.dtype == np.int64 and predicted.shape == (128,)
    # Four well-separated classes from 40 labels: far better than chance (75% error).
    assert (predicted != test_labels).mean() < 0.4


def test_jmvae_reads_labels_and_draws_from_them(quadrants):
    train, labels, test, test_labels = quadrants
    model = vae.VAE(model="jmvae", latent=4, hidden=[64], alpha=0.25, seed=1, threads=1)
    model.fit(train, labels, epochs=20, batch_size=32, progress=False)
    assert model.config["model"]["kind"] == "jmvae" and model.config["train"]["alpha"] == 0.25
    # The label p(y | z) reads at the mean of q(z | x): far better than chance (75% error).
    predicted = model.classify(test)
    assert predicted.shape == (128,) and (predicted != test_labels).mean() < 0.4
    # Images from a label (z ~ q(z | y)), and from the prior without one.
    assert model.sample(4, label=2, seed=0).shape == (4, 8, 8)
    assert model.sample(4, seed=0).shape == (4, 8, 8)
    assert not np.array_equal(model.sample(4, label=2, seed=0), model.sample(4, seed=0))
    with pytest.raises(ValueError, match="label 7 is not one of the 4 classes"):
        model.sample(2, label=7)


def test_draw_paints_in_steps_encodes_and_decodes(quadrants):
    train, _, test, _ = quadrants
    model = vae.VAE(model="draw", steps=4, lstm=16, latent=2, read=2, write=3, clip_norm=10.0,
                    seed=1, threads=1)
    model.fit(train, epochs=2, batch_size=32, progress=False)
    draw = model.config["model"]["draw"]
    assert draw == {"steps": 4, "lstm": 16, "attention": {"read": 2, "write": 3}}
    assert model.config["train"]["optimizer"]["clip_norm"] == 10.0
    # The latent is the whole sequence z_1..T.
    mean, log_var = model.encode(test[:5])
    assert mean.shape == log_var.shape == (5, 8)
    assert model.decode(mean).shape == (5, 8, 8)
    assert model.sample(3, seed=0).shape == (3, 8, 8)
    with pytest.raises(ValueError, match="read grid of 9x9 filters does not fit"):
        vae.VAE(model="draw", read=9).fit(train, epochs=1, progress=False)
    with pytest.raises(ValueError, match="steps applies to model=\"draw\" only"):
        vae.VAE(steps=4).fit(train, epochs=1, progress=False)


def test_a_dcgan_trains_in_two_phases_and_draws(quadrants):
    train, *_ = quadrants
    events = []
    model = vae.VAE(model="dcgan", latent=8, seed=1, threads=1)
    model.fit(train, epochs=2, batch_size=64, callback=events.append)
    config = model.config
    assert config["model"]["kind"] == "dcgan"
    assert config["train"]["optimizer"]["betas"] == [0.5, 0.999]
    batch = next(e for e in events if e["event"] == "batch")
    epoch = next(e for e in events if e["event"] == "epoch")
    assert batch["discriminator"] > 0 and batch["generator"] > 0
    assert epoch["train_discriminator"] > 0 and epoch["test_generator"] > 0
    images = model.sample(5, seed=0)
    assert images.shape == (5, 8, 8) and 0 <= images.min() and images.max() <= 1
    with pytest.raises(ValueError, match="a GAN has no encoder"):
        model.encode(train[:2])


def test_a_vae_gan_trains_in_three_phases_encodes_and_has_no_likelihood(quadrants):
    train, *_ = quadrants
    events = []
    model = vae.VAE(
        model="vae-gan",
        latent=4,
        feature_weight=0.1,
        equilibrium_margin=0.4,
        real_weight=0.5,
        seed=1,
        threads=1,
    )
    model.fit(train, epochs=1, batch_size=64, callback=events.append)
    config = model.config
    assert config["model"]["kind"] == "vae-gan" and config["train"]["feature_weight"] == 0.1
    assert config["train"]["equilibrium_margin"] == 0.4
    assert config["train"]["real_weight"] == 0.5
    epoch = next(e for e in events if e["event"] == "epoch")
    assert epoch["train_discriminator"] > 0 and epoch["train_generator"] > 0
    means, log_vars = model.encode(train[:3])
    assert means.shape == (3, 4) and log_vars.shape == (3, 4)
    rebuilt = model.reconstruct(train[:3])
    assert rebuilt.shape == (3, 8, 8) and 0 <= rebuilt.min() and rebuilt.max() <= 1
    with pytest.raises(ValueError, match="no likelihood"):
        model.elbo(train[:2])
    with pytest.raises(ValueError, match="feature_weight applies to model=\"vae-gan\" only"):
        vae.VAE(feature_weight=0.5).fit(train, epochs=1, progress=False)
    with pytest.raises(ValueError, match="equilibrium_margin applies to model=\"vae-gan\" only"):
        vae.VAE(equilibrium_margin=0.4).fit(train, epochs=1, progress=False)
    with pytest.raises(ValueError, match="real_weight applies to model=\"vae-gan\" only"):
        vae.VAE(real_weight=0.5).fit(train, epochs=1, progress=False)
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        vae.VAE(model="vae-gan", real_weight=1.0).fit(train, epochs=1, progress=False)


def test_a_callback_sees_every_batch_and_epoch_and_can_stop(quadrants):
    train, *_ = quadrants
    events = []

    def callback(event):
        events.append(event)
        if event["event"] == "epoch" and event["epoch"] == 2:
            return False

    model = small().fit(train, epochs=5, batch_size=128, callback=callback)
    assert model.epochs_trained == 2, "stopped once epoch 2 was saved"
    batches = [e for e in events if e["event"] == "batch"]
    assert [(e["epoch"], e["batch"]) for e in batches[:4]] == [(1, 1), (1, 2), (1, 3), (1, 4)]
    assert batches[0]["batches"] == 4 and np.isfinite(batches[0]["loss"])
    model.fit(train, epochs=3, progress=False)
    assert model.epochs_trained == 3, "fit continues from the epochs done"


def test_the_gil_is_released_while_training(quadrants):
    import threading
    import time

    train, *_ = quadrants
    ticks = []
    done = threading.Event()

    def tick():
        while not done.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.005)

    thread = threading.Thread(target=tick)
    thread.start()
    big = np.tile(train, (40, 1, 1))
    started = time.monotonic()
    vae.VAE(latent=2, hidden=[256], seed=0, threads=1).fit(big, epochs=20, progress=False)
    elapsed = time.monotonic() - started
    done.set()
    thread.join()
    during = [t for t in ticks if started <= t <= started + elapsed]
    # A thread starved of the GIL would tick a handful of times at most.
    assert elapsed > 0.1 and len(during) > 0.3 * elapsed / 0.005, (len(during), elapsed)
