"""Resumable, parallel execution of an experiment's tasks, and its summary.

An experiment is a list of independent tasks (usually one autoencoder fit).
Each task is a dict of parameters; its ``task_id`` is built from all of them,
the repeat's seed included.  Every row a task returns carries that id, and the
rows are appended to the raw CSV as soon as the task ends.  A rerun reads the
CSV, skips the tasks whose id is already present and runs the rest, so an
interrupted run loses at most the tasks in flight.
"""

import csv
import logging
import os
import time
from pathlib import Path

import numpy as np
from scipy import stats

logger = logging.getLogger(__name__)


def task_id(task):
    """Return the stable identifier of a task: its sorted ``key=value`` pairs."""
    return "|".join(f"{key}={task[key]}" for key in sorted(task))


def read_rows(path):
    """Return the rows of a results CSV as a list of dicts (empty if it is absent)."""
    path = Path(path)
    if not path.exists():
        return []
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def completed_task_ids(path):
    """Return the set of task ids that have rows in the CSV at ``path``."""
    return {row["task_id"] for row in read_rows(path)}


class CsvAppender:
    """Append result rows to a CSV, writing the header only to a new file.

    Parameters
    ----------
    path : path-like
        The CSV file.
    columns : sequence of str
        Column names; rows may not contain other keys.  ``task_id`` is put
        first and ``task_seconds`` (set by :func:`run_tasks`) is added last
        when missing.
    """

    def __init__(self, path, columns):
        self.path = Path(path)
        self.columns = ["task_id"] + [c for c in columns if c != "task_id"]
        if "task_seconds" not in self.columns:
            self.columns.append("task_seconds")
        if self.path.exists() and self.path.stat().st_size > 0:
            with self.path.open(newline="") as f:
                header = next(csv.reader(f), [])
            if header != self.columns:
                raise ValueError(
                    f"{self.path} has columns {header}, expected {self.columns}; "
                    f"move the file away or choose another --output folder.")

    def append(self, rows):
        new = not self.path.exists() or self.path.stat().st_size == 0
        with self.path.open("a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=self.columns, extrasaction="raise")
            if new:
                writer.writeheader()
            for row in rows:
                writer.writerow(row)


def threads_per_job(jobs, n_threads=None):
    """Return the kernel threads of each parallel job: the usable cores split evenly."""
    if n_threads is not None:
        return max(1, int(n_threads))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, (cores or 1) // max(1, jobs))


def run_tasks(run_one, tasks, csv_path, columns, *, jobs=1, n_threads=None,
              progress=True, desc="tasks"):
    """Run the tasks not yet in ``csv_path``, appending their rows as they finish.

    Parameters
    ----------
    run_one : callable
        Module-level function ``run_one(task, n_threads) -> list of dict``; it
        must be picklable when ``jobs > 1``.
    tasks : list of dict
        Task parameters.  Ids must be unique.
    csv_path : path-like
        Raw results CSV, created or extended.
    columns : sequence of str
        CSV columns (``task_id`` is added first).
    jobs : int, default=1
        Tasks run at once, each in its own process when greater than 1.
    n_threads : int or None, default=None
        Kernel threads per task; None splits the usable cores over ``jobs``.
    progress : bool, default=True
        Show a tqdm progress bar.
    desc : str
        Label of the progress bar.

    Returns
    -------
    n_run : int
        Tasks run by this call (the others were already in the CSV).
    """
    ids = [task_id(t) for t in tasks]
    if len(set(ids)) != len(ids):
        raise ValueError("run_tasks: two tasks have the same parameters.")
    done = completed_task_ids(csv_path)
    pending = [(i, t) for i, t in zip(ids, tasks) if i not in done]
    logger.info("%s: %d tasks, %d already in %s, %d to run", desc, len(tasks),
                len(tasks) - len(pending), csv_path, len(pending))
    if not pending:
        return 0
    writer = CsvAppender(csv_path, columns)
    threads = threads_per_job(jobs, n_threads)

    from tqdm.auto import tqdm

    bar = tqdm(total=len(tasks), initial=len(tasks) - len(pending), desc=desc,
               unit="task", disable=not progress)
    try:
        if jobs <= 1:
            results = (_run_with_id(run_one, i, t, threads) for i, t in pending)
        else:
            from joblib import Parallel, delayed

            parallel = Parallel(n_jobs=jobs, return_as="generator_unordered")
            results = parallel(delayed(_run_with_id)(run_one, i, t, threads)
                               for i, t in pending)
        for rows in results:
            writer.append(rows)
            bar.update(1)
    finally:
        bar.close()
    return len(pending)


def _run_with_id(run_one, identifier, task, n_threads):
    from threadpoolctl import threadpool_limits

    started = time.perf_counter()
    # SciPy's L-BFGS and the softmax classifier call BLAS outside the kernels'
    # own thread limit. Without this limit, a small fit on the shared 2-core
    # machine ran about 10 times slower, because idle BLAS threads spin.
    with threadpool_limits(limits=n_threads):
        rows = run_one(task, n_threads)
    elapsed = time.perf_counter() - started
    for row in rows:
        row["task_id"] = identifier
        row.setdefault("task_seconds", round(elapsed, 2))
    return rows


# --------------------------------------------------------------------------
# Summaries
# --------------------------------------------------------------------------


def to_float(value):
    """Convert a CSV cell to float; empty cells become NaN."""
    return float(value) if value not in ("", None) else float("nan")


def group_accuracy(rows, by, value="accuracy"):
    """Return ``{key tuple: array of values}`` of ``value`` grouped by the ``by`` columns."""
    groups = {}
    for row in rows:
        key = tuple(row[c] for c in by)
        groups.setdefault(key, []).append(to_float(row[value]))
    return {k: np.asarray(v) for k, v in groups.items()}


def mean_std(values):
    """Return ``(mean, sample std, n)``; the std is 0 for a single value."""
    values = np.asarray(values, dtype=float)
    std = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    return float(values.mean()), std, len(values)


def format_mean_std(values, percent=True):
    mean, std, n = mean_std(values)
    scale = 100.0 if percent else 1.0
    return f"{scale * mean:.2f} ± {scale * std:.2f} (n={n})"


def sort_key(value):
    """Sort numeric strings numerically and other strings after them."""
    try:
        return (0, float(value), "")
    except ValueError:
        return (1, 0.0, value)


def pivot_markdown(rows, row_column, model_order, value="accuracy", extra_by=()):
    """Return a markdown table: one line per ``row_column`` value, one column per model.

    Cells are ``mean ± std (n)`` of ``value`` in percent over the repeats.
    """
    by = list(extra_by) + [row_column, "model"]
    groups = group_accuracy(rows, by, value)
    models = [m for m in model_order if any(k[-1] == m for k in groups)]
    prefixes = sorted({k[:-1] for k in groups},
                      key=lambda k: tuple(sort_key(v) for v in k))
    header = [*extra_by, row_column, *models]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for prefix in prefixes:
        cells = [format_mean_std(groups[prefix + (m,)]) if prefix + (m,) in groups else ""
                 for m in models]
        lines.append("| " + " | ".join(list(prefix) + cells) + " |")
    return "\n".join(lines)


def paired_test(rows, pair_by, first="JSAE", second="SAE", value="accuracy"):
    """Compare two models on the same splits with a paired t-test and a Wilcoxon test.

    Rows are paired when all ``pair_by`` columns (for example the repeat seed
    and the training-set size) are equal.

    Returns
    -------
    result : dict
        ``n_pairs``, ``mean_difference`` (first minus second), ``wins``,
        ``losses``, ``ttest_p`` and ``wilcoxon_p`` (NaN when the test cannot
        run, for example with fewer than two pairs or all differences zero).
    """
    values = {}
    for row in rows:
        if row["model"] in (first, second):
            key = tuple(row[c] for c in pair_by)
            values.setdefault(key, {})[row["model"]] = to_float(row[value])
    pairs = [(v[first], v[second]) for v in values.values() if first in v and second in v]
    result = {"first": first, "second": second, "n_pairs": len(pairs),
              "mean_difference": float("nan"), "wins": 0, "losses": 0,
              "ttest_p": float("nan"), "wilcoxon_p": float("nan")}
    if not pairs:
        return result
    a, b = np.asarray(pairs).T
    diff = a - b
    result.update(mean_difference=float(diff.mean()), wins=int((diff > 0).sum()),
                  losses=int((diff < 0).sum()))
    if len(pairs) >= 2 and np.any(diff != 0):
        result["ttest_p"] = float(stats.ttest_rel(a, b).pvalue)
        result["wilcoxon_p"] = float(stats.wilcoxon(a, b).pvalue)
    return result


def format_paired_test(result):
    """Return a one-paragraph plain-language statement of a paired test."""
    first, second = result["first"], result["second"]
    if result["n_pairs"] == 0:
        return f"No paired {first}/{second} results yet."
    verdict = ("better" if result["mean_difference"] > 0 else
               "worse" if result["mean_difference"] < 0 else "equal")
    significant = result["ttest_p"] < 0.05 if np.isfinite(result["ttest_p"]) else False
    return (f"{first} vs {second} on the same splits: {result['n_pairs']} pairs, "
            f"mean difference {100 * result['mean_difference']:+.2f} points "
            f"({first} {verdict}; {first} higher in {result['wins']}, lower in "
            f"{result['losses']}); paired t-test p = {result['ttest_p']:.3g}, "
            f"Wilcoxon signed-rank p = {result['wilcoxon_p']:.3g}. "
            + ("The difference is significant at the 5% level."
               if significant else "The difference is not significant at the 5% level."))
