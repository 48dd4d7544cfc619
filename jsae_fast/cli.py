"""Command-line interface: ``jsae-fast`` and ``python -m jsae_fast``.

Without a subcommand it runs ``compare``, the comparison of AE, SAE and
JSAE on MNIST digits.  Invalid arguments or data end the program with one line
on stderr and exit status 2, without a traceback.  A command that Ctrl-C
ended early exits with status 130 (128 + SIGINT, the shell convention), and
``train`` saves the partially trained model first.
"""

import argparse
import contextlib
import logging
import re
import sys
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from . import __version__, datasets
from ._backends import BACKEND_ORDER
from ._validation import check_random_state
from .compare import compare_models, format_table

logger = logging.getLogger("jsae_fast")

#: Exit status of a command that Ctrl-C ended early: 128 + SIGINT.
INTERRUPTED_STATUS = 130

# Trainer.fit, StackedAutoencoderClassifier.fit and compare_models return
# normally after the first Ctrl-C and report it with a RuntimeWarning such as
# "Trainer: interrupted after 3 iterations; ...", which this pattern matches.
_INTERRUPTION_MESSAGE = r"\w+: interrupted\b"


class UsageError(Exception):
    """An invalid command-line request, reported as one line and exit status 2."""


def _is_interruption(message):
    return re.match(_INTERRUPTION_MESSAGE, str(message), re.IGNORECASE) is not None


@contextlib.contextmanager
def _record_interruptions():
    """Collect the interruption warnings of the fits run inside the block.

    Yields a list that receives the message of every RuntimeWarning by which
    a fit reports that Ctrl-C ended it early.  The warnings are still shown.
    """
    messages = []
    with warnings.catch_warnings():
        # The default action shows a warning once per code location, which
        # would hide a second interrupted fit from the same line.
        warnings.filterwarnings("always", _INTERRUPTION_MESSAGE, RuntimeWarning)
        show = warnings.showwarning

        def showwarning(message, category, filename, lineno, file=None, line=None):
            if issubclass(category, RuntimeWarning) and _is_interruption(message):
                messages.append(str(message))
            show(message, category, filename, lineno, file, line)

        warnings.showwarning = showwarning
        yield messages


def _seed(text):
    """Parse --seed as an int that NumPy accepts as a seed."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
    try:
        check_random_state(value, "the seed")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def _add_common(parser):
    parser.add_argument("--backend", default="auto", choices=("auto",) + BACKEND_ORDER,
                        help="cost-and-gradient implementation (default: auto, the fastest "
                             "available)")
    parser.add_argument("--n-threads", type=int, default=None,
                        help="threads for the kernels and BLAS (default: all usable cores)")
    parser.add_argument("--seed", type=_seed, default=0,
                        help="random seed, 0 to 2**32 - 1 (default: 0)")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="no progress bars or log lines")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="log more (-v: info, -vv: debug)")


def _add_compare(subparsers):
    parser = subparsers.add_parser(
        "compare", help="train AE, SAE and JSAE and compare softmax accuracy on their codes",
        description="Train AE, SAE and JSAE on a random part of the MNIST training images, "
                    "fit a softmax classifier on each model's codes and print test accuracy, "
                    "training time and iterations, with the raw-pixel softmax as baseline. "
                    "Without --data-home the embedded 5000-image MNIST sample is split into "
                    "training and test parts; with it, testing uses the 10000 official MNIST "
                    "test images.")
    _add_compare_options(parser)
    return parser


def _add_compare_options(parser):
    parser.add_argument("--data-home", default=None,
                        help="folder with the official MNIST test files "
                             "(t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]), "
                             "directly or in a mnist/ subfolder")
    parser.add_argument("--n-train", type=int, default=2000,
                        help="training images drawn from the 5000-image sample (default: 2000)")
    parser.add_argument("--n-hidden", type=int, default=196,
                        help="hidden units (default: 196)")
    parser.add_argument("--max-iter", type=int, default=400,
                        help="L-BFGS iterations per autoencoder (default: 400)")
    parser.add_argument("--dtype", default="float32", choices=("float32", "float64"),
                        help="floating-point type for training (default: float32)")
    _add_common(parser)
    parser.set_defaults(handler=_run_compare)


def _run_compare(args):
    if not 1 <= args.n_train < 5000:
        raise UsageError(f"--n-train must be between 1 and 4999, got {args.n_train}.")
    dtype = np.dtype(args.dtype).type
    X, y = datasets.load_mnist_sample(dtype=dtype)
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(X))
    train = np.sort(order[: args.n_train])
    X_train, y_train = X[train], y[train]
    if args.data_home is None:
        test = np.sort(order[args.n_train:])
        X_test, y_test = X[test], y[test]
        source = f"the other {len(test)} images of the embedded sample"
    else:
        X_test, y_test = datasets.load_mnist(args.data_home, subset="test", dtype=dtype)
        source = f"the {len(X_test)} official MNIST test images"
    print(f"Training on {len(X_train)} random MNIST training images "
          f"(embedded sample), testing on {source}.", flush=True)
    started = time.perf_counter()
    with _record_interruptions() as interruptions:
        rows = compare_models(X_train, y_train, X_test, y_test, n_hidden=args.n_hidden,
                              max_iter=args.max_iter, random_state=args.seed,
                              backend=args.backend, n_threads=args.n_threads,
                              verbose=0 if args.quiet else 1)
    print(format_table(rows))
    print(f"Total time: {time.perf_counter() - started:.1f} s")
    if interruptions:
        print("jsae-fast: interrupted; the table lists the models trained so far, and "
              "the last one stopped early.", file=sys.stderr)
        return INTERRUPTED_STATUS
    return 0


def build_parser():
    """Return the argument parser of ``jsae-fast``."""
    parser = argparse.ArgumentParser(
        prog="jsae-fast",
        description="Train Jacobian-regularized sparse autoencoders and classify their "
                    "codes. Without a subcommand, runs 'compare'.")
    parser.add_argument("--version", action="version", version=f"jsae_fast {__version__}")
    subparsers = parser.add_subparsers(title="subcommands", dest="command")
    _add_compare(subparsers)
    for register in _extra_subcommands():
        register(subparsers)
    return parser


def _extra_subcommands():
    """Return the ``register(subparsers)`` functions of optional subcommand modules."""
    registers = []
    try:
        from .experiments.cli import register
    except ImportError:  # pragma: no cover - experiments module not installed
        pass
    else:
        registers.append(register)
    try:
        from ._cli_models import register
    except ImportError:  # pragma: no cover
        pass
    else:
        registers.append(register)
    return registers


def main(argv=None):
    """Run the command line; return the exit status."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    subcommands = parser._subparsers._group_actions[0].choices
    if not (set(argv) & (set(subcommands) | {"-h", "--help", "--version"})):
        # The bare command runs the comparison with its defaults and options.
        argv = ["compare"] + argv
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(getattr(args, "verbose", 0), 2)
    if getattr(args, "quiet", False):
        level = logging.ERROR
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        with warnings.catch_warnings(), _record_interruptions() as interruptions:
            if getattr(args, "quiet", False):
                warnings.simplefilter("ignore", ConvergenceWarning)
            if args.command == "experiment":
                # An experiment records every task that returns as finished.
                # A fit that Ctrl-C ended early must therefore raise, so the
                # run stops and rerunning the command runs that task again.
                warnings.filterwarnings("error", _INTERRUPTION_MESSAGE, RuntimeWarning)
            status = args.handler(args)
        if interruptions and status == 0:
            print("jsae-fast: interrupted", file=sys.stderr)
            return INTERRUPTED_STATUS
        return status
    except BrokenPipeError:
        # The reader of stdout went away (for example `| head`): not an error.
        sys.stderr.close()
        return 0
    except MemoryError as exc:
        print(f"jsae-fast: error: not enough memory ({exc or 'allocation failed'}); "
              f"reduce the sizes requested.", file=sys.stderr)
        return 2
    except (UsageError, ValueError, TypeError, ImportError, FloatingPointError,
            OSError) as exc:
        # FloatingPointError covers a diverging fit (NonFiniteCostError) and
        # OSError a missing, unreadable or unwritable file.
        print(f"jsae-fast: error: {exc}", file=sys.stderr)
        return 2
    except RuntimeWarning as warning:
        # Raised for the interruption of an experiment's fit (see above), and
        # for any RuntimeWarning when Python runs with -W error.
        if not _is_interruption(warning):
            raise
        hint = ("; rerun the same command to run the remaining tasks"
                if args.command == "experiment" else "")
        print(f"jsae-fast: interrupted{hint}.", file=sys.stderr)
        return INTERRUPTED_STATUS
    except KeyboardInterrupt:
        print("jsae-fast: interrupted", file=sys.stderr)
        return INTERRUPTED_STATUS
