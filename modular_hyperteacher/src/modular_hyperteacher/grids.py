"""The compositional preference grid world (paper Sec. 6; reference ``metax/data/envs/preference.py``).

A 7x7 two-room grid with ``num_objects`` objects, each of one of ``num_features`` kinds, at random cells and the
agent at another. Walking onto an object collects it; the reward of an object of kind f is (B^T z)_f where the
rows of B (``num_preferences`` x ``num_features``, fixed N(0, 1)) are the preference modules and z the task's
code: a continuous combination of 1..num_hot preferences (weights in [0.5, 1)). Actions: nothing (ends the
episode), up, right, down, left. The targets of a task are the optimal action values Q(s, .) (value iteration,
discount 0.9, ``timelimit`` backups) along the greedy trajectories from random layouts; the student regresses them
from the observed grid (masked MSE over the steps before the episode ends). Module combinations are split into ID
and OOD as in the hyperteacher (``random``: 25% of the 92 combinations held out; ``non_compositional``: the last
preference is never used in training).

Observations are (7, 7, num_features + 2): object kinds one-hot (while not collected), the agent, the walls.
"""

from __future__ import annotations

import dataclasses
import itertools

import jax
import jax.numpy as jnp
import numpy as np

from modular_hyperteacher.hyperteacher import TaskBatch, k_hot, random_split

LAYOUT = ("wwwwwww",
          "w  w  w",
          "w  w  w",
          "ww   ww",
          "w  w  w",
          "w  w  w",
          "wwwwwww")
# nothing, up, right, down, left
MOVES = np.array([[0, 0], [-1, 0], [0, 1], [1, 0], [0, -1]])


@dataclasses.dataclass(frozen=True)
class PreferenceConfig:
    """Reference defaults (``configs/preference_grid.py``)."""

    num_preferences: int = 8
    num_features: int = 8
    num_objects: int = 4
    num_hot: int = 3
    continuous_combinations: bool = True
    discount: float = 0.9
    frac_ood: float = 0.25
    timelimit: int = 8
    task_support: str = "random"
    seed: int = 2023


class PreferenceGrid:
    """Layouts, value iteration and demonstrations, all jit-able; ``sample`` gives a :class:`TaskBatch`."""

    def __init__(self, cfg: PreferenceConfig):
        self.cfg = cfg
        self.walls = np.array([[c == "w" for c in row] for row in LAYOUT], np.float32)
        self.free = np.argwhere(self.walls == 0)  # (cells, 2)
        index = -np.ones(self.walls.shape, np.int32)
        index[tuple(self.free.T)] = np.arange(len(self.free))
        nxt = np.zeros((len(self.free), len(MOVES)), np.int32)
        for c, pos in enumerate(self.free):
            for a, move in enumerate(MOVES):
                r, q = pos + move
                nxt[c, a] = index[r, q] if self.walls[r, q] == 0 else c
        self.next_cell = jnp.asarray(nxt)
        self.free_j = jnp.asarray(self.free)
        self.basis = jax.random.normal(jax.random.PRNGKey(cfg.seed), (cfg.num_preferences, cfg.num_features))
        combos = [c for h in range(1, cfg.num_hot + 1) for c in itertools.combinations(range(cfg.num_preferences), h)]
        codes = k_hot(combos, cfg.num_preferences)
        if cfg.task_support == "random":
            self.codes_id, self.codes_ood = random_split(codes, cfg.frac_ood, cfg.seed)
        elif cfg.task_support == "non_compositional":
            held = codes[:, -1] == 1
            self.codes_id, self.codes_ood = codes[~held], codes[held]
        else:
            raise ValueError(f"task_support must be random or non_compositional, got {cfg.task_support!r}")
        self.num_masks = 2 ** cfg.num_objects

    @property
    def observation_dim(self) -> int:
        return int(self.walls.size * (self.cfg.num_features + 2))

    def sample_code(self, rng: jax.Array, split: str) -> jax.Array:
        pool = jnp.asarray(self.codes_ood if split == "ood" else self.codes_id)
        rng_idx, rng_w = jax.random.split(rng)
        code = pool[jax.random.randint(rng_idx, (), 0, len(pool))]
        if self.cfg.continuous_combinations:
            w = jax.random.exponential(rng_w, code.shape) * code
            w = w / (jnp.sum(w) + 1.0)
            code = (0.5 * w + 0.5) * code
        return code

    def q_values(self, object_rewards: jax.Array, object_cells: jax.Array) -> jax.Array:
        """Optimal action values Q[cell, available-objects mask, action] after ``timelimit`` backups."""
        cfg = self.cfg
        bits = (jnp.arange(self.num_masks)[:, None] >> jnp.arange(cfg.num_objects)) & 1  # (masks, objects)
        nxt = self.next_cell  # (cells, actions)
        picked = (nxt[:, :, None, None] == object_cells) & (bits[None, None] == 1)  # (cells, actions, masks, objects)
        reward = jnp.sum(picked * object_rewards, axis=-1)  # (cells, actions, masks)
        next_mask = jnp.sum((bits[None, None] * (1 - picked)) << jnp.arange(cfg.num_objects), axis=-1)
        q = jnp.zeros((len(self.free), self.num_masks, len(MOVES)))
        for _ in range(cfg.timelimit):
            v = jnp.max(q, axis=-1)  # (cells, masks)
            q = jnp.transpose(reward + cfg.discount * v[nxt[:, :, None], next_mask], (0, 2, 1))
        return q

    def observe(self, agent: jax.Array, mask: jax.Array, object_cells: jax.Array, features: jax.Array) -> jax.Array:
        cfg = self.cfg
        avail = (mask >> jnp.arange(cfg.num_objects)) & 1
        grid = jnp.zeros((*self.walls.shape, cfg.num_features + 2))
        pos = self.free_j[object_cells]
        grid = grid.at[pos[:, 0], pos[:, 1], features].set(avail.astype(jnp.float32))
        agent_pos = self.free_j[agent]
        grid = grid.at[agent_pos[0], agent_pos[1], -2].set(1.0)
        grid = grid.at[:, :, -1].set(jnp.asarray(self.walls))
        return grid.reshape(-1)

    def demonstrate(self, rng: jax.Array, code: jax.Array):
        """One random layout and its greedy optimal trajectory: observations (T, obs), Q (T, 5), mask (T,)."""
        cfg = self.cfg
        rng_feat, rng_pos = jax.random.split(rng)
        features = jax.random.randint(rng_feat, (cfg.num_objects,), 0, cfg.num_features)
        cells = jax.random.choice(rng_pos, len(self.free), (cfg.num_objects + 1,), replace=False)
        object_cells, agent0 = cells[:-1], cells[-1]
        rewards = (self.basis.T @ code)[features]
        q = self.q_values(rewards, object_cells)

        def step(carry, _):
            agent, mask, done = carry
            obs, qs = self.observe(agent, mask, object_cells, features), q[agent, mask]
            action = jnp.argmax(qs)
            new_agent = self.next_cell[agent, action]
            picked = (object_cells == new_agent) & (((mask >> jnp.arange(cfg.num_objects)) & 1) == 1)
            new_mask = mask - jnp.sum(picked * (1 << jnp.arange(cfg.num_objects)))
            agent = jnp.where(done, agent, new_agent)
            mask = jnp.where(done, mask, new_mask)
            return (agent, mask, done | (action == 0)), (obs, qs, ~done)

        init = (agent0, jnp.asarray(self.num_masks - 1), jnp.asarray(False))
        _, (obs, qs, valid) = jax.lax.scan(step, init, None, length=cfg.timelimit)
        return obs, qs, valid

    def sample(self, rng: jax.Array, num_tasks: int, shots_support: int, shots_query: int, split: str) -> TaskBatch:
        """Tasks (codes) with ``shots`` demonstrations each; y = [Q (5), valid-step mask] per time step."""
        rng_code, rng_demo = jax.random.split(rng)
        codes = jax.vmap(self.sample_code, in_axes=(0, None))(jax.random.split(rng_code, num_tasks), split)
        shots = shots_support + shots_query
        keys = jax.random.split(rng_demo, num_tasks * shots).reshape(num_tasks, shots, -1)
        obs, qs, valid = jax.vmap(jax.vmap(self.demonstrate, in_axes=(0, None)))(keys, codes)
        y = jnp.concatenate([qs, valid[..., None].astype(jnp.float32)], axis=-1)
        return episodes_to_tasks(obs, y, codes, shots_support)


def episodes_to_tasks(obs: jax.Array, y: jax.Array, codes: jax.Array, shots_support: int) -> TaskBatch:
    """Per-step arrays (tasks, episodes, T, ...) -> a :class:`TaskBatch` whose support set holds every step of the
    first ``shots_support`` episodes and whose query set holds the steps of the others (y = [target, mask])."""
    def flat(a, lo, hi):
        return a[:, lo:hi].reshape(a.shape[0], -1, a.shape[-1])

    shots = obs.shape[1]
    return TaskBatch(flat(obs, 0, shots_support), flat(y, 0, shots_support), flat(obs, shots_support, shots),
                     flat(y, shots_support, shots), codes)


def masked_mean(values: jax.Array, target: jax.Array) -> jax.Array:
    """Mean of per-step ``values`` over the valid steps (the last entry of ``target`` is the validity mask)."""
    mask = target[..., -1]
    return jnp.sum(mask * values) / jnp.maximum(jnp.sum(mask), 1.0)


def masked_q_loss(pred: jax.Array, target: jax.Array) -> jax.Array:
    """0.5 squared error summed over actions, mean over the valid steps (target = [Q, mask])."""
    return masked_mean(0.5 * jnp.sum((pred - target[..., :-1]) ** 2, axis=-1), target)


def optimal_action_accuracy(pred: jax.Array, target: jax.Array) -> jax.Array:
    """How often the greedy action of the predicted Q is an optimal action, over valid steps."""
    q = target[..., :-1]
    chosen = jnp.take_along_axis(q, jnp.argmax(pred, -1)[..., None], -1)[..., 0]
    return masked_mean(chosen >= jnp.max(q, -1) - 1e-6, target)
