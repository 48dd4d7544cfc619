"""Beyond the paper: stacked JSAE layers with fine-tuning, chosen on training data.

Candidates differ in layer sizes and may add things the paper did not use:
copies of each training image shifted by one pixel
(:class:`jsae_fast.augment.ImageShifts`, pixel data sets), rotated and
sheared copies of each pen trajectory
(:class:`jsae_fast.augment.PointDistortions`, Pen digits) and a soft-voting
ensemble of networks trained from different random seeds
(:class:`sklearn.ensemble.VotingClassifier`).

Stage 1 fits every candidate configuration of
:class:`jsae_fast.stacked.StackedAutoencoderClassifier` on a fit part of the
training data and scores it on the validation part (MNIST: 1000 other images
of the training sample; USPS and Pen digits: a stratified 20% of the training
set).  Stage 2 refits the configuration with the best validation accuracy on
each repeat's full training set and scores it on the test set.  The test set
takes no part in the choice.
"""

import warnings

from sklearn.exceptions import ConvergenceWarning

from . import _runner
from ._base import Experiment, new_figure, partial, save_figure
from ._common import PENALTIES, mnist_split, subsample
from .digits import QUICK_SIZE, pendigits_split, tune_split
from .mnist import repeat_seed



#: Image shape of each pixel data set, for the shifted copies.
IMAGE_SHAPES = {"mnist": (28, 28), "usps": (16, 16)}


def _config(layers, dataset, *, shifts=False, distort=False, ensemble=1, **overrides):
    settings = dict(PENALTIES[dataset], hidden_layer_sizes=tuple(layers), fine_tune=True,
                    early_stopping=True, max_iter=400, fine_tune_max_iter=400)
    settings.update(overrides)
    if shifts:
        settings["shifts"] = IMAGE_SHAPES[dataset]
    if distort:
        settings["distort"] = True
    if ensemble > 1:
        settings["ensemble"] = ensemble
    return settings


#: Candidate configurations per data set, by name.  Penalties start from the
#: data set's validated defaults, and the fine-tuning weight decay is the
#: estimator's ``softmax_weight_decay``.  In the names, "+shifts" adds the four
#: one-pixel shifts of every training image, "+distort" four rotated and
#: sheared copies of every pen trajectory, "5x" averages the probabilities
#: of five networks with different seeds, and "wd" sets the fine-tuning
#: weight decay.
CONFIGS = {
    "mnist": {
        "196/ft": _config([196], "mnist"),
        "400/ft": _config([400], "mnist"),
        "196/ft+shifts": _config([196], "mnist", shifts=True),
        "196-98/ft+shifts": _config([196, 98], "mnist", shifts=True),
    },
    "usps": {
        "196/ft": _config([196], "usps"),
        "400/ft": _config([400], "usps"),
        "196/ft+shifts": _config([196], "usps", shifts=True),
        "196-98/ft+shifts": _config([196, 98], "usps", shifts=True),
    },
    "pendigits": {
        "64/ft": _config([64], "pendigits"),
        "128/ft": _config([128], "pendigits"),
        "128-64/ft": _config([128, 64], "pendigits"),
        "256-128/ft": _config([256, 128], "pendigits"),
        "5x128-64/ft": _config([128, 64], "pendigits", ensemble=5),
        "5x128-64/ft/wd1e-3": _config([128, 64], "pendigits", ensemble=5,
                                      softmax_weight_decay=1e-3),
        "128-64/ft+distort": _config([128, 64], "pendigits", distort=True),
        "5x128-64/ft+distort": _config([128, 64], "pendigits", distort=True, ensemble=5),
    },
}

QUICK_CONFIGS = {
    "8/ft": {"hidden_layer_sizes": (8,), "max_iter": 10, "fine_tune_max_iter": 10},
    "8-8/ft": {"hidden_layer_sizes": (8, 8), "max_iter": 10, "fine_tune_max_iter": 10},
    "2x8/ft": {"hidden_layer_sizes": (8,), "max_iter": 10, "fine_tune_max_iter": 10,
               "ensemble": 2},
}


def make_classifier(settings, seed, n_threads, backend):
    """Return the (unfitted) classifier a candidate configuration describes."""
    from sklearn.ensemble import VotingClassifier

    from ..augment import ImageShifts, PointDistortions
    from ..stacked import StackedAutoencoderClassifier

    settings = dict(settings)
    ensemble = settings.pop("ensemble", 1)
    shape = settings.pop("shifts", None)
    distort = settings.pop("distort", False)
    if shape is not None:
        settings["augment"] = ImageShifts(shape)
    networks = []
    for k in range(ensemble):
        if distort:
            # Each network of an ensemble trains on its own distorted copies.
            settings["augment"] = PointDistortions(random_state=seed + k)
        networks.append(StackedAutoencoderClassifier(**settings, random_state=seed + k,
                                                     n_threads=n_threads, backend=backend))
    if ensemble == 1:
        return networks[0]
    return VotingClassifier([(f"net{k}", net) for k, net in enumerate(networks)],
                            voting="soft")


def _fit_score(settings, seed, n_threads, backend, X_train, y_train, evaluations):
    clf = make_classifier(settings, seed, n_threads, backend)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X_train, y_train)
    return [float(clf.score(X, y)) for X, y in evaluations]


def _test_split(task, data_home, quick):
    dataset, split = task["dataset"], task["split"]
    if dataset == "mnist":
        return mnist_split(task["n_train"], task["seed"], data_home, quick=quick)
    if dataset == "usps":
        from ._common import load

        X_train, y_train = load("usps-train", data_home)
        X_test, y_test = load("usps-test", data_home)
    else:
        X_train, y_train, X_test, y_test = pendigits_split(split, task["seed"], data_home)
    if quick:
        X_train, y_train = subsample(X_train, y_train, QUICK_SIZE, task["seed"])
        X_test, y_test = subsample(X_test, y_test, QUICK_SIZE, task["seed"] + 1)
    return X_train, y_train, X_test, y_test


def run_beyond_task(task, n_threads, *, data_home, quick, backend):
    configs = QUICK_CONFIGS if quick else CONFIGS[task["dataset"]]
    settings = configs[task["config"]]
    row = dict(task, validation_accuracy="", accuracy="", note="")
    if task["stage"] == "select":
        if task["dataset"] == "mnist":
            from ._common import mnist_train_validation

            n_val = 200 if quick else 1000
            split = mnist_train_validation(task["n_train"], n_val, task["seed"])
        else:
            split = tune_split(task["dataset"], task["seed"], data_home, quick)
        X_fit, y_fit, X_val, y_val = split
        (row["validation_accuracy"],) = _fit_score(settings, task["seed"], n_threads,
                                                   backend, X_fit, y_fit, [(X_val, y_val)])
    else:
        X_train, y_train, X_test, y_test = _test_split(task, data_home, quick)
        (row["accuracy"],) = _fit_score(settings, task["seed"], n_threads, backend,
                                        X_train, y_train, [(X_test, y_test)])
    return [row]


class Beyond(Experiment):
    name = "beyond"
    help = "stacked, fine-tuned JSAE configurations chosen on validation data"
    description = __doc__.split("\n\n", 1)[1]
    columns = ("dataset", "split", "n_train", "stage", "config", "repeat", "seed",
               "validation_accuracy", "accuracy", "note", "task_seconds")
    n_stages = 2

    def add_arguments(self, parser):
        parser.add_argument("--dataset", choices=("mnist", "usps", "pendigits"),
                            default="pendigits", help="data set (default: pendigits)")
        parser.add_argument("--n-train", type=int, default=2000,
                            help="MNIST training images (default: 2000)")
        parser.add_argument("--splits", nargs="+", choices=("random", "official"),
                            default=["official", "random"], help="Pen digits splits")
        names = ", ".join(sorted({name for configs in CONFIGS.values() for name in configs}))
        parser.add_argument("--also-test", nargs="+", action="extend", default=[],
                            metavar="CONFIG",
                            help=f"candidates to test as well as the chosen one, for the "
                                 f"record; the choice stays the validation winner "
                                 f"(candidates: {names}; with --quick: "
                                 f"{', '.join(QUICK_CONFIGS)})")

    def _common(self, args):
        n_train = (200 if args.quick else args.n_train) if args.dataset == "mnist" else ""
        splits = args.splits if args.dataset == "pendigits" else ["official"]
        return n_train, splits

    def tasks(self, args, rows):
        n_train, splits = self._common(args)
        configs = QUICK_CONFIGS if args.quick else CONFIGS[args.dataset]
        unknown = [name for name in args.also_test if name not in configs]
        if unknown:
            raise ValueError(f"--also-test names unknown candidates {unknown} for "
                             f"{args.dataset}; choose from {sorted(configs)}.")
        base = {"dataset": args.dataset, "n_train": n_train}
        tasks = [dict(base, split="validation", stage="select", config=name, repeat=0,
                      seed=repeat_seed(args.seed, 0)) for name in configs]
        selected = [r for r in rows if r["stage"] == "select"
                    and r["dataset"] == args.dataset and r["n_train"] == str(n_train)]
        if len(selected) >= len(tasks):
            best = best_config(selected)
            tested = [best] + [name for name in dict.fromkeys(args.also_test) if name != best]
            for name in tested:
                for split in splits:
                    for repeat in range(args.repeats):
                        tasks.append(dict(base, split=split, stage="test", config=name,
                                          repeat=repeat,
                                          seed=repeat_seed(args.seed, repeat)))
        return tasks

    def runner(self, args):
        return partial(run_beyond_task, data_home=args.data_home, quick=args.quick,
                       backend=args.backend)

    def summarize(self, rows, args):
        lines = ["## Beyond the paper: stacked, fine-tuned JSAE", "",
                 "| data set | n_train | config | validation accuracy (%) |",
                 "|---|---|---|---|"]
        for row in rows:
            if row["stage"] == "select":
                lines.append(f"| {row['dataset']} | {row['n_train']} | {row['config']} | "
                             f"{100 * float(row['validation_accuracy']):.2f} |")
        chosen = {}
        for row in rows:
            if row["stage"] == "select":
                key = (row["dataset"], row["n_train"])
                chosen.setdefault(key, []).append(row)
        chosen = {key: best_config(group) for key, group in chosen.items()}
        lines += ["", "Test rows of candidates other than the validation winner were "
                  "requested with --also-test or come from an earlier choice.", "",
                  "| data set | split | n_train | config | test accuracy (%) |",
                  "|---|---|---|---|---|"]
        tests = [r for r in rows if r["stage"] == "test"]
        groups = _runner.group_accuracy(tests, ["dataset", "split", "n_train", "config"])
        for key, values in sorted(groups.items()):
            dataset, _, n_train, config = key
            label = config + (" (chosen)" if chosen.get((dataset, n_train)) == config else "")
            lines.append("| " + " | ".join(key[:3] + (label,))
                         + f" | {_runner.format_mean_std(values)} |")
        return "\n".join(lines)

    def plot(self, rows, path, args):
        fig, (ax,) = new_figure()
        select = [r for r in rows if r["stage"] == "select"]
        labels = [f"{r['dataset']} {r['n_train']} {r['config']}".replace("  ", " ")
                  for r in select]
        ax.barh(range(len(select)), [100 * float(r["validation_accuracy"]) for r in select])
        ax.set_yticks(range(len(select)), labels, fontsize=7)
        ax.set_xlabel("validation accuracy (%)")
        low = min([100 * float(r["validation_accuracy"]) for r in select] or [0])
        ax.set_xlim(max(0, low - 5), 100)
        ax.set_title("Candidate configurations (training data only)")
        save_figure(fig, path)


def best_config(rows):
    """Return the config name with the highest validation accuracy (first on ties)."""
    return max(rows, key=lambda r: float(r["validation_accuracy"]))["config"]
