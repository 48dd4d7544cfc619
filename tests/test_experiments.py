"""Smoke tests of ``jsae-fast experiment ... --quick``: outputs, sanity and resume.

MNIST experiments in quick mode need only the embedded sample; the USPS and
Pen digits ones need the real data folder and skip without it.
"""

import csv
from pathlib import Path

import pytest

from jsae_fast.cli import main
from jsae_fast.experiments import EXPERIMENTS, _runner

AUTOENCODERS = {"AE", "SAE", "JSAE"}
BASELINES = {"softmax (raw)", "1-NN", "RBF SVM"}


def run_quick(name, output, *extra):
    status = main(["experiment", name, "--quick", "--repeats", "1", "--jobs", "1",
                   "--n-threads", "1", "-q", "--output", str(output), *extra])
    assert status == 0
    with (output / f"{name}.csv").open(newline="") as f:
        reader = csv.DictReader(f)
        return reader.fieldnames, list(reader)


def check_outputs(name, output, header, rows):
    assert header == ["task_id", *EXPERIMENTS[name].columns]
    assert (output / f"{name}.png").stat().st_size > 0
    assert (output / f"{name}_summary.md").read_text().startswith("## ")
    for row in rows:
        assert 0.0 <= float(row["accuracy"]) <= 1.0, row


def test_train_size_quick(tmp_path, capsys):
    header, rows = run_quick("train-size", tmp_path)
    check_outputs("train-size", tmp_path, header, rows)
    assert len(rows) == 2 * (len(AUTOENCODERS) + len(BASELINES))
    assert {r["model"] for r in rows} == AUTOENCODERS | BASELINES
    assert {r["n_train"] for r in rows} == {"100", "200"}
    assert (tmp_path / "filters.png").exists()
    assert "JSAE vs SAE" in capsys.readouterr().out

    # A second run finds every task in the CSV and runs none.
    _, again = run_quick("train-size", tmp_path)
    assert again == rows
    assert "This call ran 0 tasks" in (tmp_path / "train-size_summary.md").read_text()


def test_train_size_resumes_partial_csv(tmp_path):
    _, rows = run_quick("train-size", tmp_path, "--no-baselines")
    kept = [r for r in rows if r["model"] != "JSAE"]
    assert len(kept) == 4
    path = tmp_path / "train-size.csv"
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(kept)
    _, resumed = run_quick("train-size", tmp_path, "--no-baselines")
    assert resumed[:len(kept)] == kept
    assert len(resumed) == len(rows)
    assert [r["model"] for r in resumed[len(kept):]] == ["JSAE", "JSAE"]
    assert "This call ran 2 tasks" in (tmp_path / "train-size_summary.md").read_text()


def test_run_tasks_skips_completed(tmp_path):
    calls = []

    def run_one(task, n_threads):
        calls.append(task["k"])
        return [{"k": task["k"], "accuracy": 0.5}]

    path = tmp_path / "raw.csv"
    tasks = [{"k": k} for k in range(3)]
    assert _runner.run_tasks(run_one, tasks[:2], path, ["k", "accuracy"],
                             progress=False) == 2
    assert _runner.run_tasks(run_one, tasks, path, ["k", "accuracy"], progress=False) == 1
    assert calls == [0, 1, 2]
    assert len(_runner.read_rows(path)) == 3


def test_csv_with_other_columns_rejected(tmp_path):
    path = tmp_path / "raw.csv"
    path.write_text("task_id,x\nk=0,1\n")
    with pytest.raises(ValueError, match="columns"):
        _runner.CsvAppender(path, ["y"])


def test_paired_test_reports_direction():
    rows = [{"model": m, "seed": str(s), "accuracy": str(a)}
            for s, (j, p) in enumerate([(0.9, 0.8), (0.85, 0.8), (0.95, 0.9)])
            for m, a in (("JSAE", j), ("SAE", p))]
    result = _runner.paired_test(rows, ["seed"])
    assert result["n_pairs"] == 3
    assert result["wins"] == 3
    assert result["mean_difference"] == pytest.approx(0.0667, abs=1e-3)
    assert 0.0 < result["ttest_p"] < 0.1


def test_iterations_quick(tmp_path):
    header, rows = run_quick("iterations", tmp_path)
    check_outputs("iterations", tmp_path, header, rows)
    fits = [r for r in rows if r["model"] in AUTOENCODERS]
    assert sorted({int(r["iterations"]) for r in fits}) == [5, 10, 15]
    assert len(fits) == 3 * 3
    assert all(int(r["n_iter"]) <= int(r["iterations"]) for r in fits)


def test_penalty_sweep_quick(tmp_path):
    header, rows = run_quick("penalty-sweep", tmp_path)
    check_outputs("penalty-sweep", tmp_path, header, rows)
    assert sum(r["sweep"] == "grid" for r in rows) == 4
    assert sum(r["sweep"] == "weight_decay" for r in rows) == 2
    for row in rows:
        assert 0.0 <= float(row["validation_accuracy"]) <= 1.0


def test_penalty_sweep_summary_ignores_other_max_iter(tmp_path):
    header, rows = run_quick("penalty-sweep", tmp_path)
    summary = (tmp_path / "penalty-sweep_summary.md").read_text().split("Raw results")[0]
    # A row of another iteration count in the same cell, with impossible scores.
    other = dict(rows[0], task_id=rows[0]["task_id"] + "-other", max_iter="999",
                 validation_accuracy="0.0", accuracy="0.0")
    with (tmp_path / "penalty-sweep.csv").open("a", newline="") as f:
        csv.DictWriter(f, fieldnames=header).writerow(other)
    assert main(["experiment", "penalty-sweep", "--quick", "--no-run", "-q", "--output",
                 str(tmp_path)]) == 0
    after = (tmp_path / "penalty-sweep_summary.md").read_text().split("Raw results")[0]
    assert after == summary


def test_usps_quick(tmp_path, data_home, monkeypatch):
    monkeypatch.setenv("JSAE_FAST_DATA", str(data_home))
    header, rows = run_quick("usps", tmp_path)
    check_outputs("usps", tmp_path, header, rows)
    assert len(rows) == 3 * 3 + len(BASELINES)


def test_pendigits_quick(tmp_path, data_home):
    header, rows = run_quick("pendigits", tmp_path, "--data-home", str(data_home))
    check_outputs("pendigits", tmp_path, header, rows)
    assert {r["split"] for r in rows} == {"random", "official"}
    assert len(rows) == 2 * (3 * 3 + len(BASELINES))


def test_tune_quick_two_stages(tmp_path, data_home):
    _, rows = run_quick("tune", tmp_path, "--dataset", "pendigits", "--data-home",
                        str(data_home))
    stages = [r["stage"] for r in rows]
    assert stages.count("sae") == 4
    assert stages.count("jsae") == 2
    assert all(float(r["jacobian_weight"]) == 0.0 for r in rows if r["stage"] == "sae")
    assert "Best JSAE" in (tmp_path / "tune_summary.md").read_text()
    for row in rows:
        assert 0.0 <= float(row["validation_accuracy"]) <= 1.0


def test_beyond_quick_selects_then_tests(tmp_path, data_home):
    _, rows = run_quick("beyond", tmp_path, "--dataset", "pendigits", "--splits", "official",
                        "--data-home", str(data_home))
    select = [r for r in rows if r["stage"] == "select"]
    tested = [r for r in rows if r["stage"] == "test"]
    assert len(select) == 3
    assert len(tested) == 1
    best = max(select, key=lambda r: float(r["validation_accuracy"]))
    assert tested[0]["config"] == best["config"]
    assert 0.0 <= float(tested[0]["accuracy"]) <= 1.0


def test_quick_runs_two_repeats_unless_told(tmp_path):
    status = main(["experiment", "iterations", "--quick", "--jobs", "1", "--n-threads", "1",
                   "-q", "--output", str(tmp_path)])
    assert status == 0
    with (tmp_path / "iterations.csv").open(newline="") as f:
        repeats = {row["repeat"] for row in csv.DictReader(f)}
    assert repeats == {"0", "1"}


def test_beyond_candidates_build_their_augmentation():
    from jsae_fast.augment import ImageShifts, PointDistortions
    from jsae_fast.experiments.beyond import CONFIGS, make_classifier

    ensemble = make_classifier(CONFIGS["pendigits"]["5x128-64/ft+distort"], 3, 1, "numpy")
    augments = [net.augment for _, net in ensemble.estimators]
    assert all(isinstance(a, PointDistortions) for a in augments)
    assert [a.random_state for a in augments] == [3, 4, 5, 6, 7]
    assert [net.random_state for _, net in ensemble.estimators] == [3, 4, 5, 6, 7]
    single = make_classifier(CONFIGS["mnist"]["196/ft+shifts"], 0, 1, "numpy")
    assert isinstance(single.augment, ImageShifts) and single.augment.image_shape == (28, 28)
    assert make_classifier(CONFIGS["pendigits"]["128-64/ft"], 0, 1, "numpy").augment is None


def test_beyond_also_tests_named_candidates(tmp_path, data_home):
    # Repeating the option adds to the list.
    out, rows = run_quick("beyond", tmp_path, "--dataset", "pendigits", "--splits", "official",
                          "--data-home", str(data_home), "--also-test", "8/ft",
                          "--also-test", "2x8/ft")
    select = [r for r in rows if r["stage"] == "select"]
    best = max(select, key=lambda r: float(r["validation_accuracy"]))["config"]
    tested = sorted(r["config"] for r in rows if r["stage"] == "test")
    assert tested == sorted({best, "8/ft", "2x8/ft"})
    summary = (tmp_path / "beyond_summary.md").read_text()
    assert f"| {best} (chosen) |" in summary
    assert summary.count("(chosen) |") == 1


def test_beyond_rejects_unknown_also_test_names(tmp_path, data_home, capsys):
    status = main(["experiment", "beyond", "--quick", "--jobs", "1", "--n-threads", "1", "-q",
                   "--repeats", "1", "--dataset", "pendigits", "--splits", "official",
                   "--data-home", str(data_home), "--output", str(tmp_path),
                   "--also-test", "9/ft"])
    assert status != 0
    assert "--also-test names unknown candidates ['9/ft']" in capsys.readouterr().err


def test_no_run_without_results_fails_clearly(tmp_path, capsys):
    folder = tmp_path / "never-run"
    status = main(["experiment", "iterations", "--no-run", "-q", "--output", str(folder)])
    assert status == 2
    assert "--no-run found no results to summarize" in capsys.readouterr().err
    assert not folder.exists()


def test_experiment_help_shows_plain_names(capsys):
    with pytest.raises(SystemExit):
        main(["experiment", "beyond", "--help"])
    out = capsys.readouterr().out
    assert "jsae_fast.augment.ImageShifts" in out
    assert ":class:" not in out
