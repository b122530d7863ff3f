"""Entry point: ``python -m modular_hyperteacher.bench``: meta-training steps per second.

Ours (one jitted step: task sampling, vmapped inner loops, outer update) against two baselines:

* **naive** variants of our own code, in the same process, timings alternated (``repro_shared.timing.compare``):
  ANIL that recomputes its body at every inner step (the reference's algorithm) vs ours on cached features;
  the hypernetwork with tasks processed one after the other (``lax.map``) vs ``vmap``;
* optionally the **reference implementation** (smonsays/modular-hyperteacher) on the same config, run as a
  subprocess from a checkout and a Python environment you provide (``--reference-dir``, ``--reference-python``;
  the reference needs dm-haiku, ml_collections, chex and a ``wandb`` module: a no-op stub is put on its path).
  Its steps/s come from its own tqdm progress between the end of step 1 (after compilation and the first
  evaluation) and the final evaluation. Nothing of the reference is part of this package.

Presets: ``cpu`` (E 8, meta-batch 32, 64 + 64 shots, widths hnet 32 / ANIL 512 / MAML 128: the reduced CPU config)
and ``reference`` (the reference's default sizes: widths 128 / 512 / 384, meta-batch 128, 256 + 256 shots).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

PRESETS = {
    "cpu": {"experts": 8, "meta_batch": 32, "shots": 64, "hidden": {"hnet_linear": 32, "hnet_deepmlp": 32,
                                                                     "anil": 512, "learned_init": 128}},
    "reference": {"experts": 8, "meta_batch": 128, "shots": 256, "hidden": {"hnet_linear": 128, "hnet_deepmlp": 128,
                                                                             "anil": 512, "learned_init": 384}},
}
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
    import jax

    from modular_hyperteacher.fewshot import FewshotConfig, build_learner, make_train_chunk
    from modular_hyperteacher.hyperteacher import HyperTeacher, HyperTeacherConfig
    from repro_shared import timing

    teacher = HyperTeacher(HyperTeacherConfig(num_experts=preset["experts"]))
    fns = {}
    for name, student, overrides in VARIANTS:
        if name.split(" ")[0] not in names:
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


def _tqdm_progress(stderr: str) -> list[tuple[int, float]]:
    """(steps done, elapsed seconds) of every tqdm update in a captured stderr."""
    out = []
    for n, h, m, sec in re.findall(r"(\d+)/\d+ \[(?:(\d+):)?(\d+):(\d+)", stderr):
        out.append((int(n), 3600 * int(h or 0) + 60 * int(m) + int(sec)))
    return out


def time_reference(preset: dict, names: list[str], python: str, ref_dir: Path, steps: int) -> dict:
    """Reference steps/s from one ``run_fewshot.py`` run of ``steps`` outer steps: its tqdm progress between the
    end of step 1 (after compilation and the step-0 evaluation) and the last update before the final evaluation."""
    method = {"hnet_linear": "hnet_linear", "hnet_deepmlp": "hnet_deepmlp", "anil": "anil512",
              "learned_init": "learned_init384"}
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "wandb.py").write_text(STUB_WANDB)
        for name in names:
            cmd = [python, "run_fewshot.py", f"--workdir={tmp}/logs",
                   f"--config=configs/hyperteacher.py:{method[name]}",
                   f"--config.dataset_num_experts={preset['experts']}",
                   f"--config.meta_batch_size={preset['meta_batch']}",
                   f"--config.dataset_shots_train={preset['shots']}",
                   f"--config.dataset_shots_test={preset['shots']}",
                   f"--config.base_model_hidden_dim={preset['hidden'][name]}", f"--config.steps_outer={steps}"]
            if name == "hnet_deepmlp":  # the shipped config's generator name raises ValueError
                cmd.append("--config.meta_model=deepmlp_hnet")
            proc = subprocess.run(cmd, cwd=ref_dir, env={**os.environ, "PYTHONPATH": tmp, "WANDB_MODE": "offline"},
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                raise RuntimeError(f"reference run failed ({name}):\n{proc.stderr[-3000:]}")
            prog = [p for p in _tqdm_progress(proc.stderr) if 1 <= p[0] < steps]
            first_shown = {}
            for n, t in prog:  # the first display of a count is when that step finished
                first_shown.setdefault(n, t)
            n0, n1 = min(first_shown), max(first_shown)
            t0, t1 = first_shown[n0], first_shown[n1]
            if n1 - n0 < 10 or t1 <= t0:
                raise RuntimeError(f"reference run of {name}: too few timed steps ({n0}..{n1}); "
                                   "raise --reference-steps")
            out[name] = (n1 - n0) / (t1 - t0)
            print(f"reference {name}: steps {n0}..{n1} in {t1 - t0:.0f} s", flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m modular_hyperteacher.bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", choices=sorted(PRESETS), default="cpu")
    parser.add_argument("--students", nargs="+", default=["hnet_linear", "anil"],
                        choices=["hnet_linear", "hnet_deepmlp", "anil", "learned_init"])
    parser.add_argument("--steps", type=int, default=5, help="meta-steps per timed call")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--reference-dir", type=Path, default=None, help="checkout of smonsays/modular-hyperteacher")
    parser.add_argument("--reference-python", default=None, help="python of an environment that runs the reference")
    parser.add_argument("--reference-steps", type=int, default=300,
                        help="outer steps of the reference run (timed between step 1 and the final evaluation)")
    parser.add_argument("--out", type=Path, default=None, help="write the figures as JSON here")
    args = parser.parse_args(argv)
    if args.steps < 1 or args.repeats < 1:
        parser.error("--steps and --repeats must be >= 1")
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
        ref = time_reference(preset, args.students, args.reference_python, args.reference_dir, args.reference_steps)
        result["reference_steps_per_s"] = ref
        for name, sps in ref.items():
            mine = next(v for k, v in ours.items() if k.split(" ")[0] == name)
            print(f"reference {name:<42} {sps:>9.3f} ours/reference {mine / sps:.2f}x")
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
