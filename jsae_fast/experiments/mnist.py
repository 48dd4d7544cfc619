"""MNIST experiments: accuracy against training-set size, iterations and penalties.

Training images are random draws from the 5000-image MNIST training sample
embedded in the package; testing uses the 10000 official test images (in
``--quick`` mode, a held-out part of the sample).  AE, SAE and JSAE of one
repeat train on the same draw from the same initial parameters.
"""

from pathlib import Path

import numpy as np

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
    mnist_split,
    mnist_train_validation,
    variant_penalties,
)


#: Repeat ``r`` of an experiment run with ``--seed s`` uses seed ``1000 * s + r``.
SEED_STRIDE = 1000


def repeat_seed(base_seed, repeat):
    return SEED_STRIDE * int(base_seed) + int(repeat)


def _autoencoder_rows(task, results, evaluation_names):
    rows = []
    for res in results:
        row = dict(task, iterations=res["iterations"], n_iter=res["n_iter"],
                   cost=f"{res['cost']:.6g}", train_seconds=f"{res['train_seconds']:.2f}",
                   note="")
        for name, score in zip(evaluation_names, res["scores"]):
            row[name] = score
        rows.append(row)
    return rows


def _baseline_rows(task, scores, fill):
    return [dict(task, model=model, accuracy=acc, note=note, **fill)
            for model, (acc, note) in scores.items()]


def save_filters(params, path, n_filters=100):
    """Store the first ``n_filters`` encoder weight rows as a float32 ``.npy`` file."""
    np.save(path, np.asarray(params["W"][:n_filters], dtype=np.float32))


# --------------------------------------------------------------------------
# train-size
# --------------------------------------------------------------------------


def run_train_size_task(task, n_threads, *, data_home, quick, backend, output):
    X_train, y_train, X_test, y_test = mnist_split(task["n_train"], task["seed"], data_home,
                                                   quick=quick)
    if task["model"] == "baselines":
        scores = baseline_scores(X_train, y_train, X_test, y_test, svm_cv=2 if quick else 3)
        fill = {"n_iter": "", "cost": "", "train_seconds": ""}
        return _baseline_rows(task, scores, fill)
    results = fit_autoencoder_checkpoints(
        X_train, y_train, [(X_test, y_test)],
        penalties=variant_penalties("mnist", task["model"]), n_hidden=task["n_hidden"],
        checkpoints=[task["max_iter"]], seed=task["seed"], n_threads=n_threads,
        backend=backend)
    if task["repeat"] == 0 and task["n_train"] == TrainSize.filter_size(quick):
        save_filters(results[0]["params"], Path(output) / f"filters_{task['model']}.npy")
    rows = _autoencoder_rows(task, results, ["accuracy"])
    for row in rows:
        del row["iterations"]
    return rows


class TrainSize(Experiment):
    name = "train-size"
    help = "MNIST accuracy against the number of training images (1500-4000)"
    description = ("Train AE, SAE and JSAE (plus softmax) on 1500, 2000, ..., 4000 random "
                   "images of the 5000-image MNIST training sample and test on the 10000 "
                   "official test images; baselines softmax on pixels, 1-NN and RBF SVM "
                   "on the same draws.")
    columns = ("n_train", "repeat", "seed", "model", "n_hidden", "max_iter", "accuracy",
               "n_iter", "cost", "train_seconds", "note", "task_seconds")

    @staticmethod
    def filter_size(quick):
        return 200 if quick else 2000

    def add_arguments(self, parser):
        parser.add_argument("--sizes", type=int, nargs="+", default=None,
                            help="training-set sizes (default: 1500 2000 2500 3000 3500 4000)")
        parser.add_argument("--max-iter", type=int, default=400,
                            help="L-BFGS iterations per autoencoder (default: 400)")
        parser.add_argument("--no-baselines", action="store_true",
                            help="skip softmax-on-pixels, 1-NN and SVM")

    def tasks(self, args, rows):
        if args.quick:
            sizes, max_iter, n_hidden = [100, 200], 15, 16
        else:
            sizes = args.sizes or list(range(1500, 4001, 500))
            max_iter, n_hidden = args.max_iter, N_HIDDEN["mnist"]
        models = list(AUTOENCODERS) + ([] if args.no_baselines else ["baselines"])
        tasks = []
        for repeat in range(args.repeats):
            for n_train in sizes:
                for model in models:
                    task = {"n_train": n_train, "repeat": repeat,
                            "seed": repeat_seed(args.seed, repeat), "model": model}
                    if model != "baselines":
                        task.update(n_hidden=n_hidden, max_iter=max_iter)
                    else:
                        task.update(n_hidden="", max_iter="")
                    tasks.append(task)
        return tasks

    def runner(self, args):
        return partial(run_train_size_task, data_home=args.data_home, quick=args.quick,
                       backend=args.backend, output=args.output)

    def summarize(self, rows, args):
        return "\n".join([
            "## Test accuracy (%) against training-set size, mean ± std over repeats",
            "",
            _runner.pivot_markdown(rows, "n_train", MODEL_ORDER),
            "",
            "Paired tests over all (size, repeat) pairs:",
            "",
            paired_section(rows, ["n_train", "seed"]),
        ])

    def plot(self, rows, path, args):
        fig, (ax,) = new_figure()
        plot_accuracy_curves(ax, rows, "n_train", title="MNIST: accuracy vs training size",
                             xlabel="training images")
        save_figure(fig, path)
        plot_filters_if_saved(Path(args.output))


def plot_filters_if_saved(folder, n_filters=100):
    """Draw the saved AE, SAE and JSAE filters side by side into ``filters.png``.

    When :mod:`jsae_fast.plot` is available, each model's filters also go to
    ``filters_<model>.png`` through its ``plot_filters``.
    """
    files = [(m, folder / f"filters_{m}.npy") for m in AUTOENCODERS]
    files = [(m, f) for m, f in files if f.exists()]
    if not files:
        return None
    fig, axes = new_figure(ncols=len(files), width=4.0, height=4.3)
    for ax, (model, file) in zip(axes, files):
        W = np.load(file)[:n_filters]
        side = int(round(np.sqrt(W.shape[1])))
        grid = int(np.ceil(np.sqrt(len(W))))
        canvas = np.full((grid * (side + 1) + 1, grid * (side + 1) + 1), np.nan)
        for k, w in enumerate(W):
            w = (w - w.mean()) / (np.abs(w - w.mean()).max() + 1e-12)
            r, c = divmod(k, grid)
            canvas[1 + r * (side + 1):1 + r * (side + 1) + side,
                   1 + c * (side + 1):1 + c * (side + 1) + side] = w.reshape(side, side)
        ax.imshow(canvas, cmap="gray", vmin=-1, vmax=1)
        ax.set_title(f"{model}: first {len(W)} encoder filters")
        ax.axis("off")
    path = folder / "filters.png"
    save_figure(fig, path)
    try:
        from ..plot import plot_filters
    except ImportError:
        return path
    import matplotlib.pyplot as plt

    for model, file in files:
        figure = plot_filters(np.load(file)[:n_filters], title=f"{model} encoder filters",
                              path=folder / f"filters_{model}.png")
        plt.close(figure)
    return path


# --------------------------------------------------------------------------
# iterations
# --------------------------------------------------------------------------


def run_iterations_task(task, n_threads, *, data_home, quick, backend, checkpoints):
    X_train, y_train, X_test, y_test = mnist_split(task["n_train"], task["seed"], data_home,
                                                   quick=quick)
    if task["model"] == "baselines":
        scores = baseline_scores(X_train, y_train, X_test, y_test, svm_cv=2 if quick else 3)
        fill = {"iterations": "-", "n_iter": "", "cost": "", "train_seconds": ""}
        return _baseline_rows(task, scores, fill)
    results = fit_autoencoder_checkpoints(
        X_train, y_train, [(X_test, y_test)],
        penalties=variant_penalties("mnist", task["model"]), n_hidden=task["n_hidden"],
        checkpoints=checkpoints, seed=task["seed"], n_threads=n_threads, backend=backend)
    return _autoencoder_rows(task, results, ["accuracy"])


ITERATION_COLUMNS = ("repeat", "seed", "model", "n_hidden", "iterations", "accuracy",
                     "n_iter", "cost", "train_seconds", "note", "task_seconds")


def iteration_checkpoints(args):
    if args.quick:
        return [5, 10, 15]
    return list(range(250, 751, 100))


class Iterations(Experiment):
    name = "iterations"
    help = "MNIST accuracy against L-BFGS iterations (250-750)"
    description = ("Train AE, SAE and JSAE on 2000 random MNIST training images and "
                   "score softmax on their codes after 250, 350, ..., 750 L-BFGS "
                   "iterations, on the 10000 official test images.")
    columns = ("n_train",) + ITERATION_COLUMNS

    def add_arguments(self, parser):
        parser.add_argument("--n-train", type=int, default=2000,
                            help="training images drawn from the sample (default: 2000)")

    def tasks(self, args, rows):
        n_train = 200 if args.quick else args.n_train
        n_hidden = 16 if args.quick else N_HIDDEN["mnist"]
        tasks = []
        for repeat in range(args.repeats):
            for model in list(AUTOENCODERS) + ["baselines"]:
                tasks.append({"n_train": n_train, "repeat": repeat, "model": model,
                              "seed": repeat_seed(args.seed, repeat),
                              "n_hidden": n_hidden if model != "baselines" else ""})
        return tasks

    def runner(self, args):
        return partial(run_iterations_task, data_home=args.data_home, quick=args.quick,
                       backend=args.backend, checkpoints=iteration_checkpoints(args))

    def summarize(self, rows, args):
        return "\n".join([
            "## Test accuracy (%) against L-BFGS iterations, mean ± std over repeats",
            "",
            "Baselines (no iterations) are in the row `-`.",
            "",
            _runner.pivot_markdown(rows, "iterations", MODEL_ORDER),
            "",
            ("Paired tests over all (iterations, repeat) pairs. The checkpoints of one fit "
                   "are correlated, so these p-values are optimistic:"),
            "",
            paired_section([r for r in rows if r["iterations"] != "-"],
                           ["iterations", "seed"]),
        ])

    def plot(self, rows, path, args):
        fig, (ax,) = new_figure()
        plot_accuracy_curves(ax, rows, "iterations", title="MNIST: accuracy vs iterations",
                             xlabel="L-BFGS iterations")
        save_figure(fig, path)


# --------------------------------------------------------------------------
# penalty-sweep
# --------------------------------------------------------------------------

FULL_GRID = [10.0 ** k for k in range(-6, 3)]
COARSE_GRID = [10.0 ** k for k in range(-6, 3, 2)]


def run_penalty_task(task, n_threads, *, backend, quick, n_validation, data_home):
    X_train, y_train, X_val, y_val = mnist_train_validation(task["n_train"], n_validation,
                                                            task["seed"])
    if quick:
        X_test, y_test = X_val, y_val
    else:
        X_test, y_test = load("mnist-test", data_home)
    penalties = dict(PENALTIES["mnist"], weight_decay=task["weight_decay"],
                     sparsity_weight=task["sparsity_weight"],
                     jacobian_weight=task["jacobian_weight"])
    results = fit_autoencoder_checkpoints(
        X_train, y_train, [(X_val, y_val), (X_test, y_test)], penalties=penalties,
        n_hidden=task["n_hidden"], checkpoints=[task["max_iter"]], seed=task["seed"],
        n_threads=n_threads, backend=backend)
    rows = _autoencoder_rows(task, results, ["validation_accuracy", "accuracy"])
    for row in rows:
        del row["iterations"]
        row["model"] = "JSAE"
    return rows


class PenaltySweep(Experiment):
    name = "penalty-sweep"
    help = "MNIST JSAE accuracy over sparsity weight x Jacobian weight (and weight decay)"
    description = ("Train JSAE on 2000 random MNIST training images for each sparsity "
                   "weight and Jacobian weight in {1e-6, ..., 1e2} (weight decay fixed) and "
                   "for each weight decay in the same range (the other two fixed); report "
                   "accuracy on 1000 held-out training-sample images (validation, used to "
                   "choose) and on the official test images (reported only).")
    columns = ("sweep", "n_train", "repeat", "seed", "n_hidden", "max_iter", "weight_decay",
               "sparsity_weight", "jacobian_weight", "model", "validation_accuracy",
               "accuracy", "n_iter", "cost", "train_seconds", "note", "task_seconds")
    default_repeats = 1

    def add_arguments(self, parser):
        parser.add_argument("--grid", choices=("full", "coarse"), default="full",
                            help="penalty values: full = 1e-6, 1e-5, ..., 1e2 (9 values); "
                                 "coarse = 1e-6, 1e-4, ..., 1e2 (5 values)")
        parser.add_argument("--max-iter", type=int, default=400,
                            help="L-BFGS iterations per fit (default: 400)")
        parser.add_argument("--n-train", type=int, default=2000,
                            help="training images (default: 2000)")
        parser.add_argument("--no-weight-decay-sweep", action="store_true",
                            help="skip the 1-D weight-decay sweep")

    def tasks(self, args, rows):
        grid = COARSE_GRID if (args.quick or args.grid == "coarse") else FULL_GRID
        if args.quick:
            grid = [1e-4, 1.0]
        n_train = 200 if args.quick else args.n_train
        n_hidden = 16 if args.quick else N_HIDDEN["mnist"]
        max_iter = 15 if args.quick else args.max_iter
        base = PENALTIES["mnist"]
        tasks = []
        for repeat in range(args.repeats):
            common = {"n_train": n_train, "repeat": repeat, "n_hidden": n_hidden,
                      "seed": repeat_seed(args.seed, repeat), "max_iter": max_iter}
            for sparsity in grid:
                for jacobian in grid:
                    tasks.append(dict(common, sweep="grid", weight_decay=base["weight_decay"],
                                      sparsity_weight=sparsity, jacobian_weight=jacobian))
            if not args.no_weight_decay_sweep:
                for decay in grid:
                    tasks.append(dict(common, sweep="weight_decay", weight_decay=decay,
                                      sparsity_weight=base["sparsity_weight"],
                                      jacobian_weight=base["jacobian_weight"]))
        return tasks

    def runner(self, args):
        return partial(run_penalty_task, backend=args.backend, quick=args.quick,
                       n_validation=300 if args.quick else 1000, data_home=args.data_home)

    @staticmethod
    def _selected(rows, args):
        """Keep the rows of this run's iteration count, so runs with another
        --max-iter that share the CSV are not averaged into the same cells."""
        max_iter = str(15 if args.quick else args.max_iter)
        return [r for r in rows if r["max_iter"] == max_iter]

    def summarize(self, rows, args):
        rows = self._selected(rows, args)
        lines = ["## JSAE accuracy (%) over sparsity weight (rows) x Jacobian weight "
                 "(columns), weight decay fixed", ""]
        grid_rows = [r for r in rows if r["sweep"] == "grid"]
        for value, label in (("validation_accuracy", "validation (held-out images of the "
                                                     "training sample)"),
                             ("accuracy", "test (official test images; --quick: the "
                                          "validation images)")):
            lines += [f"### {label}", "", _matrix_markdown(grid_rows, value), ""]
        if grid_rows:
            best = _best_cell(grid_rows, "validation_accuracy")
            lines += [f"Chosen on validation accuracy: sparsity weight {best[0]}, Jacobian "
                      f"weight {best[1]} (validation {100 * best[2]:.2f}%, test "
                      f"{100 * best[3]:.2f}%).", ""]
        decay_rows = [r for r in rows if r["sweep"] == "weight_decay"]
        if decay_rows:
            lines += ["## Weight-decay sweep (sparsity and Jacobian weights at their "
                      "defaults)", "",
                      "| weight decay | validation | test |", "|---|---|---|"]
            val = _runner.group_accuracy(decay_rows, ["weight_decay"], "validation_accuracy")
            test = _runner.group_accuracy(decay_rows, ["weight_decay"], "accuracy")
            for key in sorted(val, key=lambda k: float(k[0])):
                lines.append(f"| {float(key[0]):g} | {_runner.format_mean_std(val[key])} | "
                             f"{_runner.format_mean_std(test[key])} |")
        return "\n".join(lines)

    def plot(self, rows, path, args):
        rows = self._selected(rows, args)
        grid_rows = [r for r in rows if r["sweep"] == "grid"]
        decay_rows = [r for r in rows if r["sweep"] == "weight_decay"]
        fig, axes = new_figure(ncols=3, width=4.6, height=4.2)
        for ax, value, title in ((axes[0], "validation_accuracy", "validation accuracy (%)"),
                                 (axes[1], "accuracy", "test accuracy (%)")):
            s_values, j_values, matrix = _matrix(grid_rows, value)
            if matrix.size:
                image = ax.imshow(100 * matrix, origin="lower", cmap="viridis")
                ax.set_xticks(range(len(j_values)), [f"{v:g}" for v in j_values],
                              rotation=60, fontsize=7)
                ax.set_yticks(range(len(s_values)), [f"{v:g}" for v in s_values], fontsize=7)
                for i in range(matrix.shape[0]):
                    for j in range(matrix.shape[1]):
                        if np.isfinite(matrix[i, j]):
                            ax.text(j, i, f"{100 * matrix[i, j]:.0f}", ha="center",
                                    va="center", fontsize=6, color="white")
                fig.colorbar(image, ax=ax, fraction=0.046)
            ax.set_xlabel("Jacobian weight")
            ax.set_ylabel("sparsity weight")
            ax.set_title(f"JSAE {title}")
        ax = axes[2]
        for value, label in (("validation_accuracy", "validation"), ("accuracy", "test")):
            groups = _runner.group_accuracy(decay_rows, ["weight_decay"], value)
            keys = sorted(groups, key=lambda k: float(k[0]))
            ax.plot([float(k[0]) for k in keys], [100 * groups[k].mean() for k in keys],
                    marker="o", label=label)
        ax.set_xscale("log")
        ax.set_xlabel("weight decay")
        ax.set_ylabel("accuracy (%)")
        ax.set_title("JSAE: weight-decay sweep")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        save_figure(fig, path)


def _matrix(rows, value):
    groups = _runner.group_accuracy(rows, ["sparsity_weight", "jacobian_weight"], value)
    s_values = sorted({float(k[0]) for k in groups})
    j_values = sorted({float(k[1]) for k in groups})
    matrix = np.full((len(s_values), len(j_values)), np.nan)
    for (s, j), values in groups.items():
        matrix[s_values.index(float(s)), j_values.index(float(j))] = values.mean()
    return s_values, j_values, matrix


def _matrix_markdown(rows, value):
    s_values, j_values, matrix = _matrix(rows, value)
    lines = ["| sparsity \\ Jacobian | " + " | ".join(f"{j:g}" for j in j_values) + " |",
             "|" + "---|" * (len(j_values) + 1)]
    for i, s in enumerate(s_values):
        cells = [f"{100 * v:.2f}" if np.isfinite(v) else "" for v in matrix[i]]
        lines.append(f"| {s:g} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _best_cell(rows, value):
    groups = _runner.group_accuracy(rows, ["sparsity_weight", "jacobian_weight"], value)
    tests = _runner.group_accuracy(rows, ["sparsity_weight", "jacobian_weight"], "accuracy")
    key = max(groups, key=lambda k: groups[k].mean())
    return key[0], key[1], groups[key].mean(), tests[key].mean()
