import math

import pytest
import torch
from l2m.methods import MethodConfig, build_method
from l2m.model import MDDT, TOKENS_PER_STEP, ModelConfig
from l2m.peft import IA3, L2M, Adapters, LoRA, LoRAModulation, LoRAPool
from test_model import random_batch

CFG = ModelConfig(d_model=32, n_layer=2, n_head=4)


def test_param_count_paper_scale():
    pool = LoRAPool(ModelConfig(d_model=768, n_layer=6, n_head=12), size=1, rank=8)
    assert pool.params_per_modulator() == 12 * 768 * 8 * 6 == 442_368
    assert 30 * 442_368 == 13_271_040  # the paper's pool of 30 (~13.27M)
    assert L2M(CFG, size=30).keys.shape == (30, 32)


@pytest.mark.parametrize("peft_cls", [LoRA, IA3, Adapters, lambda cfg: L2M(cfg, size=5)])
def test_identity_at_init(peft_cls):
    torch.manual_seed(0)
    model = MDDT(CFG).eval()
    b = random_batch()
    base, _ = model(b)
    peft = peft_cls(CFG).eval()
    out, _ = model(b, peft)
    torch.testing.assert_close(out, base, rtol=0, atol=1e-6)


def test_lora_delta_golden():
    pool = LoRAPool(CFG, size=2, rank=2)
    with torch.no_grad():
        for p in (pool.a_q, pool.b_q, pool.a_ff, pool.b_ff):
            p.normal_()
    mod = LoRAModulation(pool, torch.tensor([1, 0]))
    x, q = torch.randn(2, 3, 32), torch.randn(2, 3, 32)
    delta = torch.stack([pool.a_q[1, 1] @ pool.b_q[1, 1], pool.a_q[0, 1] @ pool.b_q[0, 1]])
    torch.testing.assert_close(mod.q(1, x, q), q + 2.0 * x @ delta, rtol=1e-5, atol=1e-4)  # scale alpha / r = 2
    u = torch.randn(2, 3, 128)
    ff = torch.stack([pool.a_ff[1, 0] @ pool.b_ff[1, 0], pool.a_ff[0, 0] @ pool.b_ff[0, 0]])
    torch.testing.assert_close(mod.ff_hidden(0, u), u + 2.0 * u @ ff, rtol=1e-5, atol=1e-4)


def _tokens_for_queries(q: torch.Tensor) -> torch.Tensor:
    """One-step token sequences whose state token is ``q`` (so the L2M query equals q)."""
    tokens = torch.randn(q.shape[0], TOKENS_PER_STEP, q.shape[1])
    tokens[:, 0] = q
    return tokens


def test_l2m_retrieval_pull_and_key_gradients():
    l2m = L2M(CFG, size=6)
    with torch.no_grad():
        l2m.keys.copy_(torch.eye(6, 32))
    q = torch.stack([torch.eye(32)[3] + 0.01 * torch.randn(32), torch.eye(32)[5] + torch.eye(32)[1] * 0.5])
    l2m.train()
    mod = l2m.modulate(_tokens_for_queries(q), torch.ones(2, 1, dtype=torch.bool), torch.zeros(2, dtype=torch.long))
    assert l2m.last_selection.tolist() == [3, 5]
    cos = torch.stack([torch.nn.functional.cosine_similarity(q[0], torch.eye(32)[3], dim=0),
                       torch.nn.functional.cosine_similarity(q[1], torch.eye(32)[5], dim=0)])
    torch.testing.assert_close(mod.aux_loss, -0.5 * cos.mean())
    assert float(cos[1]) == pytest.approx(1 / math.sqrt(1.25), rel=1e-5)
    mod.aux_loss.backward()
    grads = l2m.keys.grad.abs().sum(1)
    assert grads[3] > 0 and grads[5] > 0 and float(grads[[0, 1, 2, 4]].sum()) == 0.0


def test_count_penalty_steers_to_unused_modulator():
    l2m = L2M(CFG, size=3)
    l2m.freq.copy_(torch.tensor([0.5, 0.5, 0.0]))
    cos = torch.tensor([[0.9, 0.8, -0.9], [0.1, 0.99, -0.5], [-0.2, -0.3, 0.5]])
    tid = torch.zeros(3, dtype=torch.long)
    l2m.begin_task(1)
    l2m.train()
    assert l2m.select(cos, tid).tolist() == [2, 2, 2]
    l2m.eval()
    assert l2m.select(cos, tid).tolist() == [0, 1, 2]
    l2m.train()
    l2m.begin_task(0)
    assert l2m.select(cos, tid).tolist() == [0, 1, 2]


def test_usage_frequency_is_a_running_mean_never_reset():
    l2m = L2M(CFG, size=4).train()
    q = torch.randn(8, 32)
    for _ in range(3):
        l2m.modulate(_tokens_for_queries(q), torch.ones(8, 1, dtype=torch.bool), torch.zeros(8, dtype=torch.long))
    hist = torch.bincount(l2m.last_selection, minlength=4).float() / 8
    torch.testing.assert_close(l2m.freq, hist)  # same batch three times: mean = that histogram
    l2m.begin_task(1)
    assert l2m.n_batches == 3 and float(l2m.freq.sum()) == pytest.approx(1.0)


def test_oracle_routing_blocks():
    l2m = L2M(CFG, size=30, count_penalty=False, oracle_tasks=10).train()
    cos = torch.randn(50, 30)
    picks = l2m.select(cos, torch.full((50,), 4, dtype=torch.long))
    assert set(picks.tolist()) <= {12, 13, 14}
    torch.testing.assert_close(picks, cos[:, 12:15].argmax(-1) + 12)


def test_method_freezing_and_trainable_sets():
    model = MDDT(CFG)
    m = build_method("lora", model, MethodConfig())
    assert not any(p.requires_grad for p in model.parameters())
    assert sum(p.numel() for p in m.params) == 12 * 32 * 8 * 2
    m = build_method("ft_last", model, MethodConfig())
    names = {n for n, p in model.named_parameters() if p.requires_grad}
    assert names and all(n.startswith(("blocks.1.", "ln_f.", "action_head.")) for n in names)
    m = build_method("ft", model, MethodConfig())
    assert len(m.params) == len(list(model.parameters()))


def test_l2_regulariser_penalty():
    model = MDDT(CFG)
    m = build_method("l2", model, MethodConfig(ewc_lambda=4.0))
    assert m.regularizer.penalty(model) == 0.0
    m.regularizer.end_task(model, [])
    with torch.no_grad():
        model.action_head.bias.add_(1.0)
    assert float(m.regularizer.penalty(model)) == pytest.approx(0.5 * 4.0 * 64)


@pytest.mark.parametrize("idx", [[2, 2, 2, 2, 2, 2], [1, 0, 1, 3, 0, 1], [0, 1, 2, 3, 4, 5]])
def test_lora_modes_dense_grouped_gather_agree(idx):
    pool = LoRAPool(CFG, size=6, rank=2)
    with torch.no_grad():
        for p in (pool.b_q, pool.b_v, pool.b_ff):
            p.normal_()
    idx = torch.tensor(idx)
    mod = LoRAModulation(pool, idx)
    assert mod.mode == {1: "dense", 3: "grouped", 6: "gather"}[len(set(idx.tolist()))]
    x = torch.randn(6, 5, 32)
    ref = torch.stack([x[i] @ pool.a_v[m, 0] @ pool.b_v[m, 0] for i, m in enumerate(idx.tolist())]) * 2.0
    torch.testing.assert_close(mod.v(0, x, torch.zeros_like(x)), ref, rtol=1e-5, atol=1e-5)
