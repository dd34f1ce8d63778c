"""`vae.datasets`: the command line's data sets as numpy arrays."""

import os

import numpy as np
import pytest

import vae


def test_an_idx_directory_reads_as_its_values(idx_dir, quadrants):
    train, train_labels, test, test_labels = quadrants
    data = vae.datasets.idx(idx_dir)
    np.testing.assert_array_equal(data.train_images, train)
    np.testing.assert_array_equal(data.test_labels, test_labels)
    assert data.train_images.dtype == np.float32 and data.shape == (8, 8)
    assert data.class_names == ["0", "1", "2", "3"]


def test_a_missing_directory_raises(tmp_path):
    with pytest.raises(vae.Error):
        vae.datasets.idx(tmp_path / "missing")


@pytest.mark.skipif(
    os.environ.get("VAE_TEST_MNIST") != "1",
    reason="set VAE_TEST_MNIST=1 to read (and if needed fetch) MNIST",
)
def test_mnist_is_fetched_verified_and_read():
    data = vae.datasets.mnist()
    assert data.train_images.shape == (60000, 28, 28)
    assert data.test_images.shape == (10000, 28, 28)
    assert 0.0 <= data.train_images.min() and data.train_images.max() == 1.0
    assert sorted(set(data.train_labels.tolist())) == list(range(10))


def test_binarize_draws_each_pixel_with_its_grey_level(quadrants):
    _, _, test, _ = quadrants
    binary = vae.datasets.binarize(test)
    assert binary.shape == test.shape and binary.dtype == np.float32
    assert set(np.unique(binary).tolist()) <= {0.0, 1.0}
    np.testing.assert_array_equal(binary, vae.datasets.binarize(test))
    assert not np.array_equal(binary, vae.datasets.binarize(test, seed=1))
    # 8,192 draws: the mean of the draws is the mean grey level within a few standard errors.
    assert abs(binary.mean() - test.mean()) < 4 * 0.5 / np.sqrt(test.size)
