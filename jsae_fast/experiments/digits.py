"""USPS and Pen digits experiments, and the validation search for penalties.

Both experiments train AE, SAE and JSAE for 750 L-BFGS iterations and score
softmax on their codes after 250, 350, ..., 750 iterations (one run per
model and repeat, see :func:`._common.fit_autoencoder_checkpoints`).
"""


import numpy as np
from sklearn.model_selection import train_test_split

from . import _runner
from ._base import (
    Experiment,
    new_figure,
    paired_section,
    partial,
    plot_accuracy_curves,
    save_figure,
)
from ._common import (
    AUTOENCODERS,
    MODEL_ORDER,
    N_HIDDEN,
    PENALTIES,
    baseline_scores,
    fit_autoencoder_checkpoints,
    load,
    mnist_train_validation,
    subsample,
    variant_penalties,
)
from .mnist import ITERATION_COLUMNS, _autoencoder_rows, _baseline_rows, iteration_checkpoints
from .mnist import repeat_seed


QUICK_SIZE = 300
QUICK_HIDDEN = 16


def _quick_subsample(X_train, y_train, X_test, y_test, seed):
    X_train, y_train = subsample(X_train, y_train, QUICK_SIZE, seed)
    X_test, y_test = subsample(X_test, y_test, QUICK_SIZE, seed + 1)
    return X_train, y_train, X_test, y_test


def _run_split_task(dataset, split, task, n_threads, backend, checkpoints):
    X_train, y_train, X_test, y_test = split
    if task["model"] == "baselines":
        scores = baseline_scores(X_train, y_train, X_test, y_test)
        fill = {"iterations": "-", "n_iter": "", "cost": "", "train_seconds": ""}
        return _baseline_rows(task, scores, fill)
    results = fit_autoencoder_checkpoints(
        X_train, y_train, [(X_test, y_test)],
        penalties=variant_penalties(dataset, task["model"]), n_hidden=task["n_hidden"],
        checkpoints=checkpoints, seed=task["seed"], n_threads=n_threads, backend=backend)
    return _autoencoder_rows(task, results, ["accuracy"])


def _split_tasks(args, dataset, splits_with_repeats):
    """Return tasks for each (split, repeat): three autoencoders, plus baselines when
    the split changes with the repeat (or on the first repeat of a fixed split)."""
    n_hidden = QUICK_HIDDEN if args.quick else N_HIDDEN[dataset]
    tasks = []
    for split, split_varies in splits_with_repeats:
        for repeat in range(args.repeats):
            seed = repeat_seed(args.seed, repeat)
            for model in AUTOENCODERS:
                tasks.append({"split": split, "repeat": repeat, "seed": seed,
                              "model": model, "n_hidden": n_hidden})
            if split_varies or repeat == 0:
                tasks.append({"split": split, "repeat": repeat, "seed": seed,
                              "model": "baselines", "n_hidden": ""})
    return tasks


def _split_summary(rows, title, splits):
    lines = [f"## {title}: test accuracy (%) against L-BFGS iterations, mean ± std over "
             "repeats", "", "Baselines (no iterations) are in the row `-`.", ""]
    for split in splits:
        split_rows = [r for r in rows if r["split"] == split]
        if not split_rows:
            continue
        lines += [f"### split: {split}", "",
                  _runner.pivot_markdown(split_rows, "iterations", MODEL_ORDER), "",
                  ("Paired tests over all (iterations, repeat) pairs. The checkpoints of one fit "
                   "are correlated, so these p-values are optimistic:"), "",
                  paired_section([r for r in split_rows if r["iterations"] != "-"],
                                 ["iterations", "seed"]),
                  ""]
        at_end = [r for r in split_rows if r["iterations"] == str(max(
            int(x["iterations"]) for x in split_rows if x["iterations"] != "-"))]
        lines += ["At the last checkpoint only (one independent pair per repeat):", "",
                  paired_section(at_end, ["seed"]), ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------
# usps
# --------------------------------------------------------------------------


def run_usps_task(task, n_threads, *, data_home, quick, backend, checkpoints):
    X_train, y_train = load("usps-train", data_home)
    X_test, y_test = load("usps-test", data_home)
    split = (X_train, y_train, X_test, y_test)
    if quick:
        split = _quick_subsample(*split, seed=0)
    return _run_split_task("usps", split, task, n_threads, backend, checkpoints)


class Usps(Experiment):
    name = "usps"
    help = "USPS (7291 train / 2007 test) accuracy against iterations (250-750)"
    description = ("Train AE, SAE and JSAE on the 7291 USPS training images and score "
                   "softmax on their codes on the 2007 test images after 250, 350, ..., "
                   "750 L-BFGS iterations; repeats change the initial parameters.")
    columns = ("split",) + ITERATION_COLUMNS

    def tasks(self, args, rows):
        return _split_tasks(args, "usps", [("official", False)])

    def runner(self, args):
        return partial(run_usps_task, data_home=args.data_home, quick=args.quick,
                       backend=args.backend, checkpoints=iteration_checkpoints(args))

    def summarize(self, rows, args):
        return _split_summary(rows, "USPS", ["official"])

    def plot(self, rows, path, args):
        fig, (ax,) = new_figure()
        plot_accuracy_curves(ax, rows, "iterations", title="USPS: accuracy vs iterations",
                             xlabel="L-BFGS iterations")
        save_figure(fig, path)


# --------------------------------------------------------------------------
# pendigits
# --------------------------------------------------------------------------


def pendigits_split(split, seed, data_home):
    """Return the official 7494/3498 split or a random 5496/5496 halving of all 10992."""
    if split == "official":
        X_train, y_train = load("pendigits-train", data_home)
        X_test, y_test = load("pendigits-test", data_home)
        return X_train, y_train, X_test, y_test
    X, y = load("pendigits-all", data_home)
    order = np.random.default_rng(seed).permutation(len(X))
    half = len(X) // 2
    train, test = np.sort(order[:half]), np.sort(order[half:])
    return X[train], y[train], X[test], y[test]


def run_pendigits_task(task, n_threads, *, data_home, quick, backend, checkpoints):
    split = pendigits_split(task["split"], task["seed"], data_home)
    if quick:
        split = _quick_subsample(*split, seed=task["seed"])
    return _run_split_task("pendigits", split, task, n_threads, backend, checkpoints)


class Pendigits(Experiment):
    name = "pendigits"
    help = "Pen digits accuracy against iterations, random halves and official split"
    description = ("Train AE, SAE and JSAE on UCI Pen digits, both on random 5496/5496 "
                   "halves of all 10992 samples (a new half per repeat) and on the official "
                   "7494/3498 split, and score softmax on their codes after 250, 350, ..., "
                   "750 L-BFGS iterations.")
    columns = ("split",) + ITERATION_COLUMNS

    def add_arguments(self, parser):
        parser.add_argument("--splits", nargs="+", choices=("random", "official"),
                            default=["random", "official"], help="which splits to run")

    def tasks(self, args, rows):
        splits = [(s, s == "random") for s in args.splits]
        return _split_tasks(args, "pendigits", splits)

    def runner(self, args):
        return partial(run_pendigits_task, data_home=args.data_home, quick=args.quick,
                       backend=args.backend, checkpoints=iteration_checkpoints(args))

    def summarize(self, rows, args):
        return _split_summary(rows, "Pen digits", ["random", "official"])

    def plot(self, rows, path, args):
        splits = [s for s in ("random", "official") if any(r["split"] == s for r in rows)]
        fig, axes = new_figure(ncols=max(1, len(splits)))
        for ax, split in zip(axes, splits):
            plot_accuracy_curves(ax, [r for r in rows if r["split"] == split], "iterations",
                                 title=f"Pen digits ({split} split)",
                                 xlabel="L-BFGS iterations")
        save_figure(fig, path)


# --------------------------------------------------------------------------
# tune: validation search on training data only
# --------------------------------------------------------------------------

TUNE_WEIGHT_DECAY = [1e-6, 1e-5, 1e-4, 1e-3, 3e-3]
TUNE_SPARSITY = [0.01, 0.1, 1.0, 3.0]
TUNE_JACOBIAN = [1e-4, 1e-3, 1e-2, 1e-1, 1.0]


def tune_split(dataset, seed, data_home, quick):
    """Split a training set 80/20 (stratified) into fit and validation parts.

    MNIST uses 2000 fit and 1000 validation images of the 5000-image sample.
    """
    if dataset == "mnist":
        n_fit, n_val = (200, 200) if quick else (2000, 1000)
        return mnist_train_validation(n_fit, n_val, seed)
    X, y = load(f"{dataset}-train", data_home)
    if quick:
        X, y = subsample(X, y, 2 * QUICK_SIZE, seed)
    X_fit, X_val, y_fit, y_val = train_test_split(X, y, test_size=0.2, stratify=y,
                                                  random_state=seed)
    return X_fit, y_fit, X_val, y_val


def run_tune_task(task, n_threads, *, data_home, quick, backend):
    X_fit, y_fit, X_val, y_val = tune_split(task["dataset"], task["seed"], data_home, quick)
    penalties = dict(PENALTIES[task["dataset"]], weight_decay=task["weight_decay"],
                     sparsity_weight=task["sparsity_weight"],
                     jacobian_weight=task["jacobian_weight"])
    results = fit_autoencoder_checkpoints(
        X_fit, y_fit, [(X_val, y_val)], penalties=penalties, n_hidden=task["n_hidden"],
        checkpoints=[task["max_iter"]], seed=task["seed"], n_threads=n_threads,
        backend=backend)
    rows = _autoencoder_rows(task, results, ["validation_accuracy"])
    for row in rows:
        del row["iterations"]
    return rows


class Tune(Experiment):
    name = "tune"
    help = "choose penalty weights on a validation part of a training set"
    description = ("Stage 1 fits SAE over weight decay x sparsity weight; stage 2 fits JSAE "
                   "over the Jacobian weight with the stage-1 winner.  All scores are on an "
                   "80/20 stratified validation split of the training set (MNIST: 2000 + "
                   "1000 images of the sample); no test data is read.")
    columns = ("dataset", "stage", "repeat", "seed", "n_hidden", "max_iter", "weight_decay",
               "sparsity_weight", "jacobian_weight", "validation_accuracy", "n_iter", "cost",
               "train_seconds", "note", "task_seconds")
    default_repeats = 1
    n_stages = 2

    def add_arguments(self, parser):
        parser.add_argument("--dataset", choices=("pendigits", "usps", "mnist"),
                            default="pendigits", help="data set to tune (default: pendigits)")
        parser.add_argument("--max-iter", type=int, default=400,
                            help="L-BFGS iterations per fit (default: 400)")
        parser.add_argument("--n-hidden", type=int, default=None,
                            help="hidden units (default: the data set's default)")

    def tasks(self, args, rows):
        n_hidden = QUICK_HIDDEN if args.quick else (args.n_hidden or N_HIDDEN[args.dataset])
        max_iter = 15 if args.quick else args.max_iter
        decays = TUNE_WEIGHT_DECAY[:2] if args.quick else TUNE_WEIGHT_DECAY
        sparsities = TUNE_SPARSITY[:2] if args.quick else TUNE_SPARSITY
        jacobians = TUNE_JACOBIAN[:2] if args.quick else TUNE_JACOBIAN
        tasks = []
        for repeat in range(args.repeats):
            common = {"dataset": args.dataset, "repeat": repeat, "n_hidden": n_hidden,
                      "seed": repeat_seed(args.seed, repeat), "max_iter": max_iter}
            for decay in decays:
                for sparsity in sparsities:
                    tasks.append(dict(common, stage="sae", weight_decay=decay,
                                      sparsity_weight=sparsity, jacobian_weight=0.0))
        stage1 = [r for r in rows if r["stage"] == "sae" and r["dataset"] == args.dataset]
        if len(stage1) >= len(tasks):
            decay, sparsity = best_penalties(stage1)[:2]
            for repeat in range(args.repeats):
                common = {"dataset": args.dataset, "repeat": repeat, "n_hidden": n_hidden,
                          "seed": repeat_seed(args.seed, repeat), "max_iter": max_iter}
                for jacobian in jacobians:
                    tasks.append(dict(common, stage="jsae", weight_decay=decay,
                                      sparsity_weight=sparsity, jacobian_weight=jacobian))
        return tasks

    def runner(self, args):
        return partial(run_tune_task, data_home=args.data_home, quick=args.quick,
                       backend=args.backend)

    def summarize(self, rows, args):
        rows = [r for r in rows if r["dataset"] == args.dataset]
        lines = [f"## Validation search on {args.dataset} (validation accuracy %, mean ± std "
                 "over repeats)", "", "| stage | weight decay | sparsity weight | Jacobian "
                 "weight | validation |", "|---|---|---|---|---|"]
        groups = _runner.group_accuracy(rows, ["stage", "weight_decay", "sparsity_weight",
                                               "jacobian_weight"], "validation_accuracy")
        for key in sorted(groups, key=lambda k: (k[0] != "sae",) + tuple(
                float(v) for v in k[1:])):
            lines.append(f"| {key[0]} | {float(key[1]):g} | {float(key[2]):g} | "
                         f"{float(key[3]):g} | {_runner.format_mean_std(groups[key])} |")
        for stage in ("sae", "jsae"):
            stage_rows = [r for r in rows if r["stage"] == stage]
            if stage_rows:
                decay, sparsity, jacobian, score = best_penalties(stage_rows)
                lines += ["", f"Best {stage.upper()}: weight decay {decay:g}, sparsity weight "
                              f"{sparsity:g}, Jacobian weight {jacobian:g} (validation "
                              f"{100 * score:.2f}%)."]
        return "\n".join(lines)

    def plot(self, rows, path, args):
        rows = [r for r in rows if r["dataset"] == args.dataset]
        fig, axes = new_figure(ncols=2, width=4.8)
        stage1 = [r for r in rows if r["stage"] == "sae"]
        groups = _runner.group_accuracy(stage1, ["weight_decay", "sparsity_weight"],
                                        "validation_accuracy")
        for sparsity in sorted({float(k[1]) for k in groups}):
            keys = sorted((k for k in groups if float(k[1]) == sparsity),
                          key=lambda k: float(k[0]))
            axes[0].plot([float(k[0]) for k in keys], [100 * groups[k].mean() for k in keys],
                         marker="o", label=f"sparsity weight {sparsity:g}")
        axes[0].set_xscale("log")
        axes[0].set_xlabel("weight decay")
        axes[0].set_title(f"{args.dataset}: SAE validation accuracy (%)")
        axes[0].legend(fontsize=7)
        stage2 = [r for r in rows if r["stage"] == "jsae"]
        groups = _runner.group_accuracy(stage2, ["jacobian_weight"], "validation_accuracy")
        keys = sorted(groups, key=lambda k: float(k[0]))
        axes[1].plot([float(k[0]) for k in keys], [100 * groups[k].mean() for k in keys],
                     marker="o")
        axes[1].set_xscale("log")
        axes[1].set_xlabel("Jacobian weight")
        axes[1].set_title(f"{args.dataset}: JSAE validation accuracy (%)")
        for ax in axes:
            ax.grid(alpha=0.3)
        save_figure(fig, path)


def best_penalties(rows):
    """Return ``(weight_decay, sparsity_weight, jacobian_weight, mean validation)`` of the
    best setting; ties go to the first in sorted order."""
    groups = _runner.group_accuracy(rows, ["weight_decay", "sparsity_weight",
                                           "jacobian_weight"], "validation_accuracy")
    key = max(sorted(groups, key=lambda k: tuple(float(v) for v in k)),
              key=lambda k: groups[k].mean())
    return float(key[0]), float(key[1]), float(key[2]), float(groups[key].mean())
