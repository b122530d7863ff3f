"""Compositional goals grid world: maze generator, splits, BFS optimality, demonstrations, a tiny imitation run."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from modular_hyperteacher.goals import (
    MOVES,
    CompositionalGoals,
    GoalsConfig,
    bfs_distances,
    generate_maze,
    masked_action_accuracy,
    masked_action_loss,
    random_policy_success,
    success_rate,
)

# a hand-made 5x5 maze (1 = wall): from the top-left corner to the bottom-left corner the only route winds
# right along row 0, down column 4, left along row 2, down column 0 ... 12 moves
HAND = np.array([[0, 0, 0, 0, 0],
                 [1, 1, 1, 1, 0],
                 [0, 0, 0, 0, 0],
                 [0, 1, 1, 1, 1],
                 [0, 0, 0, 0, 0]])


@pytest.fixture(scope="module")
def env():
    return CompositionalGoals(GoalsConfig())


@pytest.fixture(scope="module")
def hand_env():
    cfg = GoalsConfig(grid_size=5, num_mazes=1, num_objects=2, num_interactions=1, num_distractors=1,
                      min_start_distance=1, frac_ood=0.25)
    return CompositionalGoals(cfg, mazes=HAND[None])


def test_generator_is_deterministic_and_connected():
    a, b, c = generate_maze(11, 7), generate_maze(11, 7), generate_maze(11, 8)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    free = np.argwhere(a == 0)
    dist = bfs_distances(a)
    idx = free[:, 0] * 11 + free[:, 1]
    assert np.all(dist[np.ix_(idx, idx)] >= 0)  # one connected component
    assert np.all(a[::2, ::2] == 0) and np.all(a[1::2, 1::2] == 1)  # cells free, pillars walls
    e1, e2 = CompositionalGoals(GoalsConfig(seed=3)), CompositionalGoals(GoalsConfig(seed=3))
    np.testing.assert_array_equal(e1.mazes_np, e2.mazes_np)
    np.testing.assert_array_equal(e1.goals_ood, e2.goals_ood)


def test_splits_hold_out_combinations(env):
    assert (len(env.goals_id), len(env.goals_ood)) == (150, 50)  # 4 * 2 * 5 * 5 = 200 goals, 25% OOD
    ood = {g.tobytes() for g in env.goals_ood}
    assert not ood & {g.tobytes() for g in env.goals_id}
    for f in range(4):  # every factor value is seen in training: OOD goals are new *combinations*
        assert set(env.goals_ood[:, f]) <= set(env.goals_id[:, f])
    # the training sampler never yields an OOD goal, the OOD sampler only OOD goals
    sample = jax.jit(jax.vmap(env.sample_goal, in_axes=(0, None)), static_argnums=1)
    train = np.asarray(sample(jax.random.split(jax.random.PRNGKey(0), 2000), "train"), np.int32)
    assert not any(g.tobytes() in ood for g in train)
    assert len({g.tobytes() for g in train}) == 150
    batch = jax.jit(env.sample, static_argnums=(1, 2, 3, 4))(jax.random.PRNGKey(1), 16, 1, 1, "ood")
    goals = np.asarray(jax.vmap(env.decode)(batch.codes), np.int32)
    assert all(g.tobytes() in ood for g in goals)
    nc = CompositionalGoals(GoalsConfig(task_support="non_compositional"))
    assert np.all(nc.goals_id[:, 0] < 3) and np.all(nc.goals_ood[:, 0] == 3)


def test_bfs_distances_match_floyd_warshall(env):
    maze = env.mazes_np[0]
    n = maze.size
    big = 10 ** 6
    d = np.full((n, n), big)
    np.fill_diagonal(d, 0)
    for r, c in itertools.product(range(maze.shape[0]), repeat=2):
        for dr, dc in MOVES:
            nr, nc = r + dr, c + dc
            if 0 <= nr < maze.shape[0] and 0 <= nc < maze.shape[0] and maze[r, c] == 0 == maze[nr, nc]:
                d[r * maze.shape[0] + c, nr * maze.shape[0] + nc] = 1
    for k in range(n):
        d = np.minimum(d, d[:, k:k + 1] + d[k:k + 1, :])
    free = (maze == 0).reshape(-1)
    np.testing.assert_array_equal(env.dist_np[0][np.ix_(free, free)], d[np.ix_(free, free)])


def test_demonstration_is_shortest_path_on_hand_maze(hand_env):
    assert hand_env.dist_np[0][0, 20] == 12 and hand_env.horizon == 16 + 1  # farthest pair: corner to (4, 4)
    ep = hand_env.reset(jax.random.PRNGKey(0), jnp.array([0, 0, 0, 0]))
    ep = ep._replace(agent=jnp.asarray(20), goal_cell=jnp.asarray(0))  # bottom-left -> top-left
    goal = jnp.array([0, 0, 0, 1])
    obs, actions, valid, success = hand_env.rollout(lambda _, e, __: hand_env.optimal_action(e, goal), ep, goal)
    # up (to row 3), up (row 2), right x 4, up, up, left x 4, then the interaction (action 4)
    expected = [0, 0, 1, 1, 1, 1, 0, 0, 3, 3, 3, 3, 4]
    np.testing.assert_array_equal(np.asarray(actions)[:13], expected)
    np.testing.assert_array_equal(np.asarray(valid), np.arange(hand_env.horizon) < 13)
    assert bool(success)
    grid = np.asarray(obs).reshape(hand_env.horizon, 5, 5, -1)
    np.testing.assert_array_equal(grid[0, :, :, -2], HAND)
    assert grid[0, 4, 0, -1] == 1 and grid[0, 0, 0, 1] == 1  # agent, goal object of kind 1


def test_random_demonstrations_are_optimal_and_succeed(env):
    rngs = jax.random.split(jax.random.PRNGKey(3), 64)
    goals = jax.vmap(env.sample_goal, in_axes=(0, None))(rngs, "train")

    def one(rng, goal):
        ep = env.reset(rng, goal)
        _, _, valid, success = env.rollout(lambda _, e, __: env.optimal_action(e, goal), ep, goal)
        return env.dist[goal[2], ep.agent, ep.goal_cell], jnp.sum(valid), success, ep

    dist, length, success, eps = jax.jit(jax.vmap(one))(rngs, goals)
    assert np.all(np.asarray(success))
    np.testing.assert_array_equal(np.asarray(length), np.asarray(dist) + 1)  # shortest path + the interaction
    assert np.all(np.asarray(dist) >= env.cfg.grid_size)  # starts at least grid_size steps away
    quadrant = env.goal_cells_np[np.asarray(goals[:, 2]), np.asarray(goals[:, 0]), np.asarray(eps.goal_cell)]
    assert np.all(quadrant == 1)
    cells = np.concatenate([np.asarray(eps.agent)[:, None], np.asarray(eps.goal_cell)[:, None],
                            np.asarray(eps.distractor_cells)], 1)
    assert all(len(set(row)) == len(row) for row in cells)  # distinct cells
    assert not np.any(np.asarray(eps.distractor_kinds) == np.asarray(goals[:, 3:4]))


def test_sample_and_masked_imitation_loss(env):
    batch = jax.jit(env.sample, static_argnums=(1, 2, 3, 4))(jax.random.PRNGKey(0), 3, 1, 1, "train")
    t = env.horizon
    assert batch.x_support.shape == (3, t, env.observation_dim) and batch.y_query.shape == (3, t, 7)
    y = batch.y_support[0]
    perfect = 50.0 * y[:, :-1]
    assert float(masked_action_loss(perfect, y)) < 1e-6 and float(masked_action_accuracy(perfect, y)) == 1.0
    uniform = jnp.zeros_like(y[:, :-1])
    assert float(masked_action_loss(uniform, y)) == pytest.approx(np.log(6), rel=1e-6)
    garbage = jnp.where(y[:, -1:] > 0, 0.0, 1e6) * jnp.ones((1, 6))
    assert float(masked_action_loss(perfect + garbage, y)) < 1e-6  # steps after success do not count


class _ObservingLearner:
    """A stand-in student whose 'fast parameters' are the task code: it reads the agent and the goal object off
    the observation and acts as the BFS demonstrator (``lazy``: always moves up)."""

    def __init__(self, env, lazy=False):
        self.env, self.lazy = env, lazy

    def evaluate(self, meta, tasks, rng, *, chunk, return_fast):
        return {"fast": tasks.codes}

    def predict(self, meta, code, obs):
        env = self.env
        goal = env.decode(code)
        grid = obs.reshape(env.cfg.grid_size ** 2, -1)
        agent, goal_cell = jnp.argmax(grid[:, -1]), jnp.argmax(grid[:, goal[3]])
        action = jnp.where(agent == goal_cell, 4 + goal[1], env.policy[goal[2], agent, goal_cell])
        return jax.nn.one_hot(0 if self.lazy else action, env.num_actions)


def test_success_rate_of_an_observing_demonstrator(env):
    tasks = jax.jit(env.sample, static_argnums=(1, 2, 3, 4))(jax.random.PRNGKey(2), 8, 1, 1, "ood")
    rates = success_rate(env, _ObservingLearner(env), None, tasks, jax.random.PRNGKey(3), episodes=2, chunk=4)
    np.testing.assert_array_equal(np.asarray(rates), 1.0)  # the observation determines the optimal action
    rates = success_rate(env, _ObservingLearner(env, lazy=True), None, tasks, jax.random.PRNGKey(3), episodes=2,
                         chunk=4)
    np.testing.assert_array_equal(np.asarray(rates), 0.0)
    assert float(random_policy_success(env, jax.random.PRNGKey(4), "ood", 64)) < 0.05


def test_tiny_imitation_run_learns():
    """hnet_linear on a 7x7, 2-maze world: after 200 meta-steps the adapted student imitates the demonstrator on
    held-out demonstrations of ID and OOD goals far better than a random policy (accuracy 1/6)."""
    from modular_hyperteacher.fewshot import FewshotConfig, run_fewshot
    from modular_hyperteacher.metalearn import MetaLearner, MetaLearnerConfig
    from modular_hyperteacher.students import make_student

    env = CompositionalGoals(GoalsConfig(grid_size=7, num_mazes=2, num_objects=3, num_distractors=2,
                                         min_start_distance=3, seed=0))
    net = make_student("hnet_linear", input_dim=env.observation_dim, output_dim=env.num_actions, hidden_dim=32,
                       num_hidden=2, num_modules=8)
    learner = MetaLearner(net, MetaLearnerConfig(10, 0.3, None, outer_lr=1e-2, max_grad_norm=2.0),
                          loss_fn=masked_action_loss, metric_fn=masked_action_accuracy)
    cfg = FewshotConfig(student="hnet_linear", steps=200, meta_batch_size=16, shots_support=2, shots_query=2,
                        eval_every=200, eval_tasks=32, eval_chunk=32, seed=0, decode_tasks=32)
    out = run_fewshot(env, cfg, learner=learner, decode=False)
    first, last = out["history"][0], out["history"][-1]
    assert last["test_loss"] < first["test_loss"] - 0.4
    assert last["test_acc"] > 1.0 / env.num_actions + 0.3
    assert last["ood_acc"] > 1.0 / env.num_actions + 0.2
