"""Entry point: ``python -m cl_transfer.gpu_estimate``: a scale's GPU time, estimated from its measured work.

Without a GPU, "the gpu scale fits in 10 GPU minutes" can only be estimated. Here it is estimated from three
parts measured on this machine and three rates that are assumed (and printed):

1. **The plan.** The scale's two training experiments (transfer matrix, sequences) are replayed against the
   memoised run store. :class:`PlanRecorder` wraps the engine and records the chunks that a fresh process (an
   empty store) would train: K stacked runs × steps × batch, and the evaluations after each chunk. It uses the
   engine's own grouping code (:meth:`Engine.chunks`, :meth:`Engine.eval_plan`). Every run must already be in the
   store: run the scale first, on any device.
2. **FLOPs**, counted by ``torch.utils.flop_counter`` on small stacked calls. Training costs ``f_train`` per
   example. Evaluating K models on n shared inputs costs n·(f_frozen + K·f_trained), because vmap runs the
   frozen lower layers once for all K models.
3. **The host floor**: the wall time of one stacked training step with one model and one 2-token example, and
   of one evaluation call. This is the Python, dispatch, vmap and autograd overhead that a GPU does not remove.

GPU seconds ≈ Σ_chunks steps·floor + FLOPs / R + Adam's memory traffic / BW + checkpoint bytes / disk, plus the
set-up (datasets generated from scratch, model loaded), measured here. R is a sustained fp32 rate (TF32 is off
by default in torch). The default R is 20 TFLOP/s, 30% of an H200's 67 TFLOP/s fp32 peak. This is an estimate
with its assumptions stated, not a measurement.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from cl_transfer.configs import Config
from cl_transfer.training import Engine, Run, RunResult
from repro_shared import cli
from repro_shared.results import RunRecord, default_results_dir

ADAM_BYTES_PER_PARAM = 7 * 4  # fp32: read param, grad, m, v; write param, m, v


@dataclasses.dataclass(frozen=True)
class Chunk:
    """One stacked training call: ``k`` runs × ``steps`` × ``batch``, then its evaluations (models, inputs)."""

    k: int
    steps: int
    batch: int
    evals: tuple[tuple[int, int], ...]
    kept: int


class PlanRecorder:
    """An :class:`Engine` stand-in that records the chunks a fresh process would train, then answers from the
    store. Everything else (keys, steps, similarity, counters) is the wrapped engine's."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.seen: set[str] = set()
        self.chunks: list[Chunk] = []

    def __getattr__(self, name: str):
        return getattr(self.engine, name)

    def run(self, runs: Sequence[Run]) -> list[RunResult]:
        eng = self.engine
        missing = sorted({k for k in map(eng.key, runs) if eng.store.get(k) is None})
        if missing:
            raise RuntimeError(f"{len(missing)} runs are not memoised (e.g. {missing[0]}): run the scale first, "
                               "then estimate")
        for (steps, _lr, batch), chunk in eng.chunks(runs, self.seen.__contains__):
            evals = []
            for task, split, ids in eng.eval_plan(chunk):
                t = eng.tasks[task]
                evals.append((len(ids), len(t.dev_y) if split == "dev" else len(t.test_y)))
            self.chunks.append(Chunk(len(chunk), steps, batch, tuple(evals), sum(r.keep for _, r in chunk)))
            self.seen.update(k for k, _ in chunk)
        return eng.run(runs)


@dataclasses.dataclass(frozen=True)
class CostModel:
    """Per-example FLOPs and per-call host floors of one model tier (measured by :func:`measure_costs`)."""

    train_flops: float  # one training example (forward + backward) of one model
    frozen_flops: float  # one evaluated input through the frozen layers (shared by the K models)
    trained_flops: float  # one evaluated input through one model's trained layers
    host_step_s: float  # one stacked training step, tiny input
    host_eval_s: float  # one evaluation call, tiny input
    trainable_params: int
    eval_chunk: int


def _stacked(engine: Engine, k: int) -> dict[str, torch.Tensor]:
    return {n: p.unsqueeze(0).repeat(k, *[1] * p.dim()) for n, p in engine.base_state.items()}


def _flops(fn) -> int:
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def measure_costs(engine: Engine, seq_len: int, *, repeats: int = 5, host_steps: int = 10) -> CostModel:
    """Count FLOPs at ``seq_len`` tokens on small stacked calls and time the host floor (1 model, 2 tokens)."""
    steps_before = engine.steps_executed  # the measuring calls are not part of any plan
    gen = torch.Generator().manual_seed(0)
    x = torch.randint(5, 100, (1, 2, 2, seq_len), generator=gen)
    y = torch.randint(0, 2, (1, 2, 2), generator=gen)
    train = _flops(lambda: engine.train_stacked(_stacked(engine, 2), x, y, 1e-4)) / 4
    one = _flops(lambda: engine.evaluate_stacked(_stacked(engine, 1), x[0, 0], y[0, 0])) / 2
    two = _flops(lambda: engine.evaluate_stacked(_stacked(engine, 2), x[0, 0], y[0, 0])) / 2
    trained = two - one

    single = _stacked(engine, 1)
    xs = torch.randint(5, 100, (host_steps, 1, 1, 2), generator=gen)
    ys = torch.randint(0, 2, (host_steps, 1, 1), generator=gen)

    def timed(fn, per: int) -> float:
        fn()
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) / per)
        return statistics.median(times)

    host_step = timed(lambda: engine.train_stacked(single, xs, ys, 1e-4), host_steps)
    host_eval = timed(lambda: engine.evaluate_stacked(single, xs[0, 0], ys[0, 0]), 1)
    engine.steps_executed = steps_before
    n_params = sum(p.numel() for p in engine.base_state.values())
    return CostModel(train, one - trained, trained, host_step, host_eval, n_params, engine.eval_chunk)


@dataclasses.dataclass(frozen=True)
class Rates:
    """Assumed device rates: sustained fp32 FLOP/s, memory bandwidth (B/s) for Adam, disk writes (B/s)."""

    flops: float = 20e12
    memory: float = 2.4e12
    disk: float = 1e9


def estimate(chunks: Sequence[Chunk], cost: CostModel, rates: Rates, set_up_s: float = 0.0) -> dict:
    """Counts and seconds per component; ``total_s`` is their sum (no overlap assumed: an upper estimate)."""
    stacked = sum(c.steps for c in chunks)
    model_steps = sum(c.steps * c.k for c in chunks)
    train_flops = sum(c.steps * c.k * c.batch for c in chunks) * cost.train_flops
    eval_flops = sum(n * (cost.frozen_flops + k * cost.trained_flops) for c in chunks for k, n in c.evals)
    eval_calls = sum(math.ceil(n / cost.eval_chunk) for c in chunks for _, n in c.evals)
    adam_bytes = model_steps * cost.trainable_params * ADAM_BYTES_PER_PARAM
    ckpt_bytes = sum(c.kept for c in chunks) * cost.trainable_params * 4
    seconds = {
        "host_train_s": stacked * cost.host_step_s,
        "host_eval_s": eval_calls * cost.host_eval_s,
        "compute_s": (train_flops + eval_flops) / rates.flops,
        "adam_memory_s": adam_bytes / rates.memory,
        "checkpoint_writes_s": ckpt_bytes / rates.disk,
        "set_up_s": set_up_s,
    }
    return {"chunks": len(chunks), "stacked_steps": stacked, "model_steps": model_steps,
            "train_flops": train_flops, "eval_flops": eval_flops, "eval_calls": eval_calls,
            "adam_bytes": adam_bytes, "checkpoint_bytes": ckpt_bytes, **seconds,
            "total_s": sum(seconds.values())}


def plan(engine: Engine, cfg: Config, scale: str) -> list[Chunk]:
    """Replay the transfer matrix and the sequences on the memoised store; the chunks a fresh run trains."""
    from cl_transfer.experiments import sequences, transfer_matrix

    recorder = PlanRecorder(engine)
    with tempfile.TemporaryDirectory() as tmp:
        transfer_matrix.run(recorder, cfg, scale, Path(tmp), {})
        sequences.run(recorder, cfg, scale, Path(tmp))
    return recorder.chunks


def main(args: argparse.Namespace) -> int:
    from cl_transfer.reproduce import resolve_config
    from cl_transfer.suite import make_engine, needed_tasks

    cfg = resolve_config(args)
    if args.device not in ("auto", "cpu"):  # the host floor and the set-up are timed on this machine's CPU
        raise cli.ConfigError("device", args.device, "auto, cpu (on a GPU, run the scale and time it instead)")
    for flag in ("flops_rate", "memory_bw", "disk_bw"):
        if getattr(args, flag) <= 0:
            raise cli.ConfigError(flag, getattr(args, flag), "a number > 0")
    rates = Rates(args.flops_rate, args.memory_bw, args.disk_bw)
    out = args.out or default_results_dir(__file__, args.scale)
    record = RunRecord(paper="arXiv:2307.05741", experiment="gpu_estimate", scale=args.scale,
                       config={**dataclasses.asdict(cfg), "rates": dataclasses.asdict(rates)}, seeds=list(cfg.seeds))
    with tempfile.TemporaryDirectory() as tmp:  # set-up as on a fresh machine: datasets generated from scratch
        t0 = time.perf_counter()
        make_engine(cfg, cache_dir=tmp)
        set_up_s = time.perf_counter() - t0
    engine, _ = make_engine(cfg)
    seq_len = engine.tasks[needed_tasks(cfg)[0]].train_x.shape[1]
    cost = measure_costs(engine, seq_len)
    chunks = plan(engine, cfg, args.scale)
    est = estimate(chunks, cost, rates, set_up_s)
    record.metrics.update(cost_model=dataclasses.asdict(cost), estimate=est, seq_len=seq_len,
                          chunks=[dataclasses.asdict(c) for c in chunks])
    rows = [["set-up (datasets generated, model loaded), measured here", est["set_up_s"]],
            [f"host floor: {est['stacked_steps']} stacked steps × {cost.host_step_s * 1e3:.1f} ms",
             est["host_train_s"]],
            [f"host floor: {est['eval_calls']} evaluation calls × {cost.host_eval_s * 1e3:.1f} ms",
             est["host_eval_s"]],
            [f"compute: {(est['train_flops'] + est['eval_flops']) / 1e15:.3f} PFLOP at {rates.flops / 1e12:g} TFLOP/s",
             est["compute_s"]],
            [f"Adam memory traffic: {est['adam_bytes'] / 1e12:.2f} TB at {rates.memory / 1e12:g} TB/s",
             est["adam_memory_s"]],
            [f"checkpoint writes: {est['checkpoint_bytes'] / 1e9:.1f} GB at {rates.disk / 1e9:g} GB/s",
             est["checkpoint_writes_s"]],
            ["**total** (no overlap assumed)", est["total_s"]]]
    record.add_table(f"Estimated GPU time of scale '{args.scale}' ({est['model_steps']} model-steps in "
                     f"{est['chunks']} chunks)", ["component", "seconds"], rows,
                     caption="Counts and host floors measured on this machine; rates assumed. An estimate, not a "
                             "measurement on a GPU.")
    record.notes = (f"f_train {cost.train_flops / 1e6:.0f} MFLOP per example at {seq_len} tokens; evaluation "
                    f"{cost.frozen_flops / 1e6:.0f} MFLOP (frozen, once) + {cost.trained_flops / 1e6:.0f} MFLOP "
                    "per model per input.")
    path = record.write(out)
    print(record.tables[0].to_markdown("{:.1f}"))
    print(f"\n-> {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = cli.make_parser("python -m cl_transfer.gpu_estimate", __doc__.split("\n\n")[0].split(": ", 1)[1])
    parser.add_argument("--flops-rate", type=float, default=Rates.flops, help="assumed sustained fp32 FLOP/s")
    parser.add_argument("--memory-bw", type=float, default=Rates.memory, help="assumed memory bandwidth, B/s")
    parser.add_argument("--disk-bw", type=float, default=Rates.disk, help="assumed checkpoint write speed, B/s")
    return parser


if __name__ == "__main__":
    sys.exit(cli.run_main(main, build_parser()))
