"""The experiment interface and the steps every experiment shares.

An :class:`Experiment` lists its tasks, runs one task, summarises the raw rows
as markdown and draws its figure.  :func:`run_experiment` does the rest:
resumable execution (see :mod:`._runner`), then the CSV, the PNG and the
markdown summary in the output folder.
"""

import functools
import logging
import time
from pathlib import Path

import numpy as np

from . import _runner
from ._common import AUTOENCODERS, BASELINES

logger = logging.getLogger(__name__)

COLORS = {"AE": "tab:blue", "SAE": "tab:orange", "JSAE": "tab:green",
          "softmax (raw)": "tab:gray", "1-NN": "tab:purple", "RBF SVM": "tab:red"}


class Experiment:
    """Base class; subclasses set the class attributes and override the methods."""

    name = ""
    help = ""
    description = ""
    columns = ()
    default_repeats = 10
    #: Rounds of task generation; a later round may depend on earlier rows.
    n_stages = 1

    def add_arguments(self, parser):
        """Add the experiment's own command-line options."""

    def tasks(self, args, rows):
        """Return the list of task dicts for the parsed arguments and the rows so far."""
        raise NotImplementedError

    def runner(self, args):
        """Return a picklable ``run_one(task, n_threads) -> rows`` for the tasks."""
        raise NotImplementedError

    def summarize(self, rows, args):
        """Return the markdown summary of the raw rows."""
        raise NotImplementedError

    def plot(self, rows, path, args):
        """Draw the figure of the raw rows into ``path``."""
        raise NotImplementedError


def run_experiment(experiment, args):
    """Run the missing tasks of ``experiment``, then write its CSV, figure and summary.

    Returns
    -------
    summary : str
        The markdown summary, also saved as ``<output>/<name>_summary.md``.
    """
    output = Path(args.output if args.output else Path("results") / experiment.name)
    csv_path = output / f"{experiment.name}.csv"
    if args.no_run and not csv_path.is_file():
        raise ValueError(f"--no-run found no results to summarize: {csv_path} does not "
                         f"exist; run the experiment without --no-run first, or pass the "
                         f"--output folder of an earlier run.")
    output.mkdir(parents=True, exist_ok=True)
    args.output = str(output)
    started = time.perf_counter()
    n_run = 0
    for _ in range(0 if args.no_run else experiment.n_stages):
        tasks = experiment.tasks(args, _runner.read_rows(csv_path))
        n_run += _runner.run_tasks(experiment.runner(args), tasks, csv_path,
                                   experiment.columns, jobs=args.jobs,
                                   n_threads=args.n_threads, progress=not args.quiet,
                                   desc=experiment.name)
    elapsed = time.perf_counter() - started
    rows = _runner.read_rows(csv_path)
    compute = sum(_runner.to_float(r.get("task_seconds", "")) for r in
                  {r["task_id"]: r for r in rows}.values())
    summary = experiment.summarize(rows, args)
    summary += (f"\n\nRaw results: `{csv_path.name}` ({len(rows)} rows). This call ran "
                f"{n_run} tasks in {elapsed:.0f} s; the CSV's tasks took {compute:.0f} s "
                f"of wall-clock time in total.\n")
    (output / f"{experiment.name}_summary.md").write_text(summary)
    figure = output / f"{experiment.name}.png"
    experiment.plot(rows, figure, args)
    logger.info("wrote %s, %s and %s", csv_path, figure,
                output / f"{experiment.name}_summary.md")
    return summary


def new_figure(ncols=1, width=6.0, height=4.2):
    """Return a matplotlib figure and axes drawn off-screen (Agg backend)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, ncols, figsize=(width * ncols, height), squeeze=False)
    return fig, axes[0]


def save_figure(fig, path):
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_accuracy_curves(ax, rows, x_column, *, title, xlabel, baselines=True):
    """Plot mean accuracy with a one-std error bar against ``x_column``, per model.

    Baseline rows without an ``x_column`` value are drawn as horizontal lines
    at their mean.
    """
    for model in AUTOENCODERS:
        groups = _runner.group_accuracy([r for r in rows if r["model"] == model], [x_column])
        if not groups:
            continue
        xs = sorted(groups, key=lambda k: float(k[0]))
        stats = [_runner.mean_std(groups[x]) for x in xs]
        ax.errorbar([float(x[0]) for x in xs], [100 * s[0] for s in stats],
                    yerr=[100 * s[1] for s in stats], marker="o", capsize=3,
                    label=model, color=COLORS[model])
    if baselines:
        for model in BASELINES:
            model_rows = [r for r in rows if r["model"] == model]
            if not model_rows:
                continue
            if all(r[x_column] not in ("", "-") for r in model_rows):
                groups = _runner.group_accuracy(model_rows, [x_column])
                xs = sorted(groups, key=lambda k: float(k[0]))
                ax.plot([float(x[0]) for x in xs],
                        [100 * groups[x].mean() for x in xs], linestyle="--",
                        marker=".", color=COLORS[model], label=model)
            else:
                mean = 100 * np.mean([_runner.to_float(r["accuracy"]) for r in model_rows])
                ax.axhline(mean, linestyle="--", color=COLORS[model], label=model)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("test accuracy (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)


def paired_section(rows, pair_by, label=""):
    """Return markdown lines with the JSAE-SAE, SAE-AE and JSAE-AE paired tests."""
    lines = []
    for first, second in (("JSAE", "SAE"), ("SAE", "AE"), ("JSAE", "AE")):
        result = _runner.paired_test(rows, pair_by, first, second)
        lines.append(f"- {label}{_runner.format_paired_test(result)}")
    return "\n".join(lines)


def partial(function, **kwargs):
    """Return a picklable partial of a module-level function."""
    return functools.partial(function, **kwargs)
