"""The train and predict subcommands of jsae-fast."""

import csv
import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

import jsae_fast
from jsae_fast import JacobianSparseAutoencoder, StackedAutoencoderClassifier, load_model
from jsae_fast.cli import main

FAST = ["--n-train", "120", "--max-iter", "3", "--n-threads", "1", "-q"]


@pytest.fixture(autouse=True)
def _ignore_convergence_warnings():
    # The runs use a few iterations on purpose.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def test_train_autoencoder_writes_model_and_filters(tmp_path, capsys):
    output, filters = tmp_path / "ae.npz", tmp_path / "filters.png"
    status = main(["train", "--variant", "SAE", "--n-hidden", "9", "--output", str(output),
                   "--filters", str(filters), *FAST])
    assert status == 0
    model = load_model(output)
    assert type(model).__name__ == "SparseAutoencoder"
    assert model.components_.shape == (9, 784)
    assert model.components_.dtype == np.float32
    assert filters.read_bytes().startswith(b"\x89PNG")
    assert "saved the model" in capsys.readouterr().out


def test_train_passes_hyperparameters(tmp_path):
    output = tmp_path / "jsae.npz"
    assert main(["train", "--n-hidden", "4", "--jacobian-weight", "0.25", "--tied",
                 "--dtype", "float64", "--output", str(output), *FAST]) == 0
    model = JacobianSparseAutoencoder.load(output)
    assert model.jacobian_weight == 0.25
    assert model.tied is True
    assert model.decoder_weights_ is None
    assert model.components_.dtype == np.float64


def test_train_and_predict_classifier_on_sample(tmp_path, capsys):
    output = tmp_path / "clf.npz"
    assert main(["train", "--classifier", "--n-hidden", "8", "4", "--fine-tune-max-iter",
                 "3", "--output", str(output), *FAST]) == 0
    model = StackedAutoencoderClassifier.load(output)
    assert model.hidden_layer_sizes == (8, 4)
    capsys.readouterr()
    assert main(["predict", "--model", str(output), "--dataset", "mnist-sample",
                 "--n-train", "120", "-q"]) == 0
    out = capsys.readouterr().out
    assert "4880 mnist-sample test samples" in out
    assert "Accuracy" in out


def test_predict_input_file_writes_csv(tmp_path):
    model_path = tmp_path / "clf.npz"
    assert main(["train", "--classifier", "--n-hidden", "5", "--no-fine-tune",
                 "--output", str(model_path), *FAST]) == 0
    X, _ = jsae_fast.datasets.load_mnist_sample(dtype=np.float32)
    np.save(tmp_path / "x.npy", X[:7])
    csv_path = tmp_path / "pred.csv"
    assert main(["predict", "--model", str(model_path), "--input", str(tmp_path / "x.npy"),
                 "--output", str(csv_path), "-q"]) == 0
    with open(csv_path, newline="") as stream:
        rows = list(csv.reader(stream))
    assert rows[0] == ["label"] + [f"p_{k}" for k in range(10)]
    assert len(rows) == 8
    model = load_model(model_path)
    assert [int(r[0]) for r in rows[1:]] == list(model.predict(X[:7]))
    np.testing.assert_allclose([[float(v) for v in r[1:]] for r in rows[1:]],
                               model.predict_proba(X[:7]), rtol=1e-5)


def test_predict_autoencoder_codes_and_error(tmp_path, capsys):
    model_path = tmp_path / "ae.npz"
    assert main(["train", "--n-hidden", "3", "--output", str(model_path), *FAST]) == 0
    X, _ = jsae_fast.datasets.load_mnist_sample(dtype=np.float32)
    np.save(tmp_path / "x.npy", X[:2])
    capsys.readouterr()
    assert main(["predict", "--model", str(model_path), "--input",
                 str(tmp_path / "x.npy")]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "h0,h1,h2"
    assert len(lines) == 3
    assert main(["predict", "--model", str(model_path), "--dataset", "mnist-sample",
                 "--n-train", "120"]) == 0
    assert "reconstruction error" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["train", "--variant", "AE", "--jacobian-weight", "1", "--output", "x.npz"],
     "--jacobian-weight does not apply to --variant AE"),
    (["train", "--n-hidden", "3", "4", "--output", "x.npz"], "one number without"),
    (["train", "--n-train", "5000", "--output", "x.npz"], "--n-train must be between"),
    (["predict", "--model", "absent.npz", "--dataset", "mnist-sample"], "absent.npz"),
    (["train", "--output", "absent/x.npz"], "the folder absent does not exist"),
    (["train", "--output", "."], "is a folder"),
], ids=["variant-conflict", "layers-without-classifier", "n-train", "missing-model",
        "output-folder-missing", "output-is-folder"])
def test_cli_errors_exit_2(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1


def test_predict_rejects_bad_input_file(tmp_path, capsys):
    model_path = tmp_path / "ae.npz"
    assert main(["train", "--n-hidden", "2", "--output", str(model_path), *FAST]) == 0
    np.save(tmp_path / "bad.npy", np.ones((2, 5), dtype=np.float32))
    (tmp_path / "text.npy").write_text("not numpy")
    capsys.readouterr()
    assert main(["predict", "--model", str(model_path), "--input",
                 str(tmp_path / "bad.npy")]) == 2
    assert "5 features" in capsys.readouterr().err
    assert main(["predict", "--model", str(model_path), "--input",
                 str(tmp_path / "text.npy")]) == 2
    err = capsys.readouterr().err
    assert "cannot read --input" in err
    assert "not a .npy file" in err
    assert "pickle" not in err
    np.save(tmp_path / "complex.npy", np.ones((2, 784), dtype=np.complex64))
    assert main(["predict", "--model", str(model_path), "--input",
                 str(tmp_path / "complex.npy")]) == 2
    err = capsys.readouterr().err
    assert "dtype complex64" in err
    assert err.count("\n") == 1


def test_predict_official_mnist_test_set(data_home, tmp_path, capsys):
    model_path = tmp_path / "clf.npz"
    assert main(["train", "--classifier", "--n-hidden", "6", "--no-fine-tune",
                 "--output", str(model_path), *FAST]) == 0
    capsys.readouterr()
    assert main(["predict", "--model", str(model_path), "--dataset", "mnist",
                 "--data-home", str(data_home), "-q"]) == 0
    assert "10000 mnist test samples" in capsys.readouterr().out


def test_train_on_usps(data_home, tmp_path):
    output = tmp_path / "usps.npz"
    assert main(["train", "--dataset", "usps", "--data-home", str(data_home), "--n-hidden",
                 "4", "--output", str(output), *FAST]) == 0
    assert load_model(output).components_.shape == (4, 256)


@pytest.mark.parametrize("option, value, message", [
    ("--output", "{tmp}", "--output {tmp} is a folder; pass a file name such as"),
    ("--output", "{tmp}/missing/model.npz", "the folder {tmp}/missing does not exist"),
    ("--filters", "{tmp}", "--filters {tmp} is a folder; pass a file name such as"),
    ("--filters", "{tmp}/missing/f.png", "the folder {tmp}/missing does not exist"),
    ("--filters", "{tmp}/f.txt", "pass a file name ending in .png"),
])
def test_train_checks_output_paths_before_training(tmp_path, capsys, option, value, message):
    paths = {"--output": str(tmp_path / "model.npz"), "--filters": str(tmp_path / "f.png")}
    paths[option] = value.format(tmp=tmp_path)
    status = main(["train", "--n-hidden", "4", "--output", paths["--output"],
                   "--filters", paths["--filters"], *FAST])
    captured = capsys.readouterr()
    assert status == 2
    assert message.format(tmp=tmp_path) in captured.err
    # Nothing was trained or saved.
    assert "Training" not in captured.out
    assert not (tmp_path / "model.npz").exists()


def test_init_params_reports_needed_memory():
    with pytest.raises(MemoryError, match=r"n_hidden=1000000000 with 784 features needs"):
        jsae_fast.init_params(784, 10**9)


@pytest.mark.parametrize("seed", ["-1", str(2**32), "x"])
def test_cli_rejects_bad_seed(capsys, seed):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--seed", seed, "--output", "unused.npz"])
    assert exit_info.value.code == 2
    assert "--seed" in capsys.readouterr().err
