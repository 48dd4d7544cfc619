"""Turn a pytest-benchmark JSON file into the tables and plot of docs/BENCHMARKS.md.

Usage: ``python bench/report.py RESULTS.json [MORE.json ...] [--plot FILE.png]``.
Prints Markdown to standard output.  Every ratio is formed from medians of the
same run.
"""

import argparse
import json
from collections import defaultdict

import numpy as np


def _load(paths):
    rows = []
    for index, path in enumerate(paths):
        with open(path) as fh:
            data = json.load(fh)
        for row in _rows(data):
            row["source"] = index
            rows.append(row)
    return data, rows


def _rows(data):
    rows = []
    for bench in data["benchmarks"]:
        info = dict(bench.get("extra_info", {}))
        info["group"] = bench["group"]
        info["median"] = bench["stats"]["median"]
        info["name"] = bench["name"]
        rows.append(info)
    return rows


def _ms(seconds):
    return f"{1e3 * seconds:.1f}"


def _by_group(rows, prefix):
    groups = defaultdict(dict)
    for row in rows:
        if row["group"].startswith(prefix):
            groups[row["group"]][row["impl"]] = row
    return groups


def roofline_table(rows):
    lines = ["| shape (m, n, s) | dtype | threads | implementation | median (ms) | "
             "/ bare products |", "| --- | --- | --- | --- | --- | --- |"]
    for group, impls in sorted(_by_group(rows, "roofline").items()):
        gemm = impls.get("gemm")
        for impl, row in sorted(impls.items(), key=lambda kv: kv[1]["median"]):
            ratio = f"{row['median'] / gemm['median']:.2f}" if gemm else ""
            lines.append(f"| ({row['m']}, {row['n']}, {row['s']}) | {row['dtype']} | "
                         f"{row['threads']} | {impl} | {_ms(row['median'])} | {ratio} |")
    return "\n".join(lines)


def thread_speedup_table(rows):
    per = defaultdict(dict)
    for row in rows:
        if row["group"].startswith("roofline") and row["impl"] != "gemm" and row["m"] == 10000:
            per[(row["impl"], row["dtype"])][row["threads"]] = row["median"]
    lines = ["| implementation | dtype | 1 thread (ms) | 2 threads (ms) | speed-up |",
             "| --- | --- | --- | --- | --- |"]
    for (impl, dtype), times in sorted(per.items()):
        if 1 in times and 2 in times:
            lines.append(f"| {impl} | {dtype} | {_ms(times[1])} | {_ms(times[2])} | "
                         f"{times[1] / times[2]:.2f} |")
    return "\n".join(lines)


def peers_table(rows):
    groups = _by_group(rows, "peers")
    impls = sorted({impl for g in groups.values() for impl in g})
    header = "| shape (m, n, s) | dtype | " + " | ".join(f"{i} (ms)" for i in impls)
    header += " | torch / fastest backend |"
    lines = [header, "|" + " --- |" * (len(impls) + 3)]
    for group, found in sorted(groups.items()):
        any_row = next(iter(found.values()))
        cells = [_ms(found[i]["median"]) if i in found else "" for i in impls]
        backends = [found[i]["median"] for i in found if i not in ("gemm", "torch")]
        ratio = (f"{found['torch']['median'] / min(backends):.2f}"
                 if "torch" in found and backends else "")
        lines.append(f"| ({any_row['m']}, {any_row['n']}, {any_row['s']}) | "
                     f"{any_row['dtype']} | " + " | ".join(cells) + f" | {ratio} |")
    return "\n".join(lines)


def scaling_fits(rows):
    series = defaultdict(list)
    for row in rows:
        if row["group"].startswith("scaling"):
            key = (row["axis"], row["dtype"], row["impl"], row["threads"])
            series[key].append((row[row["axis"]], row["median"], row["source"]))
    fits = {}
    for key, points in series.items():
        # A series measured again in a later file replaces the earlier one.
        latest = max(source for _, _, source in points)
        points = sorted((size, time) for size, time, source in points if source == latest)
        sizes, times = np.array(points).T
        if len(sizes) >= 2:
            slope = np.polyfit(np.log(sizes), np.log(times), 1)[0]
            # The O(m n) and O(m s) elementwise terms weigh most at the
            # smallest size; the fit without it shows the O(m n s) growth.
            upper = (np.polyfit(np.log(sizes[1:]), np.log(times[1:]), 1)[0]
                     if len(sizes) >= 4 else slope)
            fits[key] = (slope, sizes, times, upper)
    return fits


def scaling_table(fits):
    lines = ["| implementation | dtype | threads | exponent in m | exponent in n | "
             "exponent in s |", "| --- | --- | --- | --- | --- | --- |"]
    combos = sorted({key[1:] for key in fits})
    for dtype, impl, threads in combos:
        cells = []
        for axis in ("m", "n", "s"):
            fit = fits.get((axis, dtype, impl, threads))
            cells.append(f"{fit[3]:.2f} ({fit[0]:.2f})" if fit else "")
        lines.append(f"| {impl} | {dtype} | {threads} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def scaling_plot(fits, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    for ax, axis in zip(axes, ("m", "n", "s")):
        for (a, dtype, impl, threads), (slope, sizes, times, _) in sorted(fits.items()):
            if a != axis or (impl != "reference" and (threads != 2 or dtype != "float32")):
                continue
            ax.loglog(sizes, times * 1e3, marker="o",
                      label=f"{impl} ({dtype}, {threads} thr): slope {slope:.2f}")
        ax.set_xlabel(axis)
        ax.set_ylabel("median time per evaluation (ms)")
        ax.set_title(f"growth in {axis}")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def memory_table(rows):
    lines = ["| backend | dtype | size of X (MB) | extra peak (MB) | extra / X |",
             "| --- | --- | --- | --- | --- |"]
    for row in sorted(rows, key=lambda r: (r["group"], r["impl"])):
        if row["group"].startswith("memory"):
            lines.append(f"| {row['impl']} | {row['dtype']} | {row['x_bytes'] / 1e6:.0f} | "
                         f"{row['extra_bytes'] / 1e6:.1f} | {row['extra_fraction_of_x']:.3f} |")
    return "\n".join(lines)


def trainer_table(rows):
    found = {r["impl"]: r for r in rows if r["group"].startswith("trainer fit")}
    gemm = found.get("gemm")
    lines = ["| backend | fit (s) | iterations | evaluations | evaluations x bare products (s) "
             "| ratio |", "| --- | --- | --- | --- | --- | --- |"]
    for impl, row in sorted(found.items()):
        if impl == "gemm" or gemm is None:
            continue
        floor = row["n_evaluations"] * gemm["median"]
        lines.append(f"| {impl} | {row['median']:.2f} | {row['n_iter']} | "
                     f"{row['n_evaluations']} | {floor:.2f} | {row['median'] / floor:.2f} |")
    return "\n".join(lines)


def optimizer_table(rows):
    """Median time of each optimizer vector pass, and its ratio to NumPy's."""
    passes = {}
    for row in rows:
        if row["group"].startswith("lbfgs "):
            operation = row["group"].split()[1]
            passes.setdefault(operation, {})[(row["impl"], row["threads"])] = row["median"]
    lines = ["| pass | numpy, 1 thread (ms) | compiled, 1 thread (ms) | compiled, 2 threads "
             "(ms) | numpy / compiled 2 threads |", "| --- | --- | --- | --- | --- |"]
    for operation, times in sorted(passes.items()):
        numpy_time = times.get(("numpy", 1))
        cells = [times.get(key) for key in (("numpy", 1), ("compiled", 1), ("compiled", 2))]
        ratio = (f"{numpy_time / cells[2]:.1f}" if numpy_time and cells[2] else "")
        lines.append(f"| {operation} | " + " | ".join(
            "" if t is None else f"{t * 1e3:.3f}" for t in cells) + f" | {ratio} |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="+",
                        help="pytest-benchmark JSON files; the machine line is read "
                             "from the last one")
    parser.add_argument("--plot", help="write the scaling plot to this PNG file")
    args = parser.parse_args()
    data, rows = _load(args.results)
    machine = data.get("machine_info", {})
    print(f"Machine: {machine.get('cpu', {}).get('brand_raw', machine.get('processor'))}, "
          f"{machine.get('cpu_count')} cores; load average at start "
          f"{machine.get('load_average')}; BLAS {machine.get('blas')}")
    sections = [("Roofline", roofline_table), ("Threads", thread_speedup_table),
                ("Peers", peers_table), ("Memory", memory_table),
                ("Trainer", trainer_table), ("Optimizer vector passes", optimizer_table)]
    for title, make in sections:
        table = make(rows)
        if table.count("\n") > 1:
            print(f"\n### {title}\n\n{table}")
    fits = scaling_fits(rows)
    if fits:
        print(f"\n### Scaling exponents\n\n{scaling_table(fits)}")
        if args.plot:
            scaling_plot(fits, args.plot)


if __name__ == "__main__":
    main()
