"""Entry point: ``python -m l2m.bench``: performance figures as ratios against named baselines.

1. Data generation: environment steps/s (scripted expert + noise), one process vs ``--workers`` processes.
2. Training step time of the MDDT (full fine-tuning) at the scale's model size.
3. L2M overhead: one L2M update (pool, per-sample top-1 LoRA) / one full fine-tuning update (target <= 1.25x).
4. Evaluation: episodes stepped in one lock-step batch vs one episode at a time (same episodes).
Writes ``results/<scale>/bench.json`` (+ .md).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time

import numpy as np
import torch

from repro_shared import claims, cli
from repro_shared.results import RunRecord, default_results_dir
from repro_shared.timing import compare, ratio

BENCH_TASKS = ("reach-v3", "push-v3", "window-close-v3", "drawer-close-v3")


def bench_data(workers: int, episodes: int) -> dict[str, float]:
    import os

    from l2m.data import DataSpec, ensure_data

    out = {}
    for w in (1, workers):
        with tempfile.TemporaryDirectory() as tmp:
            os.environ["L2M_DATA_CACHE"] = tmp
            t0 = time.perf_counter()
            ensure_data(list(BENCH_TASKS), DataSpec(episodes=episodes), workers=w, chunk_episodes=max(1, episodes // 2))
            dt = time.perf_counter() - t0
            del os.environ["L2M_DATA_CACHE"]
        out[f"steps_per_s_{w}proc"] = len(BENCH_TASKS) * episodes * 200 / dt
    return out


def _fake_dataset(context: int, n_tasks: int = 4):
    from l2m.data import SequenceDataset, TaskData

    rng = np.random.default_rng(0)
    E, H = 10, 200
    stores = []
    for i in range(n_tasks):  # states of one task cluster around a task-specific point, as in Meta-World
        r = rng.uniform(0, 10, (E, H)).astype(np.float32)
        obs = (rng.normal(size=39) + 0.1 * rng.normal(size=(E, H, 39))).astype(np.float32)
        stores.append(TaskData(task=f"t{i}", domain="mw", obs=obs,
                               actions=rng.uniform(-1, 1, (E, H, 4)).astype(np.float32), rewards=r,
                               rtg=np.flip(np.cumsum(np.flip(r, 1), 1), 1).copy(), success=np.zeros((E, H), bool),
                               returns=r.sum(1), noise=np.zeros(E, np.float32), slots=np.arange(39), act_dim=4))
    return SequenceDataset(stores, context)


def bench_training(cfg, repeats: int, one_task: bool = True) -> dict[str, float]:
    """One update of FT and of L2M on the same batch (from one task: the fine-tuning setting)."""
    from l2m.experiments.common import model_config
    from l2m.methods import build_method
    from l2m.model import MDDT
    from l2m.train import make_optimizer, step_loss

    ds = _fake_dataset(cfg.context, n_tasks=1 if one_task else 4)
    batch = ds.sample(cfg.ft_batch, torch.Generator().manual_seed(0))
    steps = {}
    for name in ("ft", "l2m"):
        torch.manual_seed(0)
        model = MDDT(model_config(cfg)).train()
        m = build_method(name, model, cfg.method_config(), n_tasks=1)
        if m.peft is not None:
            m.peft.train()
            m.begin_task(1)
        opt = make_optimizer(model, m, 1e-4, 0.01)

        def step(model=model, m=m, opt=opt):
            loss, _ = step_loss(model, m, batch)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(m.params, 0.25)
            opt.step()

        steps[name] = step
    t = compare(steps, warmup=3, repeats=repeats)
    return {"ft_step_ms": t["ft"].median_s * 1e3, "l2m_step_ms": t["l2m"].median_s * 1e3,
            "l2m_over_ft": ratio(t, "l2m", "ft")}


def bench_eval(cfg, episodes: int) -> dict[str, float]:
    from l2m.evaluate import get_env, run_wave
    from l2m.experiments.common import model_config
    from l2m.model import MDDT

    model = MDDT(model_config(cfg)).eval()
    pairs = [(t, e) for e in range(episodes) for t in BENCH_TASKS]
    slots: dict[str, int] = {}
    for t, _ in pairs:  # build the environments outside the timed region
        get_env(t, slots.get(t, 0))
        slots[t] = slots.get(t, 0) + 1
    ts, seeds = [t for t, _ in pairs], list(range(len(pairs)))
    t0 = time.perf_counter()
    run_wave(model, None, ts, [1000.0] * len(ts), seeds)
    batched = time.perf_counter() - t0
    t0 = time.perf_counter()
    for t, s in zip(ts, seeds):
        run_wave(model, None, [t], [1000.0], [s])
    single = time.perf_counter() - t0
    n_steps = len(pairs) * 200
    return {"episodes": len(pairs), "batched_s": batched, "one_at_a_time_s": single,
            "batched_env_steps_per_s": n_steps / batched, "single_env_steps_per_s": n_steps / single,
            "speedup": single / batched}


def main(args: argparse.Namespace) -> int:
    from l2m.configs import CONFIGS

    torch.set_num_threads(1)
    cfg = cli.apply_overrides(cli.config_for_scale(CONFIGS, args.scale), args.overrides)
    rec = RunRecord(paper="Learning to Modulate pre-trained Models in RL", experiment="bench", scale=args.scale,
                    config=dataclasses.asdict(cfg), seeds=[0])
    rows = []
    if args.part in ("all", "data"):
        d = bench_data(args.workers, args.data_episodes)
        rec.metrics["data"] = d
        base = d["steps_per_s_1proc"]
        rows += [["data generation, 1 process (env steps/s)", base, 1.0],
                 [f"data generation, {args.workers} processes (env steps/s)", d[f"steps_per_s_{args.workers}proc"],
                  d[f"steps_per_s_{args.workers}proc"] / base]]
    if args.part in ("all", "train"):
        t = bench_training(cfg, args.repeats)
        rec.metrics["train"] = t
        rows += [[f"full fine-tuning update, batch {cfg.ft_batch} (ms)", t["ft_step_ms"], 1.0],
                 ["L2M update (ms)", t["l2m_step_ms"], t["l2m_over_ft"]]]
        rec.add_claim(claims.threshold(t["l2m_over_ft"], 1.25, id="bench.l2m_overhead", name="L2M / FT update time",
                                       statement="An L2M update costs at most 1.25x a full fine-tuning update."))
    if args.part in ("all", "eval"):
        e = bench_eval(cfg, args.eval_episodes)
        rec.metrics["eval"] = e
        rows += [[f"evaluation, one episode at a time ({e['episodes']} episodes, env steps/s)",
                  e["single_env_steps_per_s"], 1.0],
                 ["evaluation, all episodes in one lock-step batch (env steps/s)", e["batched_env_steps_per_s"],
                  e["speedup"]]]
    rec.add_table(f"l2m bench ({args.scale} model: d={cfg.d_model}, L={cfg.n_layer})", ["measure", "value", "ratio"],
                  rows, caption="Ratios are against the first row of each pair (1 process / FT / one at a time).")
    for r in rows:
        print(f"{r[0]:<72} {r[1]:>10.2f} {r[2]:>7.2f}x")
    out = args.out or default_results_dir(__file__, args.scale)
    print("wrote", rec.write(out))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = cli.make_parser("python -m l2m.bench", __doc__.splitlines()[0])
    p.add_argument("--part", choices=("all", "data", "train", "eval"), default="all", help="which measurement")
    p.add_argument("--workers", type=int, default=2, help="processes for the parallel data-generation figure")
    p.add_argument("--data-episodes", type=int, default=6, help="episodes per task for the data figure")
    p.add_argument("--eval-episodes", type=int, default=3, help="episodes per task for the evaluation figure")
    p.add_argument("--repeats", type=int, default=20, help="timed repeats of each update")
    return p


if __name__ == "__main__":
    sys.exit(cli.run_main(main, build_parser()))
