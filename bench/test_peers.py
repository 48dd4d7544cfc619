"""The same cost and gradient as a user would write it in PyTorch and in NumPy.

PyTorch is optional: its benchmarks skip when it is not installed.  The
PyTorch version uses autograd on the analytic Jacobian norm
``sum_ij (H_ij (1 - H_ij))^2 ||W_j||^2``, and ``torch.set_num_threads`` is set
to the thread count of the other implementations.  ``numpy`` is
``backend="numpy"``, the plain full-batch NumPy implementation.
"""

import numpy as np
import pytest
from conftest import AVAILABLE, DTYPES, PENALTIES, FiveProducts, make_problem, settle

import jsae_fast

SHAPES = [(2000, 784, 196), (7291, 256, 100), (10000, 784, 196), (60000, 784, 196)]
THREADS = 2


def _shape_id(shape):
    return "m{}-n{}-s{}".format(*shape)


def torch_loss_and_grad(torch, X, W, b, V, c, *, sparsity_target, weight_decay,
                        sparsity_weight, jacobian_weight):
    """Cost and gradient by PyTorch autograd, written as a user would."""
    W = W.detach().requires_grad_(True)
    b = b.detach().requires_grad_(True)
    V = V.detach().requires_grad_(True)
    c = c.detach().requires_grad_(True)
    m = X.shape[0]
    p = sparsity_target
    H = torch.sigmoid(X @ W.T + b)
    Z = torch.sigmoid(H @ V.T + c)
    reconstruction = ((Z - X) ** 2).sum() / (2 * m)
    decay = weight_decay / 2 * ((W ** 2).sum() + (V ** 2).sum())
    rho = H.mean(dim=0).clamp(1e-8, 1 - 1e-8)
    kl = (p * torch.log(p / rho) + (1 - p) * torch.log((1 - p) / (1 - rho))).sum()
    contraction = ((H * (1 - H)) ** 2 @ (W ** 2).sum(dim=1)).sum() / (2 * m)
    loss = reconstruction + decay + sparsity_weight * kl + jacobian_weight * contraction
    loss.backward()
    return loss.item(), (W.grad, b.grad, V.grad, c.grad)


@pytest.mark.parametrize("impl", ["gemm", "torch"] + AVAILABLE)
@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("shape", SHAPES, ids=_shape_id)
def test_peers(benchmark, blas_threads, shape, dtype, impl):
    X, p = make_problem(*shape, DTYPES[dtype])
    benchmark.group = f"peers {_shape_id(shape)} {dtype} threads={THREADS}"
    benchmark.extra_info.update(m=shape[0], n=shape[1], s=shape[2], dtype=dtype,
                                impl=impl, threads=THREADS)
    # More rounds at the small shapes, whose calls last only tens of milliseconds.
    if shape[0] <= 2000:
        rounds = 40
    elif shape[0] <= 10000:
        rounds = 8
    else:
        rounds = 3
    expected, _ = jsae_fast.loss_and_grad(X, **p, **PENALTIES, backend="numpy",
                                          n_threads=THREADS)
    rel = 1e-4 if dtype == "float32" else 1e-9
    if impl == "gemm":
        blas_threads(THREADS)
        products = FiveProducts(X, p["W"], p["V"])
        settle()
        benchmark.pedantic(products, rounds=rounds, warmup_rounds=2)
        return
    if impl == "torch":
        torch = pytest.importorskip("torch")
        torch.set_num_threads(THREADS)
        tensors = {k: torch.from_numpy(v) for k, v in p.items()}
        Xt = torch.from_numpy(X)

        def run_torch():
            return torch_loss_and_grad(torch, Xt, **tensors, **PENALTIES)

        settle()
        loss, _ = benchmark.pedantic(run_torch, rounds=rounds, warmup_rounds=2)
        # PyTorch sums the float32 loss in float32, so it agrees less closely.
        assert loss == pytest.approx(expected, rel=max(rel, 1e-3))
        return

    def run():
        return jsae_fast.loss_and_grad(X, **p, **PENALTIES, backend=impl, n_threads=THREADS)

    settle()
    loss, _ = benchmark.pedantic(run, rounds=rounds, warmup_rounds=2)
    assert loss == pytest.approx(expected, rel=rel)
