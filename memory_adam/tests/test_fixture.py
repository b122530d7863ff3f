"""Parity with the reference optimizer (chandar-lab/CMOptimizer@bdc7731, float64) on recorded trajectories.

The fixture (copied from shared/fixtures/memory_adam) holds two tensors (3, 4) and (5,), a fixed init, 40 fixed
gradient sets and, per run, the parameters, buffer fill and priorities after every step, plus the final m, v and
buffer. Every run must match to 1e-10 (the faithful path matches bit for bit).
"""

import json
from pathlib import Path

import pytest
import torch

from memory_adam import AdamCG, AdamCM

FIXTURE = Path(__file__).parent / "fixtures" / "official_adam_cm_trajectories.json"
DATA = json.loads(FIXTURE.read_text())
RUNS = DATA["runs"]
TOL = 1e-10
IMPLS = [("faithful", None), ("fast", True), ("fast", False)]


def _t(x):
    return torch.tensor(x, dtype=torch.float64)


def _make(run, impl, fused):
    kwargs = dict(run["kwargs"])
    kwargs["buffer_size"] = kwargs.pop("topC")
    if "betas" in kwargs:
        kwargs["betas"] = tuple(kwargs["betas"])
    cls = {"Adam_CM": AdamCM, "Adam_C": AdamCG}[run["optimizer"]]
    params = [_t(x) for x in DATA["init"]]
    return params, cls(params, impl=impl, fused=fused, **kwargs)


def test_fixture_structure():
    assert DATA["shapes"] == [[3, 4], [5]]
    assert len(DATA["grads"]) == 40 and len(RUNS) == 8
    assert {r["optimizer"] for r in RUNS} == {"Adam_CM", "Adam_C"}


@pytest.mark.parametrize("impl,fused", IMPLS, ids=["faithful", "fast-fused", "fast-foreach"])
@pytest.mark.parametrize("run", RUNS, ids=[f"{r['optimizer']}-{r['kwargs']}" for r in RUNS])
def test_matches_reference_trajectory(run, impl, fused):
    params, opt = _make(run, impl, fused)
    for t, grads in enumerate(DATA["grads"]):
        for p, g in zip(params, grads):
            p.grad = _t(g)
        opt.step()
        for p, expected in zip(params, run["params_after_each_step"][t]):
            torch.testing.assert_close(p, _t(expected), rtol=0, atol=TOL)
        keys = run["buffer_keys_after_each_step"][t]
        for p in params:
            state = opt.state[p]
            assert state["fill"] == keys["fill"]
            torch.testing.assert_close(state["priorities"][: keys["fill"]], _t(keys["keys"]), rtol=0, atol=TOL)
    final = run["final_state"]
    for i, p in enumerate(params):
        state = opt.state[p]
        torch.testing.assert_close(state["exp_avg"], _t(final["exp_avg"][i]), rtol=0, atol=TOL)
        torch.testing.assert_close(state["exp_avg_sq"], _t(final["exp_avg_sq"][i]), rtol=0, atol=TOL)
        torch.testing.assert_close(state["buffer"], _t(final["buffer"][i]), rtol=0, atol=TOL)


@pytest.mark.parametrize("run", RUNS[:1] + RUNS[6:7], ids=["Adam_CM", "Adam_C"])
def test_faithful_path_is_bit_exact(run):
    params, opt = _make(run, "faithful", None)
    for t, grads in enumerate(DATA["grads"]):
        for p, g in zip(params, grads):
            p.grad = _t(g)
        opt.step()
        for p, expected in zip(params, run["params_after_each_step"][t]):
            assert torch.equal(p, _t(expected))


@pytest.mark.parametrize("impl", ["faithful", "fast"])
def test_hand_case_in_fixture(impl):
    p = torch.zeros(1, dtype=torch.float64)
    opt = AdamCM([p], lr=0.1, impl=impl)
    for expected in DATA["hand_case_constant_grad_1_lr_0.1"]:
        p.grad = torch.ones(1, dtype=torch.float64)
        opt.step()
        assert abs(p.item() - expected) < TOL
