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


def test_a_folder_reads_with_its_classes_and_a_run_remembers_its_conversion(tmp_path, vae_bin):
    from conftest import run, write_rgb_png

    rng = np.random.default_rng(0)
    for name, channel in [("red", 0), ("blue", 2)]:
        (tmp_path / "images" / name).mkdir(parents=True)
        for i in range(20):
            rgb = rng.integers(0, 40, (12, 10, 3))
            rgb[:, :, channel] = 200
            write_rgb_png(tmp_path / "images" / name / f"{i}.png", rgb)
    data = vae.datasets.folder(tmp_path / "images", channels=3, size=(8, 6), seed=4)
    assert data.class_names == ["blue", "red"]
    assert data.train_images.shape[1:] == (8, 6, 3) and len(data.train_images) + len(data.test_images) == 40
    red = data.train_images[data.train_labels == 1]
    assert red[..., 0].mean() > 0.7 and red[..., 2].mean() < 0.2
    model = vae.VAE(latent=2, hidden=[16], threads=1).fit(data, epochs=1, out=tmp_path / "run", progress=False)
    assert model.config["folder"] == {"channels": 3, "height": 8, "width": 6, "split_seed": 4}
    assert model.config["model"]["likelihood"] == "gaussian", "photographs: a Gaussian decoder"
    # `vae eval` converts the folder as the run did, so it finds images of the model's shape.
    run(vae_bin, "eval", "--model", tmp_path / "run", "--iw-samples", "5")
