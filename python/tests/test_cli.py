"""The Python package and the `vae` command share run directories and numbers: the same seed
and threads train the same weights bit for bit, and each opens the other's runs."""

import numpy as np

import vae
from vae.torch import _read_safetensors

from conftest import run


def tensors(directory, name):
    return _read_safetensors(str(directory / name))


def test_python_and_the_command_line_train_the_same_weights(idx_dir, vae_bin, tmp_path):
    cli, py = tmp_path / "cli", tmp_path / "py"
    run(vae_bin, "train", "--dataset", f"idx:{idx_dir}", "--latent", "2", "--hidden", "16",
        "--epochs", "2", "--seed", "3", "--threads", "1", "--out", cli)
    data = vae.datasets.idx(idx_dir)
    model = vae.VAE(latent=2, hidden=[16], seed=3, threads=1)
    model.fit(data, epochs=2, out=py, progress=False)
    for name in ["model.safetensors", "optimizer.safetensors"]:
        a, b = tensors(cli, name), tensors(py, name)
        assert a.keys() == b.keys()
        for key in a:
            np.testing.assert_array_equal(a[key], b[key], err_msg=f"{name}: {key}")
    # Scored on the same binary test images with the same noise, Python and `vae eval` agree.
    out = run(vae_bin, "eval", "--model", py, "--iw-samples", "10", "--json")
    import json

    evaluation = json.loads(out.stdout)
    test = vae.datasets.binarize(data.test_images)
    assert model.log_likelihood(test, k=10) == (
        evaluation["log_likelihood"], evaluation["log_likelihood_stderr"])
    # Named data: dynamic binarization, as `vae train` does.
    assert model.config["train"]["binarize"] == "dynamic"
    assert model.config["dataset"] == f"idx:{idx_dir}"


def test_a_python_run_opens_in_the_command_line(quadrants, idx_dir, vae_bin, tmp_path):
    train, _, test, _ = quadrants
    model = vae.VAE(latent=2, hidden=[16], seed=0, threads=1)
    model.fit(train, epochs=2, validation=test, progress=False)
    model.save(tmp_path / "saved")
    out = run(vae_bin, "eval", "--model", tmp_path / "saved", "--dataset", f"idx:{idx_dir}",
              "--iw-samples", "10")
    assert "ELBO" in out.stdout or "elbo" in out.stdout.lower()
    run(vae_bin, "sample", "--model", tmp_path / "saved", "--out", tmp_path / "s.png")
    assert (tmp_path / "s.png").stat().st_size > 0
    # And back: the saved run loads in Python with the same model.
    again = vae.load(tmp_path / "saved")
    np.testing.assert_array_equal(again.encode(test)[0], model.encode(test)[0])
    # A directory that holds a run is not overwritten.
    import pytest

    with pytest.raises(ValueError, match="already holds a run"):
        model.save(tmp_path / "saved")


def test_a_command_line_run_loads_and_trains_further_in_python(idx_dir, vae_bin, tmp_path):
    cli = tmp_path / "cli"
    run(vae_bin, "train", "--dataset", f"idx:{idx_dir}", "--latent", "2", "--hidden", "16",
        "--epochs", "1", "--seed", "5", "--threads", "1", "--out", cli)
    model = vae.load(cli, threads=1)
    assert model.epochs_trained == 1 and model.latent == 2
    model.fit(vae.datasets.idx(idx_dir), epochs=2, progress=False)
    assert model.epochs_trained == 2
    # The run continued in place, where `vae train --resume` would continue it.
    assert vae.load(cli).epochs_trained == 2


def test_a_save_cut_short_leaves_no_run_and_can_be_repeated(quadrants, tmp_path):
    import os
    import subprocess
    import sys

    train, *_ = quadrants
    vae.VAE(latent=2, hidden=[16], threads=1).fit(
        train, epochs=1, out=tmp_path / "run", progress=False, pictures=False)
    script = "import sys, vae; vae.load(sys.argv[1]).save(sys.argv[2])"
    for at in ["1", "2", "3"]:
        target = tmp_path / f"saved-{at}"
        # The at-th file written fails as a full disk would.
        env = dict(os.environ, VAE_FAULT_AT=at, VAE_FAULT="error")
        failed = subprocess.run([sys.executable, "-c", script, str(tmp_path / "run"), str(target)],
                                env=env, capture_output=True, text=True)
        assert failed.returncode != 0 and "no space left" in failed.stderr, failed.stderr
        assert not (target / "config.json").exists(), "a save cut short is not a run"
        vae.load(tmp_path / "run").save(target)
        assert vae.load(target).epochs_trained == 1
