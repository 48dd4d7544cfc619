"""End to end on real digits: JSAE codes, softmax, and the command line."""

import subprocess
import sys
import warnings

import numpy as np
import pytest

import jsae_fast
from jsae_fast import SoftmaxClassifier, Trainer
from jsae_fast.cli import main


def test_jsae_softmax_pipeline_on_mnist_sample():
    X, y = jsae_fast.datasets.load_mnist_sample(dtype=np.float32)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(X))
    train, test = order[:1000], order[1000:2000]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jsae_fast.trainer.ConvergenceWarning)
        result = Trainer(max_iter=60, random_state=0).fit(X[train], n_hidden=64)
    clf = SoftmaxClassifier(max_iter=200).fit(jsae_fast.encode(X[train], result.params),
                                              y[train])
    accuracy = clf.score(jsae_fast.encode(X[test], result.params), y[test])
    # Chance is 10%; 60 iterations on 1000 images already give well over 80%.
    assert accuracy > 0.8


def test_cli_compare_small_run(capsys):
    status = main(["--n-train", "150", "--n-hidden", "8", "--max-iter", "3", "-q",
                   "--n-threads", "1"])
    out = capsys.readouterr().out
    assert status == 0
    for model in ("raw pixels", "AE", "SAE", "JSAE"):
        assert model in out
    assert "test accuracy" in out


def test_cli_compare_official_test_set(data_home, capsys):
    status = main(["compare", "--data-home", str(data_home), "--n-train", "100",
                   "--n-hidden", "8", "--max-iter", "2", "-q"])
    out = capsys.readouterr().out
    assert status == 0
    assert "10000 official MNIST test images" in out


def test_cli_bad_argument_exits_2_without_traceback():
    proc = subprocess.run([sys.executable, "-P", "-m", "jsae_fast", "--n-train", "0"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "--n-train" in proc.stderr


def test_cli_missing_data_home_exits_2(tmp_path):
    proc = subprocess.run([sys.executable, "-P", "-m", "jsae_fast", "--data-home", str(tmp_path),
                           "--n-train", "50", "--max-iter", "1", "-q"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "t10k" in proc.stderr
