"""Ctrl-C during Trainer.fit: stop after the iteration, keep the best parameters."""

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
from jsae_fast import Trainer
from jsae_fast._checkpoint import load_checkpoint

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
