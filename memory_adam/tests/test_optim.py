"""AdamCM / AdamCG: hand-computed cases, invariances, buffer rules, fast path == faithful path, state round trips."""

import copy

import pytest
import torch

from memory_adam import AdamCG, AdamCM, BatchedOptimizer

# constant gradient 1, lr 0.1, default betas (issue 3 / notes Sec. 7): parameter after each call
HAND = [0.0, -0.744136814002389, -1.1008304732764844, -1.372651, -1.612718]


def _scalar_run(impl, grads, **kwargs):
    p = torch.zeros(1, dtype=torch.float64)
    opt = AdamCM([p], impl=impl, **kwargs)
    out = []
    for g in grads:
        p.grad = torch.full((1,), float(g), dtype=torch.float64)
        opt.step()
        out.append(p.item())
    return out, opt, p


@pytest.mark.parametrize("impl", ["faithful", "fast"])
def test_constant_gradient_hand_values(impl):
    traj, _, _ = _scalar_run(impl, [1.0] * 5, lr=0.1)
    assert traj[0] == 0.0  # the first call does not move the parameter
    assert traj == pytest.approx(HAND, abs=1e-6)
    # theta_2 = -(0.1 / 0.19) * 1.1 / (sqrt(1.21e-3 / 1.999e-3) + eps): m_2 = 0.1, a_2 = m_2 + g_1, v_2 = 1e-3 a_2^2
    assert traj[1] == pytest.approx(-(0.1 / 0.19) * 1.1 / ((1.21e-3 / 1.999e-3) ** 0.5 + 1e-8), rel=1e-12)


@pytest.mark.parametrize("impl", ["faithful", "fast"])
def test_zero_decay_overwrites_slot_zero(impl):
    """lambda = 0, C = 3, g_t = t: priorities all become 0, ties go to index 0, slots 1 and 2 freeze."""
    p = torch.zeros(1, dtype=torch.float64)
    opt = AdamCM([p], lr=0.01, buffer_size=3, decay=0.0, impl=impl)
    firsts = []
    for t in range(1, 7):
        p.grad = torch.full((1,), float(t), dtype=torch.float64)
        opt.step()
        state = opt.state[p]
        firsts.append(state["buffer"][: state["fill"], 0].tolist())
    assert firsts[0] == pytest.approx([1.0])
    assert firsts[1] == pytest.approx([1.0, 0.2])
    assert firsts[2] == pytest.approx([1.0, 0.2, 0.48])
    assert [f[0] for f in firsts[3:]] == pytest.approx([0.832, 1.2488, 1.72392])
    assert all(f[1:] == pytest.approx([0.2, 0.48]) for f in firsts[3:])


@pytest.mark.parametrize("impl", ["faithful", "fast"])
def test_equal_priority_is_not_replaced(impl):
    """decay = 1 and constant gradients: a full buffer sees only ties, so it keeps the first C entries."""
    p = torch.zeros(2, dtype=torch.float64)
    opt = AdamCM([p], lr=0.01, buffer_size=3, decay=1.0, impl=impl)
    for _ in range(8):
        p.grad = torch.tensor([3.0, 4.0], dtype=torch.float64)
        opt.step()
    state = opt.state[p]
    assert state["fill"] == 3
    expected = torch.tensor([[3.0, 4.0], [0.3, 0.4], [0.57, 0.76]], dtype=torch.float64)  # g_1, m_2, m_3
    torch.testing.assert_close(state["buffer"], expected)
    torch.testing.assert_close(state["priorities"], torch.full((3,), 5.0, dtype=torch.float64))


def _fixed_grads(steps, shapes, seed=0, scale=1.0):
    gen = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(steps):
        s = float(torch.exp(torch.empty(()).uniform_(-1.5, 1.5, generator=gen)))
        out.append([scale * s * torch.randn(sh, generator=gen, dtype=torch.float64) for sh in shapes])
    return out


def _trajectory(cls, grads, init, **kwargs):
    params = [x.clone() for x in init]
    opt = cls(params, **kwargs)
    traj = []
    for gs in grads:
        for p, g in zip(params, gs):
            p.grad = g.clone()
        opt.step()
        traj.append(torch.cat([p.reshape(-1) for p in params]).clone())
    return torch.stack(traj)


SHAPES = [(3, 4), (5,)]
INIT = [torch.randn(s, generator=torch.Generator().manual_seed(1), dtype=torch.float64) for s in SHAPES]


@pytest.mark.parametrize("cls", [AdamCM, AdamCG])
@pytest.mark.parametrize("scale", [1e3, 1e-3])
def test_gradient_scale_invariance(cls, scale):
    grads = _fixed_grads(60, SHAPES)
    scaled = [[g * scale for g in gs] for gs in grads]
    base = _trajectory(cls, grads, INIT, lr=0.01, eps=1e-30, impl="faithful")
    other = _trajectory(cls, scaled, INIT, lr=0.01, eps=1e-30, impl="faithful")
    assert (base - other).abs().max() < 1e-11


@pytest.mark.parametrize("cls", [AdamCM, AdamCG])
def test_sign_flip_antisymmetry(cls):
    grads = _fixed_grads(60, SHAPES)
    flipped = [[-g for g in gs] for gs in grads]
    zero = [torch.zeros_like(x) for x in INIT]
    a = _trajectory(cls, grads, zero, lr=0.01, impl="faithful")
    b = _trajectory(cls, flipped, zero, lr=0.01, impl="faithful")
    assert torch.equal(a, -b)


FAST_CASES = [
    (AdamCM, {}),
    (AdamCM, {"amsgrad": True, "weight_decay": 0.05}),
    (AdamCM, {"synced": False, "buffer_size": 3, "decay": 0.99}),
    (AdamCM, {"clean": True}),
    (AdamCM, {"clean": True, "synced": False}),
    (AdamCG, {}),
    (AdamCG, {"amsgrad": True, "weight_decay": 0.05, "synced": False}),
]


def _mlp(seed, dtype=torch.float64):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.Tanh(), torch.nn.Linear(16, 16), torch.nn.Tanh(),
                               torch.nn.Linear(16, 3)).to(dtype)


def _train(model, opt, steps, seed=0):
    gen = torch.Generator().manual_seed(seed)
    losses = []
    for _ in range(steps):
        x = torch.randn(32, 6, generator=gen, dtype=next(model.parameters()).dtype)
        y = torch.sin(x[:, :3] * 2.0)
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "foreach"])
@pytest.mark.parametrize("cls,kwargs", FAST_CASES, ids=[f"{c.__name__}-{k}" for c, k in FAST_CASES])
def test_fast_path_equals_faithful_path(cls, kwargs, fused):
    a, b = _mlp(0), _mlp(0)
    groups_a = [{"params": list(a[0].parameters())}, {"params": list(a[2].parameters()) + list(a[4].parameters()),
                                                      "lr": 3e-3}]
    groups_b = [{"params": list(b[0].parameters())}, {"params": list(b[2].parameters()) + list(b[4].parameters()),
                                                      "lr": 3e-3}]
    la = _train(a, cls(groups_a, lr=1e-2, impl="faithful", **kwargs), 40)
    lb = _train(b, cls(groups_b, lr=1e-2, impl="fast", fused=fused, **kwargs), 40)
    assert la == pytest.approx(lb, rel=1e-12)
    for pa, pb in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(pa, pb, rtol=1e-12, atol=1e-13)


def test_fast_path_float32_close_to_faithful():
    a, b = _mlp(0, torch.float32), _mlp(0, torch.float32)
    la = _train(a, AdamCM(a.parameters(), lr=1e-2, impl="faithful"), 30)
    lb = _train(b, AdamCM(b.parameters(), lr=1e-2, impl="fast"), 30)
    assert la == pytest.approx(lb, rel=1e-4)


def test_fast_path_needs_no_host_sync():
    """On the meta device any host read (bool(), .item()) raises; the fast step must still run."""
    params = [torch.zeros(3, 4, device="meta"), torch.zeros(5, device="meta")]
    for cls in (AdamCM, AdamCG):
        opt = cls(params, lr=1e-2, buffer_size=2, impl="fast", fused=False)
        for _ in range(4):  # fill phase, then full-buffer replacement decisions
            for p in params:
                p.grad = torch.zeros_like(p)
            opt.step()
    with pytest.raises(RuntimeError):  # the faithful path reads the replacement decision on the host
        opt = AdamCM(params, lr=1e-2, buffer_size=1, impl="faithful")
        for _ in range(3):
            opt.step()


@pytest.mark.parametrize("impl_a,impl_b", [("faithful", "faithful"), ("fast", "fast"), ("faithful", "fast"),
                                           ("fast", "faithful")])
def test_state_dict_round_trip(impl_a, impl_b):
    ref = _mlp(0)
    ref_losses = _train(ref, AdamCM(ref.parameters(), lr=1e-2, impl=impl_a), 20)
    first = _mlp(0)
    opt = AdamCM(first.parameters(), lr=1e-2, impl=impl_a)
    _train(first, opt, 10)
    saved = copy.deepcopy(opt.state_dict())
    second = copy.deepcopy(first)
    opt2 = AdamCM(second.parameters(), lr=1e-2, impl=impl_b)
    opt2.load_state_dict(saved)
    gen_losses = _train_from(second, opt2, 10, 10)
    assert gen_losses == pytest.approx(ref_losses[10:], rel=1e-10)


def _train_from(model, opt, start, steps):
    """Continue the data stream of :func:`_train` at step ``start``."""
    gen = torch.Generator().manual_seed(0)
    for _ in range(start):
        torch.randn(32, 6, generator=gen, dtype=torch.float64)
    losses = []
    for _ in range(steps):
        x = torch.randn(32, 6, generator=gen, dtype=torch.float64)
        y = torch.sin(x[:, :3] * 2.0)
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize("impl", ["faithful", "fast"])
def test_cg_first_step_is_one_adam_step(impl):
    p1 = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64)
    p2 = p1.clone()
    g = torch.tensor([0.3, -0.2, 1.5], dtype=torch.float64)
    p1.grad, p2.grad = g.clone(), g.clone()
    AdamCG([p1], lr=0.1, impl=impl).step()
    torch.optim.Adam([p2], lr=0.1).step()
    torch.testing.assert_close(p1, p2, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("impl", ["faithful", "fast"])
def test_buffer_never_exceeds_capacity_and_priorities_decay_once(impl):
    p = torch.zeros(4, dtype=torch.float64)
    opt = AdamCM([p], lr=0.01, buffer_size=3, decay=0.5, impl=impl)
    gen = torch.Generator().manual_seed(0)
    for t in range(1, 12):
        p.grad = torch.randn(4, generator=gen, dtype=torch.float64)
        k = p.grad.norm().item()
        opt.step()
        state = opt.state[p]
        assert state["fill"] == min(t, 3) and state["buffer"].shape[0] == 3
        if t <= 3:  # appended at slot t - 1, then decayed once
            assert state["priorities"][t - 1].item() == pytest.approx(0.5 * k, rel=1e-12)


def test_invalid_arguments():
    p = [torch.zeros(2, requires_grad=True)]
    with pytest.raises(ValueError, match="buffer_size"):
        AdamCM(p, buffer_size=0)
    with pytest.raises(ValueError, match="impl"):
        AdamCM(p, impl="turbo")
    with pytest.raises(ValueError, match="betas"):
        AdamCG(p, betas=(0.9, 1.0))
    mixed = [torch.zeros(2, dtype=torch.float32), torch.zeros(2, dtype=torch.float64)]
    opt = AdamCM(mixed, impl="fast")
    for q in mixed:
        q.grad = torch.ones_like(q)
    with pytest.raises(RuntimeError, match="one dtype"):
        opt.step()


def test_fast_path_rejects_changing_gradient_set():
    a, b = torch.zeros(2, dtype=torch.float64), torch.zeros(3, dtype=torch.float64)
    opt = AdamCM([a, b], impl="fast")
    a.grad, b.grad = torch.ones(2, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    opt.step()
    b.grad = None
    with pytest.raises(RuntimeError, match="same parameters"):
        opt.step()


@pytest.mark.parametrize("kind,kwargs,cls", [("adam", {}, None), ("cm", {}, AdamCM), ("cm", {"clean": True}, AdamCM),
                                             ("cg", {}, AdamCG), ("cm", {"decay": 0.99, "buffer_size": 3}, AdamCM)])
def test_batched_runs_equal_separate_optimizers(kind, kwargs, cls):
    """Each row of the batched optimizer is an independent faithful run (its own priority ||g_r||)."""
    gen = torch.Generator().manual_seed(0)
    runs, steps = 6, 40
    x0 = torch.randn(runs, 2, generator=gen, dtype=torch.float64)
    lrs = torch.tensor([0.01, 0.03, 0.1, 0.01, 0.03, 0.1], dtype=torch.float64)
    grads = [torch.randn(runs, 2, generator=gen, dtype=torch.float64) for _ in range(steps)]
    x = x0.clone()
    opt = BatchedOptimizer(kind, x, lrs, **kwargs)
    for g in grads:
        opt.step(g)
    for r in range(runs):
        p = x0[r].clone()
        single = (cls(  # type: ignore[misc]
            [p], lr=float(lrs[r]), impl="faithful", **kwargs) if cls else torch.optim.Adam([p], lr=float(lrs[r])))
        for g in grads:
            p.grad = g[r].clone()
            single.step()
        torch.testing.assert_close(x[r], p, rtol=1e-12, atol=1e-12)
