"""Task sets, reward scales, the shared state layout and score normalisation (paper Sec. 4 and App. C).

The multi-domain Decision Transformer (MDDT) sees one 204-d state space: Meta-World's 39-d observation fills
dims 0:39; every DMControl observation key owns a fixed slot of the union of all DMControl observation keys
(the layout of the reference implementation, ``orientations`` 0:14 ... ``height`` 203). Absent dims are 0.
"""

from __future__ import annotations

import math

import numpy as np

STATE_DIM = 204
ACT_DIM = 6
MW_OBS_DIM = 39
MW_ACT_DIM = 4
MW_HORIZON = 200
DMC_HORIZON = 1000

#: Reward scales of the reference configs: RTG and reward tokens are divided by these.
REWARD_SCALE = {"mw": 200.0, "dmc": 100.0}

#: Continual-World CW10 in its canonical order (Wolczyk et al., 2021), Meta-World v3 names.
CW10 = (
    "hammer-v3", "push-wall-v3", "faucet-close-v3", "push-back-v3", "stick-pull-v3",
    "handle-press-side-v3", "push-v3", "shelf-place-v3", "window-close-v3", "peg-unplug-side-v3",
)

#: All 50 Meta-World tasks (MT50), in metaworld's ordering.
MT50 = (
    "assembly-v3", "basketball-v3", "bin-picking-v3", "box-close-v3", "button-press-topdown-v3",
    "button-press-topdown-wall-v3", "button-press-v3", "button-press-wall-v3", "coffee-button-v3",
    "coffee-pull-v3", "coffee-push-v3", "dial-turn-v3", "disassemble-v3", "door-close-v3", "door-lock-v3",
    "door-open-v3", "door-unlock-v3", "hand-insert-v3", "drawer-close-v3", "drawer-open-v3", "faucet-open-v3",
    "faucet-close-v3", "hammer-v3", "handle-press-side-v3", "handle-press-v3", "handle-pull-side-v3",
    "handle-pull-v3", "lever-pull-v3", "peg-insert-side-v3", "pick-place-wall-v3", "pick-out-of-hole-v3",
    "reach-v3", "push-back-v3", "push-v3", "pick-place-v3", "plate-slide-v3", "plate-slide-side-v3",
    "plate-slide-back-v3", "plate-slide-back-side-v3", "peg-unplug-side-v3", "soccer-v3", "stick-push-v3",
    "stick-pull-v3", "push-wall-v3", "reach-wall-v3", "shelf-place-v3", "sweep-into-v3", "sweep-v3",
    "window-open-v3", "window-close-v3",
)

#: MT40: the pre-training tasks, MT50 without CW10 (paper Sec. 4.1).
MT40 = tuple(t for t in MT50 if t not in CW10)

#: DMC10 of the paper (pre-training); we generate data for the four tasks a hand controller solves.
DMC10 = (
    "cartpole-balance", "finger-turn_easy", "finger-turn_hard", "fish-upright", "hopper-stand",
    "pendulum-swingup", "point_mass-easy", "reacher-hard", "walker-stand", "walker-run",
)
#: The DMC10 tasks with a scripted controller in :mod:`l2m.envs` (no SAC training on 2 CPU cores).
DMC_SCRIPTED = ("cartpole-balance", "pendulum-swingup", "point_mass-easy", "reacher-hard")

#: Union of all DMControl observation keys: key -> (start, width) in the 204-d state (reference layout).
DMC_OBS_SLOTS: dict[str, tuple[int, int]] = {
    "orientations": (0, 14), "velocity": (14, 27), "position": (41, 8), "touch": (49, 5),
    "target_position": (54, 2), "dist_to_target": (56, 1), "joint_angles": (57, 21), "upright": (78, 1),
    "target": (79, 3), "head_height": (82, 1), "extremities": (83, 12), "torso_vertical": (95, 3),
    "com_velocity": (98, 3), "arm_pos": (101, 16), "arm_vel": (117, 8), "hand_pos": (125, 4),
    "object_pos": (129, 4), "object_vel": (133, 3), "target_pos": (136, 4), "orientation": (140, 2),
    "to_target": (142, 2), "joints": (144, 14), "body_velocities": (158, 45), "height": (203, 1),
}

#: DMControl data-normalised scores of the paper: task -> (random return, mean return of the paper's data).
DMC_NORM = {
    "cartpole-balance": (350.391, 938.506), "cartpole-swingup": (27.414, 766.15), "cheetah-run": (3.207, 324.045),
    "finger-spin": (0.2, 834.629), "finger-turn_easy": (57.8, 800.645), "finger-turn_hard": (40.6, 676.144),
    "fish-upright": (229.406, 547.962), "hopper-stand": (1.296, 266.783), "pendulum-swingup": (0.0, 614.491),
    "point_mass-easy": (1.341, 779.273), "reacher-easy": (33.0, 849.241), "reacher-hard": (8.0, 779.947),
    "walker-run": (23.427, 344.794), "walker-stand": (134.701, 816.322), "walker-walk": (30.193, 773.174),
    "ball_in_cup-catch": (0.0, 926.719),
}


def domain_of(task: str) -> str:
    """``"mw"`` for a Meta-World task, ``"dmc"`` for a DMControl ``domain-task`` name."""
    if task in MT50:
        return "mw"
    if task.split("-")[0] in {k.split("-")[0] for k in DMC_NORM} or task in DMC10:
        return "dmc"
    raise ValueError(f"unknown task {task!r}: expected a Meta-World v3 name (e.g. 'push-v3') or a DMControl "
                     f"'domain-task' name (e.g. 'cartpole-balance')")


def horizon(task: str) -> int:
    return MW_HORIZON if domain_of(task) == "mw" else DMC_HORIZON


def dmc_slot_indices(obs_spec_shapes: dict[str, tuple[int, ...]]) -> np.ndarray:
    """Indices into the 204-d state of a DMControl observation flattened in ``obs_spec_shapes`` key order."""
    idx = []
    for key, shape in obs_spec_shapes.items():
        start, width = DMC_OBS_SLOTS[key]
        n = int(np.prod(shape)) if len(shape) else 1
        if n > width:
            raise ValueError(f"observation {key!r} has {n} dims but its slot holds {width}")
        idx.extend(range(start, start + n))
    return np.asarray(idx, dtype=np.int64)


def dmc_to_union(observation: dict[str, np.ndarray]) -> np.ndarray:
    """Write a DMControl observation dict into the 204-d union state (absent keys stay 0)."""
    out = np.zeros(STATE_DIM, dtype=np.float32)
    for key, value in observation.items():
        v = np.atleast_1d(np.asarray(value, dtype=np.float32)).ravel()
        start, _ = DMC_OBS_SLOTS[key]
        out[start:start + v.size] = v
    return out


def normalized_score(task: str, episode_return: float) -> float:
    """Data-normalised DMControl score (R - R_random) / (R_data - R_random) with the paper's constants."""
    if task not in DMC_NORM:
        return math.nan
    lo, hi = DMC_NORM[task]
    return (episode_return - lo) / (hi - lo)
