import numpy as np
import torch
from l2m.data import DataSpec, SequenceDataset, TaskData, ensure_data, episode_noise, load_task
from l2m.tokenizer import PAD_TOKEN, ZERO_TOKEN

from l2m import tasks as T


def _fake_store(task="reach-v3", E=3, H=200, A=4, D=39, slots=None, domain="mw"):
    rng = np.random.default_rng(0)
    rewards = rng.uniform(0, 1, (E, H)).astype(np.float32)
    return TaskData(task=task, domain=domain, obs=rng.normal(size=(E, H, D)).astype(np.float32),
                    actions=rng.uniform(-1, 1, (E, H, A)).astype(np.float32), rewards=rewards,
                    rtg=np.flip(np.cumsum(np.flip(rewards, 1), 1), 1).copy(), success=np.zeros((E, H), bool),
                    returns=rewards.sum(1), noise=np.zeros(E, np.float32),
                    slots=np.arange(D) if slots is None else np.asarray(slots), act_dim=A)


def test_episode_noise_mix():
    s = episode_noise(DataSpec(episodes=20), "push-v3")
    assert (s < 0).sum() == 2
    np.testing.assert_allclose(sorted(set(s[s >= 0].tolist())), [0.0, 0.05, 0.1, 0.2], rtol=1e-6)
    custom = episode_noise(DataSpec(episodes=20, noise_levels=(0.0, 0.3)), "push-v3")
    np.testing.assert_allclose(sorted(set(custom[custom >= 0].tolist())), [0.0, 0.3], rtol=1e-6)
    np.testing.assert_array_equal(s, episode_noise(DataSpec(episodes=20), "push-v3"))


def test_window_sampling_invariants():
    mw = _fake_store()
    dmc = _fake_store("cartpole-balance", E=2, H=1000, A=1, D=5, slots=[41, 42, 43, 14, 15], domain="dmc")
    ds = SequenceDataset([mw, dmc], context=5, domain_weights={"mw": 0.5, "dmc": 0.5})
    b = ds.sample(512, torch.Generator().manual_seed(0))
    assert b.states.shape == (512, 5, 204) and b.actions.shape == (512, 5, 6)
    # left padding: once a step is valid, all later steps of the window are valid; the last step always is
    m = b.step_mask.long()
    assert bool((m[:, 1:] >= m[:, :-1]).all()) and bool(b.step_mask[:, -1].all())
    assert bool((b.actions[~b.step_mask] == PAD_TOKEN).all()) and not b.act_mask[~b.step_mask].any()
    assert float(b.states[~b.step_mask].abs().sum()) == 0.0
    # timesteps are consecutive inside a window
    t = b.timesteps
    both = b.step_mask[:, 1:] & b.step_mask[:, :-1]
    assert bool(((t[:, 1:] - t[:, :-1])[both] == 1).all())
    # DMC rows: 1 real action dim, the others carry token 32 and are masked; obs only in the DMC slots
    is_dmc = b.act_mask[:, -1].sum(-1) == 1
    assert 0 < int(is_dmc.sum()) < 512
    assert bool((b.actions[is_dmc][:, -1, 1:] == ZERO_TOKEN).all())
    other = torch.ones(204, dtype=torch.bool)
    other[[41, 42, 43, 14, 15]] = False
    assert float(b.states[is_dmc][..., other].abs().sum()) == 0.0
    # RTG is scaled by the domain's reward scale
    assert torch.allclose(b.rtg[~is_dmc][:, -1] * T.REWARD_SCALE["mw"],
                          b.rtg[~is_dmc][:, -1] * 200.0)


def test_window_matches_store_values():
    store = _fake_store(E=1, H=10)
    ds = SequenceDataset([store], context=3)
    b = ds.sample(64, torch.Generator().manual_seed(1))
    for i in range(64):
        t_last = int(b.timesteps[i, -1])
        np.testing.assert_allclose(b.states[i, -1, :39].numpy(), store.obs[0, t_last])
        np.testing.assert_allclose(float(b.rtg[i, -1]), store.rtg[0, t_last] / 200.0, rtol=1e-5)


def test_generation_writes_one_compressed_store_per_task(tmp_cache):
    spec = DataSpec(episodes=2)
    paths = ensure_data(["reach-v3"], spec, workers=1)
    assert paths["reach-v3"].is_file() and paths["reach-v3"].suffix == ".npz"
    s = load_task("reach-v3", spec)
    assert s.obs.shape == (2, 200, 39) and s.actions.shape == (2, 200, 4)
    np.testing.assert_allclose(s.rtg[:, 0], s.rewards.sum(1), rtol=1e-5)
    np.testing.assert_allclose(s.returns, s.rewards.sum(1), rtol=1e-5)
    assert s.target_return == s.returns.max()
