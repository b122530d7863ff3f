"""Environments with one interface for both domains, and the scripted experts that generate the offline data.

* Meta-World v3 (paper Sec. 4.1): goal-observable 39-d state, initial object/goal positions re-randomised at
  every reset, 200-step episodes, success = ``info["success"]`` at **any** step.
* DMControl (dm_control suite): the observation dict flattened in spec order; :attr:`TaskEnv.slots` says
  where each raw dim lives in the 204-d union state (:data:`l2m.tasks.DMC_OBS_SLOTS`). 1000-step episodes.

Scripted experts: Meta-World ships one per task (``metaworld.policies``); for DMControl we wrote hand
controllers for the four DMC10 tasks that have a simple one (PD, damped least-squares IK, energy pumping).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Callable

import numpy as np

from l2m import tasks as T

os.environ.setdefault("MUJOCO_GL", "egl")


class TaskEnv:
    """One episode at a time: ``reset(seed) -> obs``; ``step(action) -> (obs, reward, success)`` (raw obs)."""

    task: str
    domain: str
    horizon: int
    act_dim: int
    slots: np.ndarray  # indices of the raw observation dims in the 204-d union state

    def reset(self, seed: int) -> np.ndarray:
        raise NotImplementedError

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool]:
        raise NotImplementedError

    @property
    def obs_dim(self) -> int:
        return int(self.slots.size)


class MetaWorldEnv(TaskEnv):
    """A Meta-World v3 task with the goal in the observation and random initial positions at every reset."""

    def __init__(self, task: str):
        from metaworld.env_dict import ALL_V3_ENVIRONMENTS_GOAL_OBSERVABLE

        if task not in T.MT50:
            raise ValueError(f"unknown Meta-World task {task!r} (allowed: the 50 MT50 v3 names)")
        self.task, self.domain, self.horizon, self.act_dim = task, "mw", T.MW_HORIZON, T.MW_ACT_DIM
        self.slots = np.arange(T.MW_OBS_DIM)
        self._env = ALL_V3_ENVIRONMENTS_GOAL_OBSERVABLE[f"{task}-goal-observable"](seed=0)
        # the goal-observable class freezes the random vector after construction: re-enable it, drawn from the
        # env's own seeded generator so that reset(seed) is reproducible
        self._env._freeze_rand_vec = False
        self._env.seeded_rand_vec = True
        self._t = 0

    def reset(self, seed: int) -> np.ndarray:
        self._env.seed(int(seed))
        obs, _ = self._env.reset()
        self._t = 0
        return obs.astype(np.float32)

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool]:
        if self._t >= self.horizon:
            raise RuntimeError(f"{self.task}: episode is over after {self.horizon} steps; call reset")
        obs, reward, _, _, info = self._env.step(np.clip(np.asarray(action, dtype=np.float64)[:4], -1.0, 1.0))
        self._t += 1
        return obs.astype(np.float32), float(reward), bool(info["success"] > 0)


class DMCEnv(TaskEnv):
    """A dm_control suite task; ``success`` is always False (DMControl is scored by normalised return)."""

    def __init__(self, task: str):
        from dm_control import suite

        domain, name = task.split("-", 1)
        self.task, self.domain, self.horizon = task, "dmc", T.DMC_HORIZON
        self._suite, self._domain, self._name = suite, domain, name
        self._env = suite.load(domain, name, task_kwargs={"random": 0})
        self.act_dim = int(self._env.action_spec().shape[0])
        shapes = OrderedDict((k, tuple(v.shape)) for k, v in self._env.observation_spec().items())
        self.slots = T.dmc_slot_indices(shapes)
        self.last_observation: OrderedDict | None = None

    @property
    def physics(self):
        return self._env.physics

    def _flat(self, observation) -> np.ndarray:
        self.last_observation = observation
        return np.concatenate([np.atleast_1d(np.asarray(v, np.float32)).ravel() for v in observation.values()])

    def reset(self, seed: int) -> np.ndarray:
        # a fresh RandomState per episode makes reset(seed) reproducible
        self._env.task._random = np.random.RandomState(int(seed) % 2**32)
        return self._flat(self._env.reset().observation)

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool]:
        a = np.clip(np.asarray(action, dtype=np.float64)[: self.act_dim], -1.0, 1.0)
        ts = self._env.step(a)
        return self._flat(ts.observation), float(ts.reward or 0.0), False


def make_env(task: str) -> TaskEnv:
    return MetaWorldEnv(task) if T.domain_of(task) == "mw" else DMCEnv(task)


# --------------------------------------------------------------------------- scripted experts

def _dmc_point_mass(env: DMCEnv) -> np.ndarray:
    o = env.last_observation
    return -5.0 * o["position"] - 1.0 * o["velocity"]


def _dmc_cartpole_balance(env: DMCEnv) -> np.ndarray:
    o = env.last_observation
    x, _, sin = o["position"]
    xd, thd = o["velocity"]
    return np.array([20.0 * sin + 3.0 * thd + 1.0 * x + 2.0 * xd])


def _dmc_pendulum_swingup(env: DMCEnv) -> np.ndarray:
    """Energy pumping (E -> m g l, the upright energy) and a PD controller near the top."""
    cos, sin = env.last_observation["orientation"]
    w = float(env.last_observation["velocity"][0])
    if cos > 0.85:
        return np.array([-10.0 * np.arctan2(sin, cos) - 1.0 * w])
    energy = 0.5 * 0.25 * w * w + 9.81 * 0.5 * cos  # point mass 1 kg at 0.5 m
    return np.array([2.0 * (4.905 - energy) * np.sign(w) if abs(w) > 1e-3 else 1.0])


def _dmc_reacher(env: DMCEnv) -> np.ndarray:
    """Damped least-squares inverse kinematics towards the target, PD in joint space."""
    import mujoco

    p = env.physics
    m, d = p.model.ptr, p.data.ptr
    gid = p.model.name2id("finger", "geom")
    jacp = np.zeros((3, m.nv))
    mujoco.mj_jac(m, d, jacp, None, d.geom_xpos[gid], m.geom_bodyid[gid])
    jac = jacp[:2]
    dq = jac.T @ np.linalg.solve(jac @ jac.T + 0.01 * np.eye(2), env.last_observation["to_target"])
    return 10.0 * dq - 0.5 * env.last_observation["velocity"]


_DMC_EXPERTS: dict[str, Callable[[DMCEnv], np.ndarray]] = {
    "cartpole-balance": _dmc_cartpole_balance,
    "pendulum-swingup": _dmc_pendulum_swingup,
    "point_mass-easy": _dmc_point_mass,
    "reacher-hard": _dmc_reacher,
}


def scripted_policy(task: str) -> Callable[[TaskEnv, np.ndarray], np.ndarray]:
    """The scripted expert of ``task``: ``policy(env, obs) -> action`` in [-1, 1]^act_dim."""
    if T.domain_of(task) == "mw":
        from metaworld.policies import ENV_POLICY_MAP

        expert = ENV_POLICY_MAP[task]()
        return lambda env, obs: np.clip(expert.get_action(obs.astype(np.float64)), -1.0, 1.0)
    if task not in _DMC_EXPERTS:
        raise ValueError(f"no scripted controller for {task!r} (allowed: {', '.join(_DMC_EXPERTS)})")
    ctrl = _DMC_EXPERTS[task]
    return lambda env, obs: np.clip(ctrl(env), -1.0, 1.0)  # type: ignore[arg-type]
