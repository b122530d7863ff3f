import pytest
import torch
from l2m.data import Batch
from l2m.model import MDDT, TOKENS_PER_STEP, ModelConfig, state_query
from l2m.peft import L2M, PrefixTuning, PromptTuning
from l2m.train import action_loss

CFG = ModelConfig(d_model=32, n_layer=2, n_head=4, context=5)


def random_batch(B=3, K=5, seed=0, n_act=4):
    g = torch.Generator().manual_seed(seed)
    mask = torch.ones(B, K, dtype=torch.bool)
    act_mask = torch.zeros(B, K, 6, dtype=torch.bool)
    act_mask[..., :n_act] = True
    return Batch(states=torch.randn(B, K, 204, generator=g), rtg=torch.randn(B, K, generator=g),
                 rewards=torch.randn(B, K, generator=g), actions=torch.randint(0, 64, (B, K, 6), generator=g),
                 act_mask=act_mask, timesteps=torch.randint(0, 190, (B, 1), generator=g) + torch.arange(K),
                 step_mask=mask, task_ids=torch.zeros(B, dtype=torch.long))


def clone(b: Batch) -> Batch:
    return Batch(**{k: v.clone() for k, v in vars(b).items()})


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return MDDT(CFG).eval()


def test_shapes_and_token_count(model):
    b = random_batch()
    logits, aux = model(b)
    assert logits.shape == (3, 5, 6, 64) and aux == 0.0
    assert model.embed(b.states, b.rtg, b.rewards, b.actions, b.timesteps).shape == (3, 5 * TOKENS_PER_STEP, 32)
    assert TOKENS_PER_STEP * CFG.context == 45


def test_causal_masking(model):
    """Logits of a^j_t ignore a^{>=j}_t, r_t and later steps, and depend on a^{<j}_t, R_t and s_t."""
    b = random_batch()
    base, _ = model(b)
    t, j = 2, 2
    for change in ("a_ge_j", "r_t", "later"):
        c = clone(b)
        if change == "a_ge_j":
            c.actions[:, t, j:] = (c.actions[:, t, j:] + 7) % 64
        elif change == "r_t":
            c.rewards[:, t] += 5.0
        else:
            c.states[:, t + 1:] += 3.0
            c.rtg[:, t + 1:] -= 2.0
            c.actions[:, t + 1:] = (c.actions[:, t + 1:] + 5) % 64
        out, _ = model(c)
        torch.testing.assert_close(out[:, t, j], base[:, t, j], rtol=0, atol=1e-5)
        torch.testing.assert_close(out[:, :t], base[:, :t], rtol=0, atol=1e-5)
    for change in ("a_lt_j", "R_t", "s_t"):
        c = clone(b)
        if change == "a_lt_j":
            c.actions[:, t, j - 1] = (c.actions[:, t, j - 1] + 9) % 64
        elif change == "R_t":
            c.rtg[:, t] += 3.0
        else:
            c.states[:, t] += 3.0
        out, _ = model(c)
        assert (out[:, t, j] - base[:, t, j]).abs().max() > 1e-4


def test_padded_steps_are_invisible(model):
    b = random_batch()
    b.step_mask[:, :2] = False
    base, _ = model(b)
    c = clone(b)
    c.states[:, :2] += 10.0
    c.rtg[:, :2] -= 4.0
    out, _ = model(c)
    torch.testing.assert_close(out[:, 2:], base[:, 2:], rtol=0, atol=1e-5)


def test_action_loss_masks_exactly_the_invalid_pairs():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 3, 6, 64, generator=g)
    actions = torch.randint(0, 64, (2, 3, 6), generator=g)
    mask = torch.zeros(2, 3, 6, dtype=torch.bool)
    mask[0, 1, :4] = True
    mask[1, 2, :1] = True
    ce = torch.nn.functional.cross_entropy(logits[mask], actions[mask])
    torch.testing.assert_close(action_loss(logits, actions, mask), ce)
    logits2, actions2 = logits.clone(), actions.clone()
    logits2[~mask] = 100.0 * torch.randn(int((~mask).sum()), 64)
    actions2[~mask] = 64  # padding token
    torch.testing.assert_close(action_loss(logits2, actions2, mask), ce)


def _greedy_full_forward(model, b: Batch, n_act: int, peft=None) -> torch.Tensor:
    """Reference decoder without a KV cache: one full forward per action dimension."""
    c = clone(b)
    out = torch.full((c.rtg.shape[0], 6), 32, dtype=torch.long)
    for j in range(n_act):
        logits, _ = model(c, peft)
        out[:, j] = logits[:, -1, j].argmax(-1)
        c.actions[:, -1, j] = out[:, j]
    return out


@pytest.mark.parametrize("kind", ["base", "l2m", "prompt", "prefix"])
def test_kv_cache_decoding_matches_full_forward(model, kind):
    torch.manual_seed(1)
    peft = {"base": None, "l2m": L2M(CFG, size=4), "prompt": PromptTuning(CFG), "prefix": PrefixTuning(CFG)}[kind]
    if kind == "l2m":
        with torch.no_grad():
            for p in (peft.pool.b_q, peft.pool.b_v, peft.pool.b_ff):
                p.normal_(std=0.5)
    if peft is not None:
        peft.eval()
    b = random_batch(B=6, seed=3)
    b.step_mask[:2, :3] = False  # left-padded contexts, as at the start of an episode
    b.actions[~b.step_mask] = 64
    ref = _greedy_full_forward(model, b, 4, peft)
    got = model.predict_actions(b.states, b.rtg, b.rewards, b.actions, b.timesteps, b.step_mask,
                                torch.full((6,), 4), b.task_ids, peft)
    torch.testing.assert_close(got, ref)
    assert bool((got[:, 4:] == 32).all())


def test_state_query_is_masked_mean_of_state_tokens():
    tokens = torch.randn(2, 3 * TOKENS_PER_STEP, 8)
    mask = torch.tensor([[False, True, True], [True, True, True]])
    q = state_query(tokens, mask)
    s = tokens.view(2, 3, TOKENS_PER_STEP, 8)[:, :, 0]
    torch.testing.assert_close(q[0], s[0, 1:].mean(0))
    torch.testing.assert_close(q[1], s[1].mean(0))
    t2 = tokens.clone()
    t2[0, :TOKENS_PER_STEP] += 100.0  # the padded step
    torch.testing.assert_close(state_query(t2, mask), q)
