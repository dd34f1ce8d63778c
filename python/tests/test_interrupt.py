"""Ctrl-C during `fit`: training stops within a batch, the last finished epoch is kept, and
fitting again continues to the very weights of an uninterrupted run."""

import os
import signal
import threading
import time

import numpy as np
import pytest

import vae


def weights(directory):
    from vae.torch import _read_safetensors

    return _read_safetensors(os.path.join(directory, "model.safetensors"))


def test_an_interrupt_keeps_the_last_epoch_and_fit_resumes_bit_for_bit(quadrants, tmp_path):
    train, *_ = quadrants
    whole = vae.VAE(latent=2, hidden=[16], seed=3, threads=1)
    whole.fit(train, epochs=3, batch_size=64, out=tmp_path / "whole", progress=False, pictures=False)

    def interrupt(event):
        if event["event"] == "batch" and (event["epoch"], event["batch"]) == (2, 3):
            raise KeyboardInterrupt

    model = vae.VAE(latent=2, hidden=[16], seed=3, threads=1)
    with pytest.raises(KeyboardInterrupt):
        model.fit(train, epochs=3, batch_size=64, out=tmp_path / "stopped", callback=interrupt, pictures=False)
    assert model.epochs_trained == 1
    assert vae.load(tmp_path / "stopped").epochs_trained == 1, "the run on disk is resumable"
    model.fit(train, epochs=3, progress=False, pictures=False)
    assert model.epochs_trained == 3
    a, b = weights(tmp_path / "whole"), weights(tmp_path / "stopped")
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def test_sigint_stops_fit_and_the_run_directory_resumes(quadrants, tmp_path):
    train, *_ = quadrants
    big = np.tile(train, (40, 1, 1))
    model = vae.VAE(latent=2, hidden=[64], seed=1, threads=1)
    first_epoch = threading.Event()

    def callback(event):
        if event["event"] == "epoch":
            first_epoch.set()

    def send():
        first_epoch.wait(60)
        time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGINT)

    # Python raises KeyboardInterrupt on SIGINT only where it started with SIGINT's default
    # action; a shell starts background jobs with SIGINT ignored. Ctrl-C's handler, explicitly.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    sender = threading.Thread(target=send)
    sender.start()
    started = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            model.fit(big, epochs=1000, out=tmp_path / "run", callback=callback, pictures=False)
    finally:
        sender.join()
        signal.signal(signal.SIGINT, previous)
    assert time.monotonic() - started < 60
    trained = model.epochs_trained
    assert 1 <= trained < 1000
    resumed = vae.load(tmp_path / "run")
    assert resumed.epochs_trained == trained
    resumed.fit(big, epochs=trained + 1, progress=False, pictures=False)
    assert resumed.epochs_trained == trained + 1
