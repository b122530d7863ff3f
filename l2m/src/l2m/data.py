"""Offline data: generated from scripted experts, one compressed store per task, sampled as K-step windows.

Paper Sec. 4 / App. B trains on replay buffers of single-task SAC agents (random -> expert). We cannot train
SAC on 2 CPU cores, so we imitate the quality mix of a replay buffer with scripted experts: each episode is
run with one action-noise level sigma in ``noise_levels`` (Gaussian, clipped to [-1, 1]) and a share
``random_fraction`` of episodes takes uniform random actions. Stores are a cache (``l2m/.data_cache``):
generated on demand, in parallel over episode chunks with a progress bar, never committed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import multiprocessing as mp
import os
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from l2m import tasks as T
from l2m.tokenizer import PAD_TOKEN, ZERO_TOKEN, returns_to_go, tokenize
from repro_shared.progress import progress
from repro_shared.results import atomic_path

FORMAT_VERSION = 1


@dataclasses.dataclass(frozen=True)
class DataSpec:
    """How a task's data store is generated (everything that changes its content is in its file name)."""

    episodes: int = 20
    seed: int = 0
    noise_levels: tuple[float, ...] = (0.0, 0.05, 0.1, 0.2)
    random_fraction: float = 0.1

    def tag(self) -> str:
        text = json.dumps([FORMAT_VERSION, self.noise_levels, self.random_fraction], sort_keys=True)
        return f"e{self.episodes}_s{self.seed}_{hashlib.sha1(text.encode()).hexdigest()[:8]}"


def cache_dir() -> Path:
    """``$L2M_DATA_CACHE``, else ``<package>/.data_cache`` in a checkout, else ``~/.cache/l2m``."""
    if os.environ.get("L2M_DATA_CACHE"):
        return Path(os.environ["L2M_DATA_CACHE"])
    pkg = Path(__file__).resolve().parents[2]
    if (pkg / "pyproject.toml").is_file():
        return pkg / ".data_cache"
    return Path.home() / ".cache" / "l2m"


def episode_noise(spec: DataSpec, task: str) -> np.ndarray:
    """Per-episode noise sigma (-1 = uniform random actions): a fixed mix, shuffled per task."""
    n_random = int(round(spec.random_fraction * spec.episodes))
    rest = spec.episodes - n_random
    levels = np.asarray(spec.noise_levels, dtype=np.float32)
    sigmas = np.concatenate([np.full(n_random, -1.0, np.float32), levels[np.arange(rest) % len(levels)]])
    rng = np.random.default_rng([spec.seed, zlib.crc32(task.encode())])
    return sigmas[rng.permutation(spec.episodes)]


def episode_seed(spec: DataSpec, task: str, episode: int) -> int:
    return zlib.crc32(f"{task}/{spec.seed}/{episode}".encode())


# --------------------------------------------------------------------------- generation

_ENVS: dict = {}


def rollout(env, policy, seed: int, sigma: float) -> dict[str, np.ndarray]:
    """One full episode of ``policy`` with Gaussian action noise ``sigma`` (``sigma < 0``: random actions)."""
    rng = np.random.default_rng([seed, 7])
    obs = env.reset(seed)
    H, A = env.horizon, env.act_dim
    out = {"obs": np.zeros((H, obs.size), np.float32), "actions": np.zeros((H, A), np.float32),
           "rewards": np.zeros(H, np.float32), "success": np.zeros(H, bool)}
    for t in range(H):
        if sigma < 0:
            a = rng.uniform(-1.0, 1.0, A)
        else:
            a = np.clip(policy(env, obs) + sigma * rng.standard_normal(A), -1.0, 1.0)
        out["obs"][t], out["actions"][t] = obs, a
        obs, out["rewards"][t], out["success"][t] = env.step(a)
    return out


def _generate_chunk(args: tuple[str, DataSpec, list[int]]) -> tuple[str, list[int], dict[str, np.ndarray]]:
    """Worker: episodes ``eps`` of ``task`` (the env and expert are cached per worker process)."""
    from l2m.envs import make_env, scripted_policy

    task, spec, eps = args
    if task not in _ENVS:
        _ENVS[task] = (make_env(task), scripted_policy(task))
    env, policy = _ENVS[task]
    sigmas = episode_noise(spec, task)
    rolls = [rollout(env, policy, episode_seed(spec, task, i), float(sigmas[i])) for i in eps]
    return task, eps, {k: np.stack([r[k] for r in rolls]) for k in rolls[0]}


def store_path(task: str, spec: DataSpec, root: Path | None = None) -> Path:
    return (root or cache_dir()) / f"{task}__{spec.tag()}.npz"


def _save_store(task: str, spec: DataSpec, arrays: dict[str, np.ndarray], path: Path) -> None:
    from l2m.envs import make_env

    env = make_env(task)
    rewards = arrays["rewards"]
    payload = dict(arrays, rtg=returns_to_go(rewards), returns=rewards.sum(1), noise=episode_noise(spec, task),
                   slots=env.slots, act_dim=np.int64(env.act_dim), domain=np.array(T.domain_of(task)))
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez_compressed(tmp, **payload)


def ensure_data(task_list: Sequence[str], spec: DataSpec, *, workers: int = 2, chunk_episodes: int | None = None,
                root: Path | None = None) -> dict[str, Path]:
    """Generate the stores of ``task_list`` that are not cached yet (parallel over episode chunks)."""
    paths = {t: store_path(t, spec, root) for t in task_list}
    missing = [t for t in task_list if not paths[t].is_file()]
    if not missing:
        return paths
    jobs = []
    for t in missing:
        size = chunk_episodes or (10 if T.domain_of(t) == "mw" else 2)
        eps = list(range(spec.episodes))
        jobs += [(t, spec, eps[i:i + size]) for i in range(0, spec.episodes, size)]
    total = sum(len(j[2]) * T.horizon(j[0]) for j in jobs)
    parts: dict[str, dict[int, dict[str, np.ndarray]]] = {t: {} for t in missing}
    bar = progress(total=total, desc=f"data ({len(missing)} tasks)", unit="step", unit_scale=True)
    if workers <= 1:
        results = map(_generate_chunk, jobs)
        pool = None
    else:
        pool = mp.get_context("spawn").Pool(workers)
        results = pool.imap_unordered(_generate_chunk, jobs)
    try:
        for task, eps, arrays in results:
            parts[task][eps[0]] = arrays
            bar.update(len(eps) * T.horizon(task))
            if sum(a["rewards"].shape[0] for a in parts[task].values()) == spec.episodes:
                chunks = [parts[task][k] for k in sorted(parts[task])]
                _save_store(task, spec, {k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]}, paths[task])
                del parts[task]
    finally:
        bar.close()
        if pool is not None:
            pool.close()
            pool.join()
    return paths


@dataclasses.dataclass
class TaskData:
    """One task's store: arrays shaped [episodes, horizon, ...]."""

    task: str
    domain: str
    obs: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    rtg: np.ndarray
    success: np.ndarray
    returns: np.ndarray
    noise: np.ndarray
    slots: np.ndarray
    act_dim: int

    @property
    def target_return(self) -> float:
        """Evaluation target: the best episode return in the data."""
        return float(self.returns.max())


def load_task(task: str, spec: DataSpec, root: Path | None = None) -> TaskData:
    path = store_path(task, spec, root)
    if not path.is_file():
        ensure_data([task], spec, workers=1, root=root)
    with np.load(path) as z:
        return TaskData(task=task, domain=str(z["domain"]), obs=z["obs"], actions=z["actions"],
                        rewards=z["rewards"], rtg=z["rtg"], success=z["success"], returns=z["returns"],
                        noise=z["noise"], slots=z["slots"], act_dim=int(z["act_dim"]))


# --------------------------------------------------------------------------- training batches

@dataclasses.dataclass
class Batch:
    """K-step windows, left-padded. Token layout per step: [s, R, a1..a6, r] (see :mod:`l2m.model`)."""

    states: torch.Tensor     # [B, K, 204] float
    rtg: torch.Tensor        # [B, K] float, scaled by the domain's reward scale
    rewards: torch.Tensor    # [B, K] float, scaled
    actions: torch.Tensor    # [B, K, 6] long tokens (PAD_TOKEN at padded steps, ZERO_TOKEN at padded dims)
    act_mask: torch.Tensor   # [B, K, 6] bool: valid step and a real action dimension of the domain
    timesteps: torch.Tensor  # [B, K] long
    step_mask: torch.Tensor  # [B, K] bool
    task_ids: torch.Tensor   # [B] long (used by L2M-oracle only)

    def to(self, device) -> Batch:
        return Batch(**{f.name: getattr(self, f.name).to(device) for f in dataclasses.fields(self)})

    def __len__(self) -> int:
        return int(self.states.shape[0])


class SequenceDataset:
    """All transitions of several tasks, flattened, with vectorised window sampling (paper App. C).

    A trajectory is drawn with probability proportional to its length (times a per-domain weight), a start
    uniformly in [0, len), and the window [start, min(start + K, len)) is left-padded to K steps.
    """

    def __init__(self, stores: Sequence[TaskData], context: int, *, task_ids: Sequence[int] | None = None,
                 domain_weights: dict[str, float] | None = None):
        if not stores:
            raise ValueError("SequenceDataset needs at least one task store")
        self.context = context
        self.tasks = [s.task for s in stores]
        self.cols = np.unique(np.concatenate([s.slots for s in stores]))
        col_of = {int(c): i for i, c in enumerate(self.cols)}
        obs, acts, rtg, rew, steps, traj_start, traj_len, traj_task, traj_dom = [], [], [], [], [], [], [], [], []
        offset = 0
        ids = list(task_ids) if task_ids is not None else list(range(len(stores)))
        for s, tid in zip(stores, ids):
            E, H = s.rewards.shape
            flat = np.zeros((E * H, len(self.cols)), np.float32)
            flat[:, [col_of[int(c)] for c in s.slots]] = s.obs.reshape(E * H, -1)
            obs.append(flat)
            tok = np.full((E * H, T.ACT_DIM), ZERO_TOKEN, np.uint8)
            tok[:, : s.act_dim] = tokenize(s.actions.reshape(E * H, -1))
            acts.append(tok)
            scale = T.REWARD_SCALE[s.domain]
            rtg.append(s.rtg.reshape(-1) / scale)
            rew.append(s.rewards.reshape(-1) / scale)
            steps.append(np.tile(np.arange(H), E))
            traj_start.append(offset + H * np.arange(E))
            traj_len.append(np.full(E, H))
            traj_task.append(np.full(E, tid))
            traj_dom.append(np.full(E, s.domain))
            offset += E * H
        self.obs = torch.from_numpy(np.concatenate(obs))
        self.actions = torch.from_numpy(np.concatenate(acts))
        self.rtg = torch.from_numpy(np.concatenate(rtg).astype(np.float32))
        self.rewards = torch.from_numpy(np.concatenate(rew).astype(np.float32))
        self.timesteps = torch.from_numpy(np.concatenate(steps).astype(np.int64))
        self.traj_start = torch.from_numpy(np.concatenate(traj_start).astype(np.int64))
        self.traj_len = torch.from_numpy(np.concatenate(traj_len).astype(np.int64))
        self.traj_task = torch.from_numpy(np.concatenate(traj_task).astype(np.int64))
        dom = np.concatenate(traj_dom)
        self.act_dims = torch.tensor([s.act_dim for s in stores])
        self.traj_act_dim = torch.from_numpy(np.concatenate([np.full(s.rewards.shape[0], s.act_dim)
                                                             for s in stores]).astype(np.int64))
        weights = self.traj_len.double().numpy()
        if domain_weights:
            for d, w in domain_weights.items():
                sel = dom == d
                if sel.any():
                    weights[sel] = w * weights[sel] / weights[sel].sum()
        self.weights = torch.from_numpy(weights / weights.sum())
        self._cols_t = torch.from_numpy(self.cols.astype(np.int64))

    def __len__(self) -> int:
        return int(self.obs.shape[0])

    def state_stats(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-dimension mean and std of the 204-d union states over all transitions (0 / 0 where unused)."""
        mean, std = torch.zeros(T.STATE_DIM), torch.zeros(T.STATE_DIM)
        obs = self.obs.double()
        mean[self._cols_t] = obs.mean(0).float()
        std[self._cols_t] = obs.std(0).float()
        return mean, std

    def sample(self, batch_size: int, generator: torch.Generator | None = None) -> Batch:
        K = self.context
        traj = torch.multinomial(self.weights, batch_size, replacement=True, generator=generator)
        length = self.traj_len[traj]
        start = (torch.rand(batch_size, generator=generator) * length).long().clamp_max(length - 1)
        width = torch.minimum(length - start, torch.full_like(start, K))
        k = torch.arange(K)
        rel = start[:, None] + k[None, :] - (K - width[:, None])  # position within the trajectory
        valid = rel >= start[:, None]
        idx = self.traj_start[traj][:, None] + rel.clamp_min(0)
        idx = torch.where(valid, idx, self.traj_start[traj][:, None])
        states = torch.zeros(batch_size, K, T.STATE_DIM)
        states[..., self._cols_t] = self.obs[idx] * valid[..., None]
        actions = self.actions[idx].long()
        act_mask = (torch.arange(T.ACT_DIM)[None, None, :] < self.traj_act_dim[traj][:, None, None]) & valid[..., None]
        actions = torch.where(valid[..., None], actions, torch.full_like(actions, PAD_TOKEN))
        return Batch(states=states, rtg=self.rtg[idx] * valid, rewards=self.rewards[idx] * valid, actions=actions,
                     act_mask=act_mask, timesteps=self.timesteps[idx] * valid, step_mask=valid,
                     task_ids=self.traj_task[traj])
