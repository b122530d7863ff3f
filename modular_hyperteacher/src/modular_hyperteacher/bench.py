"""Entry point: ``python -m modular_hyperteacher.bench``: meta-training steps per second.

Ours (one jitted step: task sampling, vmapped inner loops, outer update) against two baselines:

* **naive** variants of our own code, in the same process, timings alternated (``repro_shared.timing.compare``):
  ANIL that recomputes its body at every inner step (the reference's algorithm) vs ours on cached features;
  the hypernetwork with tasks processed one after the other (``lax.map``) vs ``vmap``;
* optionally the **reference implementation** (smonsays/modular-hyperteacher) on the same config, run as a
  subprocess from a checkout and a Python environment you provide (``--reference-dir``, ``--reference-python``;
  the reference needs dm-haiku, ml_collections, chex and a ``wandb`` module: a no-op stub is put on its path).
  Its steps/s come from the wall-time difference of a run of N and one of 3N steps (its progress bar shows
  asynchronous dispatch, not compute). Nothing of the reference is part of this package.

Presets: ``cpu`` (E 8, meta-batch 32, 64 + 64 shots, widths hnet 32 / ANIL 512 / MAML 128: the reduced CPU config)
and ``reference`` (the reference's default sizes: widths 128 / 512 / 384, meta-batch 128, 256 + 256 shots).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

PRESETS = {
    "cpu": {"experts": 8, "meta_batch": 32, "shots": 64, "hidden": {"hnet_linear": 32, "hnet_deepmlp": 32,
                                                                     "anil": 512, "learned_init": 128}},
    "reference": {"experts": 8, "meta_batch": 128, "shots": 256, "hidden": {"hnet_linear": 128, "hnet_deepmlp": 128,
                                                                             "anil": 512, "learned_init": 384}},
}
STUDENTS = ("hnet_linear", "hnet_deepmlp", "anil", "learned_init")
MAX_REFERENCE_STEPS = 1000 // 3  # the reference evaluates every 1000 steps; its 3N-step run must stay below that
# (name, student, learner overrides); the second of each pair is the named naive baseline of the first
VARIANTS = [
    ("hnet_linear", "hnet_linear", {}),
    ("hnet_linear (naive: tasks sequential, lax.map)", "hnet_linear", {"vectorize_tasks": False}),
    ("anil (ours: cached body features)", "anil", {}),
    ("anil (naive: body recomputed every inner step)", "anil", {"cache_features": False}),
    ("hnet_deepmlp", "hnet_deepmlp", {}),
    ("learned_init (MAML)", "learned_init", {}),
]
STUB_WANDB = textwrap.dedent('''\
    """No-op stand-in for wandb (written by modular_hyperteacher.bench for timing the reference)."""
    import os
    run = type("Run", (), {"id": "bench"})()
    class Histogram:
        def __init__(self, *a, **k):
            pass
    def init(*a, dir=None, **k):
        if dir:
            os.makedirs(os.path.join(dir, "wandb"), exist_ok=True)
        return run
    def log(*a, **k):
        pass
    def finish(*a, **k):
        pass
''')


def time_ours(preset: dict, names: list[str], steps: int, repeats: int) -> dict[str, float]:
    """Meta-steps per second of our variants (medians of alternated repeats of ``steps``-step scans)."""
    from modular_hyperteacher.hyperteacher import HyperTeacher, HyperTeacherConfig

    teacher = HyperTeacher(HyperTeacherConfig(num_experts=preset["experts"]))
    out = {}
    for group in names:  # alternated only within one student's variants: with every variant in one loop the
        # hypernetwork measured a third slower on 2 cores (between calls of the slow ANIL variants)
        out.update(_time_group(teacher, preset, group, steps, repeats))
    return out


def _time_group(teacher, preset: dict, group: str, steps: int, repeats: int) -> dict[str, float]:
    import jax

    from modular_hyperteacher.fewshot import FewshotConfig, build_learner, make_train_chunk
    from repro_shared import timing

    fns = {}
    for name, student, overrides in VARIANTS:
        if name.split(" ")[0] != group:
            continue
        cfg = FewshotConfig(student=student, hidden_dim=preset["hidden"][student], meta_batch_size=preset["meta_batch"],
                            shots_support=preset["shots"], shots_query=preset["shots"])
        learner = build_learner(cfg, teacher, overrides)
        state = learner.init(jax.random.PRNGKey(0))
        chunk = make_train_chunk(learner, teacher, cfg, steps).lower(state, jax.random.PRNGKey(1)).compile()

        def run(chunk=chunk, state=state):
            jax.block_until_ready(chunk(state, jax.random.PRNGKey(1)))

        fns[name] = run
        print(f"compiled {name}", flush=True)
    timings = timing.compare(fns, warmup=1, repeats=repeats)
    return {k: steps / t.median_s for k, t in timings.items()}


def _reference_cmd(python: str, tmp: str, preset: dict, name: str, steps: int) -> list[str]:
    method = {"hnet_linear": "hnet_linear", "hnet_deepmlp": "hnet_deepmlp", "anil": "anil512",
              "learned_init": "learned_init384"}
    cmd = [python, "run_fewshot.py", f"--workdir={tmp}/logs",
           f"--config=configs/hyperteacher.py:{method[name]}",
           f"--config.dataset_num_experts={preset['experts']}",
           f"--config.meta_batch_size={preset['meta_batch']}",
           f"--config.dataset_shots_train={preset['shots']}",
           f"--config.dataset_shots_test={preset['shots']}",
           f"--config.base_model_hidden_dim={preset['hidden'][name]}", f"--config.steps_outer={steps}"]
    if name == "hnet_deepmlp":  # the shipped config's generator name raises ValueError
        cmd.append("--config.meta_model=deepmlp_hnet")
    return cmd


def time_reference(preset: dict, names: list[str], python: str, ref_dir: Path, steps: int, repeats: int = 1
                   ) -> dict:
    """Reference steps/s from the wall-time difference of two ``run_fewshot.py`` runs of ``steps`` and
    ``3 * steps`` outer steps.

    Everything else in a run (imports, compilation, the evaluations at its first and last step) is the same in
    both, so the difference is the cost of ``2 * steps`` meta-steps. Its own progress bar cannot be used: its
    training loop never waits for a step to finish (JAX dispatches asynchronously), so the bar shows how fast
    steps are queued, not computed. With ``3 * steps`` <= 1000 neither run hits its periodic evaluation.
    ``repeats`` pairs of runs per student: the median of their steps/s (a run's speed varies from process to
    process on 2 cores); every pair's figure is returned under ``"<name> pairs"``."""
    if not 1 <= steps <= MAX_REFERENCE_STEPS:
        raise ValueError(f"reference steps must be in [1, {MAX_REFERENCE_STEPS}], got {steps}")
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "wandb.py").write_text(STUB_WANDB)
        env = {**os.environ, "PYTHONPATH": tmp, "WANDB_MODE": "offline"}
        for name in names:
            pairs = []
            for _ in range(repeats):
                wall = {}
                for n in (steps, 3 * steps):
                    t0 = time.perf_counter()
                    proc = subprocess.run(_reference_cmd(python, tmp, preset, name, n), cwd=ref_dir, env=env,
                                          capture_output=True, text=True)
                    wall[n] = time.perf_counter() - t0
                    if proc.returncode != 0:
                        raise RuntimeError(f"reference run failed ({name}, {n} steps):\n{proc.stderr[-3000:]}")
                    print(f"reference {name}: {n} steps, {wall[n]:.1f} s wall", flush=True)
                extra = wall[3 * steps] - wall[steps]
                if extra <= 0:
                    raise RuntimeError(f"reference run of {name}: {3 * steps} steps not slower than {steps}; "
                                       "raise --reference-steps")
                pairs.append(2 * steps / extra)
            out[name] = float(np.median(pairs))
            out[f"{name} pairs"] = pairs
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m modular_hyperteacher.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", choices=sorted(PRESETS), default="cpu")
    parser.add_argument("--students", nargs="+", default=["hnet_linear", "anil"],
                        choices=STUDENTS)
    parser.add_argument("--steps", type=int, default=5, help="meta-steps per timed call")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--reference-dir", type=Path, default=None, help="checkout of smonsays/modular-hyperteacher")
    parser.add_argument("--reference-python", default=None, help="python of an environment that runs the reference")
    parser.add_argument("--reference-steps", type=int, default=100,
                        help="the reference runs N and 3N outer steps; steps/s = 2N / (wall-time difference)")
    parser.add_argument("--reference-repeats", type=int, default=1,
                        help="pairs of reference runs per student; the median steps/s is reported")
    parser.add_argument("--reference-students", nargs="+", default=None,
                        choices=STUDENTS,
                        help="students to time on the reference (default: --students)")
    parser.add_argument("--out", type=Path, default=None, help="write the figures as JSON here")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.repeats < 1 or args.reference_repeats < 1:
        parser.error("--steps, --repeats and --reference-repeats must be >= 1")
    if not 1 <= args.reference_steps <= MAX_REFERENCE_STEPS:
        parser.error(f"--reference-steps must be in [1, {MAX_REFERENCE_STEPS}] (the reference evaluates every 1000 "
                     f"steps), got {args.reference_steps}")
    if (args.reference_dir is None) != (args.reference_python is None):
        parser.error("--reference-dir and --reference-python go together")
    preset = PRESETS[args.preset]
    ours = time_ours(preset, args.students, args.steps, args.repeats)
    print(f"\npreset {args.preset}: {json.dumps(preset)}")
    print(f"{'variant':<52} {'steps/s':>9} {'vs naive':>9}")
    pairs = {VARIANTS[i][0]: VARIANTS[i + 1][0] for i in (0, 2)}
    for name, sps in ours.items():
        ratio = f"{sps / ours[pairs[name]]:.2f}x" if name in pairs and pairs[name] in ours else ""
        print(f"{name:<52} {sps:>9.3f} {ratio:>9}")
    result = {"preset": args.preset, "config": preset, "ours_steps_per_s": ours}
    if args.reference_dir is not None:
        ref = time_reference(preset, args.reference_students or args.students, args.reference_python,
                             args.reference_dir, args.reference_steps, args.reference_repeats)
        result["reference_steps_per_s"] = ref
        for name, sps in ref.items():
            if name.endswith(" pairs"):
                continue
            mine = next(v for k, v in ours.items() if k.split(" ")[0] == name)
            print(f"reference {name:<42} {sps:>9.3f} ours/reference {mine / sps:.2f}x")
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
