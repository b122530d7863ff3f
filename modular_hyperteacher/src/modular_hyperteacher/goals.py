"""The compositional goals grid world (paper Sec. 6; reference ``metax/data/envs/grid.py``).

A task is a *goal* composed of four factors: the quadrant of the grid the goal object lies in, the interaction
to perform on it (one of ``num_interactions`` extra actions), the maze (one of ``num_mazes`` fixed wall layouts,
procedurally generated from the seed) and the kind of the goal object (one of ``num_objects``). With the
reference's sizes that is 4 x 2 x 5 x 5 = 200 goals; ``random`` holds out 25% of them (every factor value still
occurs in training), ``non_compositional`` holds out every goal in the last quadrant.

An episode of a goal places the goal object at a free cell of its quadrant, the agent at a free cell at least
``min_start_distance`` steps away (shortest path; the reference uses the grid size) and ``num_distractors``
objects of other kinds at further free cells. Actions: up, right, down, left (blocked by walls and the border),
then the interactions (no movement). The episode succeeds when the agent performs the goal's interaction on the
goal object's cell. Observations are (size, size, num_objects + 2): object kinds one-hot, walls, the agent; the
goal itself is not observed, the student infers it from one demonstration.

Demonstrations follow a breadth-first-search optimal policy (a shortest path, then the interaction); steps after
success are masked. The student imitates them (masked cross-entropy) and is scored by the accuracy of its
actions on held-out demonstrations and by the success rate of greedy roll-outs in fresh episodes.

The mazes are our own generator (randomized depth-first search on the even cells, then a fraction of the
remaining inner walls opened to create loops); the reference adapts mazelab's random-aisle generator.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections import deque
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from modular_hyperteacher.grids import episodes_to_tasks, masked_mean
from modular_hyperteacher.hyperteacher import TaskBatch, random_split

# up, right, down, left; the interactions follow (no movement)
MOVES = np.array([[-1, 0], [0, 1], [1, 0], [0, -1]])
FACTORS = ("quadrant", "interaction", "maze", "object")
GOAL_SUPPORTS = ("random", "non_compositional")


@dataclasses.dataclass(frozen=True)
class GoalsConfig:
    """Reference defaults (``configs/compositional_grid.py``)."""

    grid_size: int = 11
    num_interactions: int = 2
    num_mazes: int = 5
    num_objects: int = 5
    num_distractors: int = 4
    frac_ood: float = 0.25
    task_support: str = "random"
    min_start_distance: int | None = None  # None: grid_size, as the reference
    loop_fraction: float = 0.2  # fraction of the remaining inner walls opened after the depth-first search
    seed: int = 2023


def generate_maze(size: int, seed: int, loop_fraction: float = 0.2) -> np.ndarray:
    """A (size, size) maze, walls 1, free 0: randomized depth-first search over the cells with even coordinates
    (a spanning tree, every free cell reachable), then each remaining wall between two such cells opened with
    probability ``loop_fraction``. Deterministic given ``seed``."""
    if size < 5 or size % 2 == 0:
        raise ValueError(f"maze size must be odd and >= 5, got {size}")
    rng = np.random.default_rng(seed)
    grid = np.ones((size, size), np.int32)
    n = (size + 1) // 2  # cells per axis at coordinates 0, 2, ..., size - 1
    seen = np.zeros((n, n), bool)
    start = tuple(rng.integers(0, n, 2))
    stack, seen[start] = [start], True
    grid[2 * start[0], 2 * start[1]] = 0
    while stack:
        r, c = stack[-1]
        options = [(r + dr, c + dc) for dr, dc in MOVES if 0 <= r + dr < n and 0 <= c + dc < n
                   and not seen[r + dr, c + dc]]
        if not options:
            stack.pop()
            continue
        nr, nc = options[rng.integers(len(options))]
        seen[nr, nc] = True
        grid[2 * nr, 2 * nc] = grid[r + nr, c + nc] = 0  # the cell and the wall between
        stack.append((nr, nc))
    inner = [(r, c) for r in range(size) for c in range(size) if (r + c) % 2 == 1 and grid[r, c] == 1]
    for r, c in inner:
        if rng.random() < loop_fraction:
            grid[r, c] = 0
    return grid


def bfs_distances(maze: np.ndarray) -> np.ndarray:
    """All-pairs shortest-path lengths (cells indexed row-major) by breadth-first search from every free cell;
    -1 for walls and unreachable pairs."""
    size = maze.shape[0]
    dist = -np.ones((size * size, size * size), np.int32)
    for source in map(tuple, np.argwhere(maze == 0)):
        d = dist[source[0] * size + source[1]]
        d[source[0] * size + source[1]] = 0
        queue = deque([source])
        while queue:
            r, c = queue.popleft()
            for dr, dc in MOVES:
                nr, nc = r + dr, c + dc
                if 0 <= nr < size and 0 <= nc < size and maze[nr, nc] == 0 and d[nr * size + nc] < 0:
                    d[nr * size + nc] = d[r * size + c] + 1
                    queue.append((nr, nc))
    return dist


def transitions(maze: np.ndarray) -> np.ndarray:
    """next_cell[cell, move] for the four moves; blocked moves (wall, border) stay."""
    size = maze.shape[0]
    nxt = np.zeros((size * size, len(MOVES)), np.int32)
    for r, c in itertools.product(range(size), repeat=2):
        for a, (dr, dc) in enumerate(MOVES):
            nr, nc = r + dr, c + dc
            free = 0 <= nr < size and 0 <= nc < size and maze[nr, nc] == 0
            nxt[r * size + c, a] = nr * size + nc if free else r * size + c
    return nxt


def quadrant_masks(size: int) -> np.ndarray:
    """(4, size, size): top-left, top-right, bottom-left, bottom-right (the first half takes the middle row)."""
    half = (size + 1) // 2
    rows, cols = np.indices((size, size))
    top, left = rows < half, cols < half
    return np.stack([top & left, top & ~left, ~top & left, ~top & ~left]).astype(np.float32)


class Episode(NamedTuple):
    """One episode's layout: cells indexed row-major."""

    agent: jax.Array  # ()
    goal_cell: jax.Array  # ()
    distractor_cells: jax.Array  # (num_distractors,)
    distractor_kinds: jax.Array  # (num_distractors,)


class CompositionalGoals:
    """Mazes, BFS tables, goal splits and the (jit-able) episode, demonstration and roll-out functions.

    ``mazes`` (num_mazes, size, size) replaces the generated ones (tests: hand-made mazes)."""

    def __init__(self, cfg: GoalsConfig, mazes: np.ndarray | None = None):
        if cfg.task_support not in GOAL_SUPPORTS:
            raise ValueError(f"task_support must be one of {GOAL_SUPPORTS}, got {cfg.task_support!r}")
        if cfg.num_objects < 2 or cfg.num_interactions < 1 or cfg.num_mazes < 1:
            raise ValueError("need num_objects >= 2, num_interactions >= 1 and num_mazes >= 1")
        self.cfg = cfg
        size = cfg.grid_size
        if mazes is None:
            mazes = np.stack([generate_maze(size, cfg.seed + i, cfg.loop_fraction) for i in range(cfg.num_mazes)])
        if mazes.shape != (cfg.num_mazes, size, size):
            raise ValueError(f"mazes must have shape {(cfg.num_mazes, size, size)}, got {mazes.shape}")
        self.mazes_np = np.asarray(mazes, np.int32)
        self.dist_np = np.stack([bfs_distances(m) for m in self.mazes_np])  # (mazes, cells, cells)
        free = (self.mazes_np == 0).reshape(cfg.num_mazes, -1)
        for m in range(cfg.num_mazes):
            reach = self.dist_np[m][np.ix_(free[m], free[m])]
            if np.any(reach < 0):
                raise ValueError(f"maze {m} is not connected")
        nxt = np.stack([transitions(m) for m in self.mazes_np])  # (mazes, cells, moves)
        # BFS-optimal first move from every cell to every goal cell: a move that lowers the distance by one
        # (ties: the first in up, right, down, left order); undefined (0) where cell == goal or on walls
        after = np.take_along_axis(self.dist_np[:, :, None, :], nxt[:, :, :, None], axis=1)  # (m, cell, move, goal)
        self.policy_np = np.argmax(after == self.dist_np[:, :, None, :] - 1, axis=2).astype(np.int32)
        min_dist = size if cfg.min_start_distance is None else cfg.min_start_distance
        quad = quadrant_masks(size).reshape(4, -1)
        far = (self.dist_np >= min_dist).any(axis=1)  # (mazes, goal cell): some start far enough
        self.goal_cells_np = quad[None] * (free & far)[:, None]  # (mazes, quadrants, cells)
        if np.any(self.goal_cells_np.sum(-1) == 0):
            raise ValueError(f"some maze quadrant has no goal cell {min_dist} steps from a start")
        self.start_cells_np = (self.dist_np >= min_dist) & free[:, :, None]  # (mazes, start, goal)
        # horizon: the longest optimal demonstration (path + interaction)
        self.horizon = int(np.max(np.where(self.start_cells_np, self.dist_np, 0))) + 1

        goals = np.array(list(itertools.product(range(4), range(cfg.num_interactions), range(cfg.num_mazes),
                                                range(cfg.num_objects))), np.int32)
        if cfg.task_support == "random":
            self.goals_id, self.goals_ood = random_split(goals, cfg.frac_ood, cfg.seed)
            for f, name in enumerate(FACTORS):
                if len(np.unique(self.goals_id[:, f])) != len(np.unique(goals[:, f])):
                    raise ValueError(f"the random split left a {name} out of training; change seed or frac_ood")
        else:
            held = goals[:, 0] == 3
            self.goals_id, self.goals_ood = goals[~held], goals[held]
        self.factor_sizes = (4, cfg.num_interactions, cfg.num_mazes, cfg.num_objects)
        self.mazes, self.dist = jnp.asarray(self.mazes_np, jnp.float32), jnp.asarray(self.dist_np)
        self.next_cell, self.policy = jnp.asarray(nxt), jnp.asarray(self.policy_np)
        self.goal_cells, self.start_cells = jnp.asarray(self.goal_cells_np), jnp.asarray(self.start_cells_np)

    # -- shapes
    @property
    def num_actions(self) -> int:
        return len(MOVES) + self.cfg.num_interactions

    @property
    def observation_dim(self) -> int:
        return self.cfg.grid_size ** 2 * (self.cfg.num_objects + 2)

    @property
    def code_dim(self) -> int:
        return sum(self.factor_sizes)

    # -- goals
    def encode(self, goal: jax.Array) -> jax.Array:
        """(4,) factor indices -> concatenated one-hots (the task code that decoding recovers)."""
        return jnp.concatenate([jax.nn.one_hot(g, n) for g, n in zip(goal, self.factor_sizes)])

    def decode(self, code: jax.Array) -> jax.Array:
        """Inverse of :meth:`encode`."""
        bounds = np.cumsum((0,) + self.factor_sizes)
        return jnp.stack([jnp.argmax(code[lo:hi]) for lo, hi in zip(bounds[:-1], bounds[1:])])

    def sample_goal(self, rng: jax.Array, split: str) -> jax.Array:
        if split not in ("train", "test", "ood"):
            raise ValueError(f"split must be train, test or ood, got {split!r}")
        pool = jnp.asarray(self.goals_ood if split == "ood" else self.goals_id)
        return pool[jax.random.randint(rng, (), 0, len(pool))]

    # -- episodes
    def reset(self, rng: jax.Array, goal: jax.Array) -> Episode:
        quadrant, _, maze, kind = goal
        rng_goal, rng_agent, rng_cells, rng_kinds = jax.random.split(rng, 4)
        cells = jnp.arange(self.cfg.grid_size ** 2)
        goal_cell = jax.random.choice(rng_goal, cells, p=self.goal_cells[maze, quadrant])
        agent = jax.random.choice(rng_agent, cells, p=self.start_cells[maze, :, goal_cell].astype(jnp.float32))
        free = (1.0 - self.mazes[maze].reshape(-1)) * (cells != goal_cell) * (cells != agent)
        distractor_cells = jax.random.choice(rng_cells, cells, (self.cfg.num_distractors,), replace=False, p=free)
        others = jax.random.randint(rng_kinds, (self.cfg.num_distractors,), 0, self.cfg.num_objects - 1)
        distractor_kinds = others + (others >= kind)  # uniform over the kinds other than the goal's
        return Episode(agent, goal_cell, distractor_cells, distractor_kinds)

    def observe(self, ep: Episode, goal: jax.Array) -> jax.Array:
        cfg = self.cfg
        cells = cfg.grid_size ** 2
        grid = jnp.zeros((cells, cfg.num_objects + 2))
        grid = grid.at[ep.distractor_cells, ep.distractor_kinds].set(1.0)
        grid = grid.at[ep.goal_cell, goal[3]].set(1.0)
        grid = grid.at[:, -2].set(self.mazes[goal[2]].reshape(-1))
        grid = grid.at[ep.agent, -1].set(1.0)
        return grid.reshape(-1)

    def step(self, ep: Episode, goal: jax.Array, action: jax.Array) -> tuple[Episode, jax.Array]:
        """Move (or interact); success = the goal's interaction performed on the goal cell."""
        success = (action == len(MOVES) + goal[1]) & (ep.agent == ep.goal_cell)
        moved = self.next_cell[goal[2], ep.agent, jnp.minimum(action, len(MOVES) - 1)]
        agent = jnp.where(action < len(MOVES), moved, ep.agent)
        return ep._replace(agent=agent), success

    def optimal_action(self, ep: Episode, goal: jax.Array) -> jax.Array:
        """The BFS policy: a shortest-path move, or the goal's interaction on the goal cell."""
        move = self.policy[goal[2], ep.agent, ep.goal_cell]
        return jnp.where(ep.agent == ep.goal_cell, len(MOVES) + goal[1], move)

    def rollout(self, act: Callable[[jax.Array, Episode, jax.Array], jax.Array], ep: Episode, goal: jax.Array,
                rng: jax.Array | None = None, steps: int | None = None):
        """Run ``act(observation, episode, key) -> action`` for ``steps`` (default: the horizon) steps; returns
        the per-step observations, actions, validity (before success) and whether the episode succeeded."""

        def body(carry, key):
            ep, done = carry
            obs = self.observe(ep, goal)
            action = act(obs, ep, key)
            new_ep, success = self.step(ep, goal, action)
            ep = jax.tree_util.tree_map(lambda a, b: jnp.where(done, a, b), ep, new_ep)
            return (ep, done | success), (obs, action, ~done)

        keys = jax.random.split(jax.random.PRNGKey(0) if rng is None else rng, steps or self.horizon)
        (_, done), (obs, actions, valid) = jax.lax.scan(body, (ep, jnp.asarray(False)), keys)
        return obs, actions, valid, done

    def demonstrate(self, rng: jax.Array, goal: jax.Array):
        """One fresh episode and its BFS-optimal demonstration: observations (T, obs), actions (T,), valid (T,)."""
        ep = self.reset(rng, goal)
        obs, actions, valid, _ = self.rollout(lambda _, e, __: self.optimal_action(e, goal), ep, goal)
        return obs, actions, valid

    def sample(self, rng: jax.Array, num_tasks: int, shots_support: int, shots_query: int, split: str) -> TaskBatch:
        """Goals with ``shots_support + shots_query`` demonstrations each; y = [one-hot action, valid] per step."""
        rng_goal, rng_demo = jax.random.split(rng)
        goals = jax.vmap(self.sample_goal, in_axes=(0, None))(jax.random.split(rng_goal, num_tasks), split)
        keys = jax.random.split(rng_demo, num_tasks * (shots_support + shots_query))
        keys = keys.reshape(num_tasks, shots_support + shots_query, -1)
        obs, actions, valid = jax.vmap(jax.vmap(self.demonstrate, in_axes=(0, None)))(keys, goals)
        y = jnp.concatenate([jax.nn.one_hot(actions, self.num_actions), valid[..., None].astype(jnp.float32)], -1)
        return episodes_to_tasks(obs, y, jax.vmap(self.encode)(goals), shots_support)


def masked_action_loss(logits: jax.Array, target: jax.Array) -> jax.Array:
    """Cross-entropy of the demonstrated action, mean over the valid steps (target = [one-hot action, mask])."""
    return masked_mean(-jnp.sum(target[..., :-1] * jax.nn.log_softmax(logits, -1), -1), target)


def masked_action_accuracy(logits: jax.Array, target: jax.Array) -> jax.Array:
    """How often the greedy action is the demonstrated (BFS-optimal) one, over the valid steps."""
    return masked_mean(jnp.argmax(logits, -1) == jnp.argmax(target[..., :-1], -1), target)


def success_rate(env: CompositionalGoals, learner: Any, meta: Any, tasks: TaskBatch, rng: jax.Array, *,
                 episodes: int, chunk: int) -> jax.Array:
    """Per-task success rate of the adapted student's greedy policy in ``episodes`` fresh episodes of the task's
    goal (the student adapts on the task's support demonstrations; the query demonstrations are unused)."""
    n = tasks.codes.shape[0]
    chunk = min(chunk, n)
    if n % chunk:
        raise ValueError(f"number of tasks ({n}) must be a multiple of the chunk ({chunk})")

    @jax.jit
    def rates(meta, tasks, rng):
        def one_task(args):
            fast, goal, key = args

            def episode(k):
                act = lambda obs, _, __: jnp.argmax(learner.predict(meta, fast, obs))  # noqa: E731
                return env.rollout(act, env.reset(k, goal), goal)[3]

            return jnp.mean(jax.vmap(episode)(jax.random.split(key, episodes)).astype(jnp.float32))

        rng_adapt, rng_roll = jax.random.split(rng)
        fast = learner.evaluate(meta, tasks, rng_adapt, chunk=chunk, return_fast=True)["fast"]
        goals = jax.vmap(env.decode)(tasks.codes)
        args = (fast, goals, jax.random.split(rng_roll, n))
        args = jax.tree_util.tree_map(lambda a: a.reshape(n // chunk, chunk, *a.shape[1:]), args)
        return jax.lax.map(jax.vmap(one_task), args).reshape(n)

    return rates(meta, tasks, rng)


def random_policy_success(env: CompositionalGoals, rng: jax.Array, split: str, num_tasks: int) -> jax.Array:
    """Success rate of a uniformly random policy (one episode per sampled goal): the chance level."""
    def one(key):
        k_goal, k_ep, k_act = jax.random.split(key, 3)
        goal = env.sample_goal(k_goal, split)
        act = lambda _, __, k: jax.random.randint(k, (), 0, env.num_actions)  # noqa: E731
        return env.rollout(act, env.reset(k_ep, goal), goal, k_act)[3]

    return jax.jit(lambda r: jnp.mean(jax.vmap(one)(jax.random.split(r, num_tasks)).astype(jnp.float32)))(rng)
