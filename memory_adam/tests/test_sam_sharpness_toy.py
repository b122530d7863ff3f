"""SAM wrapper, power-iteration sharpness against eigvalsh, and the 2-D test functions."""

import math

import pytest
import torch
from memory_adam.sharpness import dense_hessian
from memory_adam.toy import FUNCTIONS, OPTIMIZERS, gradient, run_batched, two_basin

from memory_adam import SAM, AdamCM, top_hessian_eigenvalue


def test_sam_step_matches_hand_computation():
    """Quadratic L = 0.5 sum(a_i x_i^2): SAM's gradient is a * (x + rho g / ||g||) with g = a * x."""
    a = torch.tensor([1.0, 4.0], dtype=torch.float64)
    x = torch.tensor([1.0, -0.5], dtype=torch.float64, requires_grad=True)
    x_ref = x.detach().clone().requires_grad_(True)
    rho = 0.1

    def closure():
        loss = 0.5 * (a * x ** 2).sum()
        loss.backward()
        return loss

    opt = SAM(torch.optim.SGD([x], lr=0.1), rho=rho)
    loss = opt.step(closure)
    g = a * x_ref.detach()
    g_sam = a * (x_ref.detach() + rho * g / g.norm())
    assert loss.item() == pytest.approx(0.5 * float((a * x_ref.detach() ** 2).sum()))
    torch.testing.assert_close(x.detach(), x_ref.detach() - 0.1 * g_sam)


def test_sam_with_zero_rho_is_the_base_optimizer():
    torch.manual_seed(0)
    w1 = torch.randn(5, dtype=torch.float64, requires_grad=True)
    w2 = w1.detach().clone().requires_grad_(True)
    data = torch.randn(20, 5, dtype=torch.float64)
    sam = SAM(AdamCM([w1], lr=0.05, impl="fast"), rho=0.0)
    base = AdamCM([w2], lr=0.05, impl="fast")
    for _ in range(10):
        sam.step(lambda: torch.log1p((data @ w1) ** 2).mean().backward())
        base.zero_grad()
        torch.log1p((data @ w2) ** 2).mean().backward()
        base.step()
    torch.testing.assert_close(w1, w2)


def test_power_iteration_on_diagonal_hessian():
    d = torch.tensor([10.0, 1.0, 0.1], dtype=torch.float64)
    x = torch.randn(3, dtype=torch.float64, requires_grad=True)
    eig, _ = top_hessian_eigenvalue(lambda: 0.5 * (d * x ** 2).sum(), [x], iters=100, tol=1e-12)
    assert eig == pytest.approx(10.0, abs=1e-4)


def test_power_iteration_matches_eigvalsh_on_small_mlp():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 12), torch.nn.Tanh(), torch.nn.Linear(12, 12), torch.nn.Tanh(),
                                torch.nn.Linear(12, 3)).double()
    params = list(model.parameters())
    assert 200 <= sum(p.numel() for p in params) <= 300
    x = torch.randn(64, 4, dtype=torch.float64)
    y = torch.randint(0, 3, (64,))

    def loss_fn():
        return torch.nn.functional.cross_entropy(model(x), y)

    eigs = torch.linalg.eigvalsh(dense_hessian(loss_fn, params))
    top = eigs[eigs.abs().argmax()].item()
    eig, iters = top_hessian_eigenvalue(loss_fn, params, iters=2000, tol=1e-10)
    assert eig == pytest.approx(top, rel=1e-4)


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_test_function_minima_and_gradients(name):
    f = FUNCTIONS[name]
    x_star = torch.tensor([f.minimizer], dtype=torch.float64)
    assert f.fn(x_star).item() == pytest.approx(f.minimum, abs=1e-10)
    gen = torch.Generator().manual_seed(0)
    x = (torch.rand(16, 2, generator=gen, dtype=torch.float64) * 2 - 1) * f.box
    g = gradient(f.fn, x)
    h = 1e-6
    for i in range(2):
        e = torch.zeros(2, dtype=torch.float64)
        e[i] = h
        fd = (f.fn(x + e) - f.fn(x - e)) / (2 * h)
        torch.testing.assert_close(g[:, i], fd, rtol=1e-5, atol=1e-5 * fd.abs().max().item())


def test_two_basin_has_a_sharp_and_a_flat_minimum():
    for s in (8.0, 128.0):
        fn = lambda x, s=s: two_basin(x, s)  # noqa: E731
        x = torch.tensor([[-1.0, 0.0], [2.0, 0.0]], dtype=torch.float64)
        g = gradient(fn, x)
        assert g.abs().max() < 0.1  # near-stationary at both centres
        # curvature along x1 at the sharp centre grows with s; the flat one does not
        h = 1e-4
        e = torch.tensor([h, 0.0], dtype=torch.float64)
        curv = (fn(x + e) - 2 * fn(x) + fn(x - e)) / h ** 2
        assert curv[0] == pytest.approx(2 * s, rel=0.05) and curv[1] < 2.5


def test_run_batched_adam_descends_on_every_function():
    for f in FUNCTIONS.values():
        x0 = torch.tensor([[0.3 * f.box, -0.2 * f.box]], dtype=torch.float64)
        path = run_batched(f.fn, x0, "Adam", 0.01, 50)
        assert path.shape == (51, 1, 2)
        assert f.fn(path[-1]).item() < f.fn(path[0]).item()
    with pytest.raises(ValueError, match="optimizer"):
        run_batched(FUNCTIONS["ackley"].fn, x0, "Nesterov", 0.01, 1)
    assert set(OPTIMIZERS) >= {"Adam", "Adam+SAM", "Adam+CG", "Adam+CM"}
    assert math.isfinite(float(path.sum()))
