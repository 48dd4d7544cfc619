"""Ctrl-C during Trainer.fit: stop after the iteration, keep the best parameters."""

import csv
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import ALL_PENALTIES, make_problem

import jsae_fast
from jsae_fast import Trainer, load_model
from jsae_fast._checkpoint import load_checkpoint
from jsae_fast.cli import main
from jsae_fast.trainer import _FitState

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX signals"),
]

RATES = {"adam": 0.01, "gd": 0.5, "lbfgs": None}
# The folder that contains the jsae_fast under test, so that child processes
# import the same copy (the source tree or an installed one).
PACKAGE_PARENT = Path(jsae_fast.__file__).resolve().parents[1]


def _interrupt_at(iteration, times=1):
    def callback(current, loss, params):
        if current == iteration:
            for _ in range(times):
                os.kill(os.getpid(), signal.SIGINT)

    return callback


@pytest.mark.parametrize("solver", ["lbfgs", "gd", "adam"])
def test_sigint_stops_after_current_iteration(solver):
    X, params = make_problem(80, 8, 4)
    handler_before = signal.getsignal(signal.SIGINT)
    trainer = Trainer(solver, max_iter=50, learning_rate=RATES[solver], batch_size=20,
                      random_state=0, callback=_interrupt_at(3))
    with pytest.warns(RuntimeWarning, match="interrupted after 3 iterations"):
        result = trainer.fit(X, params, **ALL_PENALTIES)
    assert result.stop_reason == "interrupted"
    assert not result.converged
    assert result.n_iter == 3
    assert len(result.loss_history) == 3
    assert signal.getsignal(signal.SIGINT) is handler_before


def test_interrupted_fit_returns_best_params():
    """Adam with a large step lets the epoch cost rise; the best epoch's parameters return."""
    X, params = make_problem(80, 8, 4)
    seen = []

    def callback(iteration, loss, current):
        seen.append({k: None if v is None else v.copy() for k, v in current.items()})
        if iteration == 6:
            os.kill(os.getpid(), signal.SIGINT)

    trainer = Trainer("adam", max_iter=50, learning_rate=0.1, batch_size=20,
                      n_iter_no_change=50, random_state=0, callback=callback)
    with pytest.warns(RuntimeWarning, match="interrupted"):
        result = trainer.fit(X, params, **ALL_PENALTIES)
    assert result.stop_reason == "interrupted"
    best = int(np.argmin(result.loss_history))
    assert best < len(result.loss_history) - 1, "test needs a cost that went up"
    for name in "WbVc":
        np.testing.assert_array_equal(result.params[name], seen[best][name])


def test_second_sigint_aborts_at_once():
    X, params = make_problem(40, 6, 3)
    handler_before = signal.getsignal(signal.SIGINT)
    trainer = Trainer("lbfgs", max_iter=50, callback=_interrupt_at(2, times=2))
    with pytest.raises(KeyboardInterrupt):
        trainer.fit(X, params, **ALL_PENALTIES)
    assert signal.getsignal(signal.SIGINT) is handler_before


def test_interrupt_writes_resumable_checkpoint(tmp_path):
    X, _ = make_problem(80, 8, 4)
    path = tmp_path / "ckpt.npz"
    kwargs = dict(max_iter=10, learning_rate=0.01, batch_size=20, random_state=1,
                  n_threads=1)
    with pytest.warns(RuntimeWarning, match="interrupted"):
        Trainer("adam", checkpoint_path=path, callback=_interrupt_at(4), **kwargs).fit(
            X, n_hidden=4, **ALL_PENALTIES)
    assert int(load_checkpoint(path)["n_iter"]) == 4
    resumed = Trainer("adam", **kwargs).fit(X, resume_from=path, **ALL_PENALTIES)
    full = Trainer("adam", **kwargs).fit(X, n_hidden=4, **ALL_PENALTIES)
    assert resumed.loss_history == full.loss_history


def test_fit_outside_main_thread_keeps_default_sigint():
    import threading

    X, params = make_problem(30, 5, 2)
    results = []
    thread = threading.Thread(
        target=lambda: results.append(Trainer(max_iter=3).fit(X, params, **ALL_PENALTIES)))
    handler_before = signal.getsignal(signal.SIGINT)
    thread.start()
    thread.join()
    assert results[0].n_iter == 3
    assert signal.getsignal(signal.SIGINT) is handler_before


# A real Ctrl-C: SIGINT sent by another process to a child running a fit.

_CHILD = textwrap.dedent("""
    import json, logging, sys, time
    import numpy as np
    import jsae_fast

    logging.basicConfig(stream=sys.stdout, level=logging.WARNING,
                        format="LOG %(message)s")
    slow_from = int(sys.argv[1])
    rng = np.random.default_rng(0)
    X = rng.random((300, 20))

    def callback(iteration, loss, params):
        print(f"iteration {iteration}", flush=True)
        time.sleep(0.05 if iteration < slow_from else 5.0)

    result = jsae_fast.Trainer("lbfgs", max_iter=100000, tol=0.0, random_state=0,
                               callback=callback).fit(X, n_hidden=8)
    loss, _ = jsae_fast.loss_and_grad(X, **result.params, sparsity_target=0.1,
                                      weight_decay=3e-3, sparsity_weight=3.0,
                                      jacobian_weight=0.03)
    print("RESULT " + json.dumps({"stop_reason": result.stop_reason,
                                  "n_iter": result.n_iter,
                                  "history": result.loss_history,
                                  "loss": loss}), flush=True)
""")


def _start_child(slow_from):
    env = dict(os.environ, PYTHONPATH=str(PACKAGE_PARENT), OMP_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, "-P", "-c", _CHILD, str(slow_from)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env)


def _wait_for_line(proc, prefix, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if line.startswith(prefix):
            return line
    proc.kill()
    raise AssertionError(f"child never printed {prefix!r}; stderr: {proc.stderr.read()}")


@pytest.mark.slow
def test_sigint_to_subprocess_stops_cleanly():
    proc = _start_child(slow_from=10**9)
    _wait_for_line(proc, "iteration 3")
    proc.send_signal(signal.SIGINT)
    result_line = _wait_for_line(proc, "RESULT ")
    stderr = proc.stderr.read()
    assert proc.wait(timeout=60) == 0, stderr
    result = json.loads(result_line[len("RESULT "):])
    assert result["stop_reason"] == "interrupted"
    assert result["n_iter"] >= 3
    assert result["loss"] == pytest.approx(min(result["history"]), rel=1e-9)
    assert "interrupted after" in stderr
    assert "Traceback" not in stderr


@pytest.mark.slow
def test_second_sigint_to_subprocess_aborts():
    # From iteration 2 on the callback sleeps for 5 s, so both signals arrive
    # while that iteration is still running.
    proc = _start_child(slow_from=2)
    _wait_for_line(proc, "iteration 2")
    proc.send_signal(signal.SIGINT)
    _wait_for_line(proc, "LOG interrupt received")
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    returncode = proc.wait(timeout=60)
    stderr = proc.stderr.read()
    assert time.monotonic() - started < 4.0, "the second Ctrl-C must not wait"
    assert returncode != 0
    assert "KeyboardInterrupt" in stderr


# The command line: a command that Ctrl-C ended early exits with status 130
# (128 + SIGINT), after writing its partial results.

def _sigint_during_fit(monkeypatch, iteration, fit=1):
    """Make the ``fit``-th Trainer fit from now on send SIGINT when ``iteration`` ends."""
    original = _FitState.end_iteration
    states = []

    def end_iteration(state, loss, params):
        if not any(state is seen for seen in states):
            states.append(state)
        if len(states) == fit and state is states[-1] and state.n_iter + 1 == iteration:
            os.kill(os.getpid(), signal.SIGINT)
        return original(state, loss, params)

    monkeypatch.setattr(_FitState, "end_iteration", end_iteration)


CLI_FAST = ["--n-train", "120", "--n-threads", "1", "-q"]


@pytest.mark.parametrize("extra", [[], ["--classifier", "--n-hidden", "4", "3"]],
                         ids=["autoencoder", "classifier"])
def test_cli_train_interrupt_exits_130(tmp_path, capsys, monkeypatch, extra):
    output = tmp_path / "model.npz"
    argv = ["train", "--n-hidden", "4", "--max-iter", "50", "--output", str(output),
            *CLI_FAST, *extra]
    _sigint_during_fit(monkeypatch, iteration=2)
    with pytest.warns(RuntimeWarning, match="interrupted"):
        status = main(argv)
    captured = capsys.readouterr()
    assert status == 130
    assert "training was interrupted" in captured.err
    assert f"saved the partially trained model to {output}" in captured.err
    assert "Trained in" not in captured.out
    model = load_model(output)
    if extra:
        assert [W.shape for W in model.coefs_] == [(4, 784), (3, 4)]
    else:
        assert model.n_iter_ == 2
        assert model.components_.shape == (4, 784)


def test_cli_compare_interrupt_exits_130(capsys, monkeypatch):
    # The second fit is SAE; JSAE is then skipped.
    _sigint_during_fit(monkeypatch, iteration=2, fit=2)
    with pytest.warns(RuntimeWarning, match="interrupted"):
        status = main(["compare", "--n-hidden", "4", "--max-iter", "5", *CLI_FAST])
    captured = capsys.readouterr()
    assert status == 130
    models = [line.split()[0] for line in captured.out.splitlines()[2:-1]]
    assert models[-1] == "SAE"
    assert "SAE (interrupted)" in captured.out
    assert "JSAE" not in models
    assert "jsae-fast: interrupted" in captured.err


@pytest.mark.parametrize("failing_fit, kept", [(1, []), (3, ["raw pixels", "AE"])],
                         ids=["raw-pixels", "second-model"])
def test_compare_softmax_interrupt_keeps_rows(capsys, monkeypatch, failing_fit, kept):
    # Ctrl-C during a softmax fit, which has no interrupt handler of its own.
    calls = []
    original = jsae_fast.SoftmaxClassifier.fit

    def fit(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == failing_fit:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(jsae_fast.SoftmaxClassifier, "fit", fit)
    with pytest.warns(RuntimeWarning, match="compare_models: interrupted during the softmax"):
        status = main(["compare", "--n-hidden", "4", "--max-iter", "5", *CLI_FAST])
    captured = capsys.readouterr()
    assert status == 130
    models = [line.split("  ")[0].strip() for line in captured.out.splitlines()[2:-1]]
    assert models == kept
    assert "jsae-fast: interrupted" in captured.err


def test_compare_table_fits_long_model_names():
    from jsae_fast.compare import ComparisonRow, format_table

    rows = [ComparisonRow("raw pixels", 0.5, 1.0, 0, float("nan")),
            ComparisonRow("JSAE (interrupted)", 0.75, 2.0, 3, 1.5)]
    lines = format_table(rows).splitlines()
    # Every column starts at the same offset in every line.
    offsets = {line.index("%") for line in lines[1:]}
    assert len(offsets) == 1
    assert lines[2].startswith("JSAE (interrupted) ")


def test_cli_experiment_interrupt_skips_partial_task(tmp_path, capsys, monkeypatch):
    argv = ["experiment", "train-size", "--quick", "--repeats", "1", "--jobs", "1",
            "--no-baselines", "--n-threads", "1", "-q", "--output", str(tmp_path)]
    csv_path = tmp_path / "train-size.csv"
    _sigint_during_fit(monkeypatch, iteration=2, fit=2)
    status = main(argv)
    assert status == 130
    assert "jsae-fast: interrupted" in capsys.readouterr().err
    # The first task finished. The second stopped after 2 of its iterations and
    # must not be recorded as done, so a rerun runs it and the other four.
    with csv_path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 1

    monkeypatch.undo()
    assert main(argv) == 0
    with csv_path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 6


@pytest.mark.slow
def test_sigint_to_cli_train_exits_130(tmp_path):
    output = tmp_path / "model.npz"
    env = dict(os.environ, PYTHONPATH=str(PACKAGE_PARENT), OMP_NUM_THREADS="1")
    # -vv logs every iteration on stderr, which shows when the fit is running.
    proc = subprocess.Popen(
        [sys.executable, "-P", "-m", "jsae_fast", "train", "--n-hidden", "16",
         "--max-iter", "100000", "--n-threads", "1", "-vv", "--output", str(output)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines = []
    for line in proc.stderr:
        lines.append(line)
        if "jsae_fast.trainer: iteration 3:" in line:
            break
    else:
        proc.kill()
        raise AssertionError(f"the fit never logged iteration 3; stderr: {''.join(lines)}")
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130, stderr
    assert f"saved the partially trained model to {output}" in stderr
    assert "Traceback" not in stderr
    assert "Trained in" not in stdout
    assert load_model(output).stop_reason_ == "interrupted"
