"""Batched lock-step evaluation (paper Sec. 4 / App. C evaluation protocol).

All episodes of a wave (one per task) step together: one batched decoding pass of the model per environment
step, with the K-step context kept as a rolling window. Meta-World: success if ``info["success"]`` at any of
the 200 steps; DMControl: return and data-normalised score. The RTG starts at the task's target return G (the
best return in its data) and follows R_{t+1} = min(R_t - r_t, G).
"""

from __future__ import annotations

import zlib
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np
import torch

from l2m import tasks as T
from l2m.envs import TaskEnv, make_env
from l2m.model import MDDT
from l2m.tokenizer import PAD_TOKEN, ZERO_TOKEN, detokenize, next_eval_rtg, tokenize
from repro_shared.progress import progress

_ENV_CACHE: OrderedDict[tuple[str, int], TaskEnv] = OrderedDict()
MAX_CACHED_ENVS = 64


def get_env(task: str, slot: int = 0) -> TaskEnv:
    """Environment ``slot`` of ``task`` in this process, from a small LRU cache (a Meta-World env takes ~0.3 s
    to build and ~25 MB)."""
    key = (task, slot)
    if key in _ENV_CACHE:
        _ENV_CACHE.move_to_end(key)
        return _ENV_CACHE[key]
    env = make_env(task)
    _ENV_CACHE[key] = env
    while len(_ENV_CACHE) > MAX_CACHED_ENVS:
        _ENV_CACHE.popitem(last=False)
    return env


def eval_seed(task: str, seed: int, episode: int) -> int:
    return zlib.crc32(f"eval/{task}/{seed}/{episode}".encode())


def any_step_success(success_flags: np.ndarray) -> np.ndarray:
    """Episode success = success at any step (last axis)."""
    return np.asarray(success_flags, bool).any(-1)


@torch.no_grad()
def run_wave(model: MDDT, peft, task_list: Sequence[str], targets: Sequence[float], seeds: Sequence[int],
             task_ids: Sequence[int] | None = None, policy=None) -> tuple[np.ndarray, np.ndarray]:
    """One episode per entry of ``task_list`` (same domain), all in lock step. Returns (returns, success).

    ``policy(env, obs) -> action`` replaces the model when given (used to check the loop on scripted experts).
    """
    slots: dict[str, int] = {}
    envs = []
    for t in task_list:  # a task may appear several times in a wave: one env each
        envs.append(get_env(t, slots.get(t, 0)))
        slots[t] = slots.get(t, 0) + 1
    if len({e.horizon for e in envs}) != 1:
        raise ValueError("run_wave needs tasks of one domain (equal horizons)")
    N, H, K = len(envs), envs[0].horizon, model.cfg.context
    dev = next(model.parameters()).device
    scale = T.REWARD_SCALE[envs[0].domain]
    target = np.asarray(targets, np.float32) / scale
    states = np.zeros((N, K, T.STATE_DIM), np.float32)
    actions = np.full((N, K, T.ACT_DIM), PAD_TOKEN, np.int64)
    rewards = np.zeros((N, K), np.float32)
    rtg = np.zeros((N, K), np.float32)
    steps = np.zeros((N, K), np.int64)
    mask = np.zeros((N, K), bool)
    n_act = torch.tensor([e.act_dim for e in envs])
    tids = torch.tensor(list(task_ids) if task_ids is not None else [0] * N)
    obs = [e.reset(s) for e, s in zip(envs, seeds)]
    R = target.copy()
    returns, success = np.zeros(N), np.zeros(N, bool)
    for t in range(H):
        for arr in (states, actions, rewards, rtg, steps, mask):
            arr[:, :-1] = arr[:, 1:]
        states[:, -1] = 0.0
        for i, (e, o) in enumerate(zip(envs, obs)):
            states[i, -1, e.slots] = o
        actions[:, -1], rewards[:, -1], rtg[:, -1], steps[:, -1], mask[:, -1] = ZERO_TOKEN, 0.0, R, t, True
        if policy is None:
            tok = model.predict_actions(*(torch.from_numpy(a).to(dev) for a in (states, rtg, rewards, actions, steps,
                                                                                 mask)),
                                        n_act.to(dev), tids.to(dev), peft).cpu().numpy()
            act_values = detokenize(tok)
        else:
            act_values = np.zeros((N, T.ACT_DIM), np.float32)
            for i, (e, o) in enumerate(zip(envs, obs)):
                act_values[i, : e.act_dim] = policy(e, o)
            tok = tokenize(act_values)
        r = np.zeros(N, np.float32)
        for i, e in enumerate(envs):
            obs[i], r[i], s = e.step(act_values[i, : e.act_dim])
            success[i] |= s
        actions[:, -1] = tok
        rewards[:, -1] = r / scale
        returns += r
        R = next_eval_rtg(R, r / scale, target)
    return returns, success


def evaluate(model: MDDT, peft, task_list: Sequence[str], targets: dict[str, float], episodes: int, *,
             seed: int = 0, task_ids: dict[str, int] | None = None, desc: str = "eval",
             max_envs: int = 50) -> dict[str, dict]:
    """Per task: success rate (Meta-World), mean return, normalised score (DMControl), over ``episodes``.

    All (task, episode) pairs of a domain are stepped in lock step in waves of at most ``max_envs``; episode e
    of a task starts from the same seeded initial state for every method, so comparisons are paired.
    """
    model.eval()
    if peft is not None:
        peft.eval()
    rets: dict[str, list[float]] = {t: [] for t in task_list}
    succ: dict[str, list[bool]] = {t: [] for t in task_list}
    waves = []
    for domain in ("mw", "dmc"):
        pairs = [(t, e) for e in range(episodes) for t in task_list if T.domain_of(t) == domain]
        waves += [pairs[i:i + max_envs] for i in range(0, len(pairs), max_envs)]
    for wave in progress(waves, desc=desc, total=len(waves)):
        ts = [t for t, _ in wave]
        ids = [task_ids.get(t, -1) for t in ts] if task_ids is not None else None
        r, s = run_wave(model, peft, ts, [targets[t] for t in ts], [eval_seed(t, seed, e) for t, e in wave], ids)
        for t, ri, si in zip(ts, r, s):
            rets[t].append(float(ri))
            succ[t].append(bool(si))
    out: dict[str, dict] = {}
    for t in task_list:
        dmc = T.domain_of(t) == "dmc"
        out[t] = {"success": float(np.mean(succ[t])), "return": float(np.mean(rets[t])),
                  "score": float(np.mean([T.normalized_score(t, x) for x in rets[t]])) if dmc
                  else float(np.mean(succ[t])), "episodes": len(rets[t])}
    return out
