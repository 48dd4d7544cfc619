"""The ``train`` and ``predict`` subcommands of ``jsae-fast``.

``train`` fits one autoencoder (or, with ``--classifier``, a stacked
autoencoder classifier) on a digit data set and saves it with
:func:`jsae_fast.save_model`.  ``predict`` loads such a file and either
measures it on a data set's test split or applies it to a ``.npy`` array and
writes a CSV file.

Test splits: the embedded 5000-image MNIST sample has none, so ``train``
draws ``--n-train`` images with ``--seed`` and ``predict`` uses the other
images of the sample when given the same ``--n-train`` and ``--seed``.  For
MNIST, USPS and Pen digits the official test files are used.
"""

import csv
import logging
import os
import sys
import time
from pathlib import Path

import numpy as np

from . import datasets
from .cli import INTERRUPTED_STATUS, UsageError, _add_common, _record_interruptions
from .compare import VARIANTS
from .estimators import (
    Autoencoder,
    ContractiveAutoencoder,
    JacobianSparseAutoencoder,
    SparseAutoencoder,
)
from .persistence import load_model, save_model
from .softmax import SoftmaxClassifier
from .stacked import StackedAutoencoderClassifier

logger = logging.getLogger(__name__)

DATASETS = ("mnist-sample", "mnist", "usps", "pendigits")
_LOADERS = {"mnist": datasets.load_mnist, "usps": datasets.load_usps,
            "pendigits": datasets.load_pendigits}
_AUTOENCODERS = {"AE": Autoencoder, "SAE": SparseAutoencoder, "JSAE": JacobianSparseAutoencoder,
                 "CAE": ContractiveAutoencoder}
# Penalties of the stacked classifier's layers for each --variant.
_STACKED_VARIANTS = {"AE": VARIANTS["AE"], "SAE": VARIANTS["SAE"], "JSAE": VARIANTS["JSAE"],
                     "CAE": dict(VARIANTS["JSAE"], sparsity_weight=0.0)}
_DEFAULT_N_TRAIN_SAMPLE = 2000
_N_SAMPLE = 5000


def register(subparsers):
    """Add the ``train`` and ``predict`` subcommands to ``subparsers``."""
    _add_train(subparsers)
    _add_predict(subparsers)


def _add_dataset_options(parser):
    parser.add_argument("--dataset", choices=DATASETS, default="mnist-sample",
                        help="data set: the embedded 5000-image MNIST sample, or the "
                             "official MNIST, USPS or UCI Pen digits files under --data-home "
                             "(default: mnist-sample)")
    parser.add_argument("--data-home", default=None,
                        help="folder with the data set files (default: the JSAE_FAST_DATA "
                             "environment variable, else ~/.cache/jsae_fast)")
    parser.add_argument("--n-train", type=int, default=None,
                        help=f"training samples drawn at random with --seed (default: "
                             f"{_DEFAULT_N_TRAIN_SAMPLE} for mnist-sample, all for the others)")


def _add_train(subparsers):
    parser = subparsers.add_parser(
        "train", help="train one autoencoder or stacked classifier and save it",
        description="Train an autoencoder (AE, SAE, JSAE or CAE) on a digit data set, save it "
                    "as a .npz model file and optionally draw its first-layer filters. With "
                    "--classifier, train a stacked autoencoder classifier instead: "
                    "layer-wise pretraining, a softmax on top and fine-tuning with early "
                    "stopping.")
    _add_dataset_options(parser)
    parser.add_argument("--variant", choices=tuple(_AUTOENCODERS), default="JSAE",
                        help="penalties: AE weight decay only, SAE adds sparsity, JSAE adds "
                             "sparsity and the Jacobian term, CAE adds only the Jacobian term "
                             "(default: JSAE)")
    parser.add_argument("--n-hidden", type=int, nargs="+", default=[196],
                        help="hidden units; with --classifier one number per layer "
                             "(default: 196)")
    parser.add_argument("--solver", choices=("lbfgs", "gd", "adam"), default="lbfgs",
                        help="optimizer (default: lbfgs)")
    parser.add_argument("--max-iter", type=int, default=400,
                        help="iterations per autoencoder, epochs for adam (default: 400)")
    parser.add_argument("--sparsity-target", type=float, default=None,
                        help="target mean activation of each hidden unit (default: 0.1)")
    parser.add_argument("--weight-decay", type=float, default=None,
                        help="L2 penalty on the weights (default: 0.003)")
    parser.add_argument("--sparsity-weight", type=float, default=None,
                        help="weight of the KL sparsity term, SAE and JSAE (default: 3)")
    parser.add_argument("--jacobian-weight", type=float, default=None,
                        help="weight of the Jacobian term, JSAE and CAE (default: 0.03)")
    parser.add_argument("--tied", action="store_true", help="tie decoder weights to W.T")
    parser.add_argument("--dtype", default="float32", choices=("float32", "float64"),
                        help="floating-point type for training (default: float32)")
    parser.add_argument("--classifier", action="store_true",
                        help="train a stacked autoencoder classifier on the labels")
    parser.add_argument("--softmax-weight-decay", type=float, default=1e-4,
                        help="L2 penalty of the softmax and of fine-tuning (default: 1e-4)")
    parser.add_argument("--fine-tune-max-iter", type=int, default=400,
                        help="L-BFGS iterations of fine-tuning (default: 400)")
    parser.add_argument("--no-fine-tune", action="store_true",
                        help="keep the pretrained layers and train only the softmax")
    parser.add_argument("--output", required=True, help="model file to write (.npz)")
    parser.add_argument("--filters", default=None,
                        help="PNG file for a picture of the first layer's filters")
    _add_common(parser)
    parser.set_defaults(handler=_run_train)


def _add_predict(subparsers):
    parser = subparsers.add_parser(
        "predict", help="evaluate a saved model or apply it to a .npy file",
        description="Load a model written by 'jsae-fast train'. With --dataset, print the "
                    "accuracy of a classifier, or the reconstruction error of an "
                    "autoencoder, on the data set's test split. With --input, apply the "
                    "model to an array of shape (n_samples, n_features) with values in "
                    "[0, 1] and write a CSV file: the predicted label and class "
                    "probabilities for a classifier, the hidden codes for an autoencoder.")
    parser.add_argument("--model", required=True, help="model file written by 'train'")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--dataset", choices=DATASETS,
                        help="evaluate on this data set's test split; for mnist-sample, the "
                             "images not drawn for training with the same --n-train and "
                             "--seed")
    source.add_argument("--input", default=None, help=".npy file with the samples")
    parser.add_argument("--data-home", default=None,
                        help="folder with the data set files")
    parser.add_argument("--n-train", type=int, default=None,
                        help=f"for mnist-sample: --n-train given to train (default: "
                             f"{_DEFAULT_N_TRAIN_SAMPLE})")
    parser.add_argument("--output", default=None,
                        help="CSV file to write with --input (default: standard output)")
    _add_common(parser)
    parser.set_defaults(handler=_run_predict)


# ----------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------


def _sample_split(n_train, seed):
    n_train = _DEFAULT_N_TRAIN_SAMPLE if n_train is None else n_train
    if not 1 <= n_train < _N_SAMPLE:
        raise UsageError(f"--n-train must be between 1 and {_N_SAMPLE - 1} for mnist-sample, "
                         f"got {n_train}.")
    order = np.random.default_rng(seed).permutation(_N_SAMPLE)
    return np.sort(order[:n_train]), np.sort(order[n_train:])


def load_split(dataset, subset, *, data_home=None, n_train=None, seed=0, dtype=np.float32):
    """Return ``(X, y)`` of a data set's training or test split as the CLI uses it."""
    if dataset == "mnist-sample":
        X, y = datasets.load_mnist_sample(dtype=dtype)
        train, test = _sample_split(n_train, seed)
        rows = train if subset == "train" else test
        return X[rows], y[rows]
    X, y = _LOADERS[dataset](data_home, subset=subset, dtype=dtype)
    if subset == "train" and n_train is not None:
        if not 1 <= n_train <= len(X):
            raise UsageError(f"--n-train must be between 1 and {len(X)} for {dataset}, "
                             f"got {n_train}.")
        rows = np.sort(np.random.default_rng(seed).permutation(len(X))[:n_train])
        X, y = X[rows], y[rows]
    return X, y


# ----------------------------------------------------------------------
# train
# ----------------------------------------------------------------------


def _penalty_arguments(args):
    """Return the penalty keyword arguments the variant accepts, or raise UsageError."""
    fixed = {"AE": ("sparsity_target", "sparsity_weight", "jacobian_weight"),
             "SAE": ("jacobian_weight",), "JSAE": (),
             "CAE": ("sparsity_target", "sparsity_weight")}[args.variant]
    kwargs = {}
    for name in ("sparsity_target", "weight_decay", "sparsity_weight", "jacobian_weight"):
        value = getattr(args, name)
        if value is None:
            continue
        if name in fixed:
            option = "--" + name.replace("_", "-")
            raise UsageError(f"{option} does not apply to --variant {args.variant}, which "
                             f"fixes it; choose a variant that uses it.")
        kwargs[name] = value
    return kwargs


def _build_model(args, penalties):
    sizes = tuple(args.n_hidden)
    verbose = 0 if args.quiet else 1
    common = dict(solver=args.solver, max_iter=args.max_iter, tied=args.tied,
                  backend=args.backend, n_threads=args.n_threads, random_state=args.seed,
                  verbose=verbose)
    if not args.classifier:
        if len(sizes) != 1:
            raise UsageError(f"--n-hidden takes one number without --classifier, got "
                             f"{len(sizes)}: {' '.join(map(str, sizes))}.")
        return _AUTOENCODERS[args.variant](n_hidden=sizes[0], **common, **penalties)
    # The stacked classifier has all four penalties; a variant fixes some of them.
    stacked_penalties = dict(_STACKED_VARIANTS[args.variant], **penalties)
    return StackedAutoencoderClassifier(
        hidden_layer_sizes=sizes, softmax_weight_decay=args.softmax_weight_decay,
        fine_tune=not args.no_fine_tune, fine_tune_max_iter=args.fine_tune_max_iter,
        **common, **stacked_penalties)


def _check_output_file(path, option="--output", example="model.npz"):
    """Raise UsageError unless a file can be written at ``path``.

    Training can take minutes, so the checks run before it starts.
    """
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"{option} {path} is a folder; pass a file name such as "
                         f"{target / example}.")
    folder = target.parent
    if not folder.is_dir():
        raise UsageError(f"{option} {path}: the folder {folder} does not exist; create it "
                         f"first.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {path}: the folder {folder} is not writable; choose "
                         f"another folder.")


def _run_train(args):
    dataset = args.dataset
    _check_output_file(args.output)
    if args.filters is not None:
        _check_output_file(args.filters, "--filters", "filters.png")
        if Path(args.filters).suffix.lower() != ".png":
            raise UsageError(f"--filters {args.filters}: the picture is written as PNG; "
                             f"pass a file name ending in .png.")
    penalties = _penalty_arguments(args)
    X, y = load_split(dataset, "train", data_home=args.data_home, n_train=args.n_train,
                      seed=args.seed, dtype=np.dtype(args.dtype).type)
    model = _build_model(args, penalties)
    kind = "stacked classifier" if args.classifier else args.variant
    print(f"Training {kind} on {len(X)} {dataset} samples.", flush=True)
    started = time.perf_counter()
    # The first Ctrl-C ends the fit early but keeps a usable model, which is
    # saved like a finished one.  Only the exit status distinguishes the two.
    with _record_interruptions() as interruptions:
        if args.classifier:
            model.fit(X, y)
        else:
            model.fit(X)
    elapsed = time.perf_counter() - started
    save_model(model, args.output)
    if interruptions:
        print(f"jsae-fast: training was interrupted after {elapsed:.1f} s; saved the "
              f"partially trained model to {args.output}.", file=sys.stderr)
    else:
        print(f"Trained in {elapsed:.1f} s; saved the model to {args.output}.")
    if args.filters is not None:
        from .plot import plot_filters

        plot_filters(model, title=f"{kind} filters", path=args.filters)
        print(f"Wrote the filters to {args.filters}.")
    return INTERRUPTED_STATUS if interruptions else 0


# ----------------------------------------------------------------------
# predict
# ----------------------------------------------------------------------


def _is_classifier(model):
    return isinstance(model, (StackedAutoencoderClassifier, SoftmaxClassifier))


def _run_predict(args):
    model = load_model(args.model)
    if args.input is not None:
        return _predict_file(model, args)
    dtype = np.float32
    if hasattr(model, "components_"):
        dtype = model.components_.dtype.type
    X, y = load_split(args.dataset, "test", data_home=args.data_home, n_train=args.n_train,
                      seed=args.seed, dtype=dtype)
    if _is_classifier(model):
        accuracy = model.score(X, y)
        print(f"Accuracy of {type(model).__name__} on {len(X)} {args.dataset} test "
              f"samples: {100 * accuracy:.2f}%")
    else:
        reconstruction = model.inverse_transform(model.transform(X))
        error = float(np.mean(np.sum((reconstruction - X) ** 2, axis=1, dtype=np.float64)))
        print(f"{type(model).__name__} on {len(X)} {args.dataset} test samples: mean "
              f"squared reconstruction error per sample {error:.6g}, cost {-model.score(X):.6g}")
    return 0


def _predict_file(model, args):
    try:
        X = np.load(args.input, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        # NumPy reports any file without the .npy signature as pickled data
        # and suggests allow_pickle, which is no fix for a CSV or an image.
        reason = ("it is not a .npy file (save the array with numpy.save)"
                  if "pickle" in str(exc) else str(exc))
        raise UsageError(f"cannot read --input {args.input} as a .npy array: "
                         f"{reason}.") from exc
    if not isinstance(X, np.ndarray):
        raise UsageError(f"--input {args.input} is an .npz archive; pass one array saved "
                         f"with numpy.save.")
    if X.dtype.kind not in "biuf":
        raise UsageError(f"--input {args.input} has dtype {X.dtype}; expected real "
                         f"numbers in [0, 1].")
    if X.ndim != 2:
        raise UsageError(f"--input {args.input} has shape {X.shape}; expected a 2-D array of "
                         f"shape (n_samples, n_features).")
    if _is_classifier(model):
        labels = model.predict(X)
        proba = model.predict_proba(X)
        header = ["label"] + [f"p_{c}" for c in model.classes_]
        rows = ([label] + [f"{p:.6g}" for p in row] for label, row in zip(labels, proba))
    else:
        codes = model.transform(X)
        header = [f"h{j}" for j in range(codes.shape[1])]
        rows = ([f"{v:.6g}" for v in row] for row in codes)
    if args.output is None:
        _write_csv(sys.stdout, header, rows)
    else:
        with open(args.output, "w", newline="") as stream:
            _write_csv(stream, header, rows)
        print(f"Wrote {len(X)} rows to {args.output}.")
    return 0


def _write_csv(stream, header, rows):
    writer = csv.writer(stream)
    writer.writerow(header)
    writer.writerows(rows)
