"""Bad input raises the documented exceptions, never crashes the interpreter."""

import numpy as np
import pytest

import vae
from vae.errors import Error, InvalidInputError, NotFittedError


@pytest.fixture(scope="module")
def fitted(quadrants):
    train, *_ = quadrants
    return vae.VAE(latent=2, hidden=[16], seed=0, threads=1).fit(train, epochs=1, progress=False)


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.zeros((4, 8, 8), dtype=np.uint8), "dtype uint8"),
        (np.zeros((4, 8, 8), dtype=np.int64), "dtype int64"),
        (np.zeros(64, dtype=np.float32), "got shape"),
        (np.zeros((4, 8, 8, 1, 1), dtype=np.float32), "got shape"),
        (np.zeros((0, 8, 8), dtype=np.float32), "empty"),
        (np.zeros((4, 9, 9), dtype=np.float32), "values per row"),
        (np.full((4, 8, 8), np.nan, dtype=np.float32), "NaN"),
        (np.full((4, 8, 8), np.inf, dtype=np.float32), "inf"),
        (np.array([["a"] * 64]), "dtype"),
    ],
)
def test_bad_images_raise_value_errors(fitted, bad, message):
    with pytest.raises(InvalidInputError, match=message) as raised:
        fitted.encode(bad)
    assert isinstance(raised.value, ValueError) and isinstance(raised.value, Error)


def test_bad_training_data_raises(quadrants):
    train, labels, *_ = quadrants
    model = vae.VAE(latent=2, hidden=[16], threads=1)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        model.fit(train * 255, epochs=1, progress=False)
    bad = train.copy()
    bad[3, 2, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        model.fit(bad, epochs=1, progress=False)
    with pytest.raises(ValueError, match="labels"):
        vae.VAE(model="cvae", threads=1).fit(train, labels[:10], epochs=1, progress=False)
    with pytest.raises(ValueError, match="needs labelled classes"):
        vae.VAE(model="cvae", threads=1).fit(train, epochs=1, progress=False)
    with pytest.raises(ValueError, match="epochs"):
        model.fit(train, epochs=0)


def test_fortran_ordered_and_float64_arrays_read_as_their_values(fitted, quadrants):
    _, _, test, _ = quadrants
    expected = fitted.encode(test)[0]
    np.testing.assert_array_equal(fitted.encode(np.asfortranarray(test))[0], expected)
    np.testing.assert_array_equal(fitted.encode(test.astype(np.float64))[0], expected)
    np.testing.assert_array_equal(fitted.encode(test[:, ::1, ::1])[0], expected)
    np.testing.assert_array_equal(fitted.encode(test.reshape(len(test), -1))[0], expected)


def test_bad_options_raise_at_construction():
    with pytest.raises(ValueError, match="model must be one of vae, cvae, ae, m2"):
        vae.VAE(model="vea")
    with pytest.raises(ValueError, match="precision must be one of fp32, bf16"):
        vae.VAE(precision="fp16")
    with pytest.raises(ValueError, match="latent"):
        vae.VAE(latent=-1)
    with pytest.raises(ValueError, match="lr_gamma applies to lr_schedule=\"exponential\""):
        vae.VAE(lr_gamma=0.9)
    with pytest.raises(ValueError, match="labels applies to model=\"m2\""):
        vae.VAE(labels=100)
    with pytest.raises(ValueError, match="threads"):
        vae.VAE(threads=0)
    with pytest.raises(ValueError, match="hidden"):
        vae.VAE(hidden="400")
    with pytest.raises(TypeError):
        vae.VAE(latnet=2)


def test_a_model_used_before_fit_or_a_missing_run_raises(tmp_path):
    with pytest.raises(NotFittedError):
        vae.VAE().encode(np.zeros((1, 28, 28), dtype=np.float32))
    with pytest.raises(FileNotFoundError):
        vae.load(tmp_path / "nothing")
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "config.json").write_text("{not json")
    with pytest.raises(Error):
        vae.load(tmp_path / "junk")


def test_bad_latent_points_and_counts_raise(fitted):
    with pytest.raises(ValueError, match=r"z must be \[n, 2\]"):
        fitted.decode(np.zeros((3, 5), dtype=np.float32))
    with pytest.raises(ValueError, match="NaN"):
        fitted.decode(np.full((3, 2), np.nan, dtype=np.float32))
    with pytest.raises(ValueError):
        fitted.sample(0)
    with pytest.raises(ValueError, match="m2|classif"):
        fitted.classify(np.zeros((2, 8, 8), dtype=np.float32))
    with pytest.raises(ValueError, match="importance samples"):
        fitted.log_likelihood(np.zeros((2, 8, 8), dtype=np.float32), k=0)
