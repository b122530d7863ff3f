"""Entry point: ``python -m cl_transfer.bench``: vmapped fine-tuning as a ratio against sequential runs.

Baseline: K fine-tuning runs of the Tier T model one after the other (a plain loop, one model per step). Candidate:
the same K runs stacked and trained together by ``vmap(functional_call)`` (``training.Engine.train_stacked``).
Both do identical work (K × steps model-steps on the same batches); reported as median wall time per model-step
and the ratio sequential / vmapped (> 1: vmapping pays). Timings alternate between the two in one process
(``repro_shared.timing.compare``).
"""

from __future__ import annotations

import argparse
import sys

import torch

from cl_transfer import models
from cl_transfer.training import Budget, Engine, RunStore


def _engine(cfg: models.TinyBertConfig) -> Engine:
    vocab = models.WordVocab()
    model = models.build_tiny_classifier(cfg, len(vocab))
    base = {k: v.clone() for k, v in model.state_dict().items()}
    return Engine(model, base, "bench", {}, Budget(), RunStore(None))


def main(argv: list[str] | None = None) -> int:
    from repro_shared.timing import compare, format_ratios

    parser = argparse.ArgumentParser(prog="python -m cl_transfer.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--k", type=int, nargs="+", default=[8, 32], help="numbers of runs trained together")
    parser.add_argument("--steps", type=int, default=5, help="optimizer steps per timed call")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    cfg = models.TinyBertConfig()
    eng = _engine(cfg)
    vocab_size = len(models.WordVocab())
    print(f"Tier T: d {cfg.hidden}, {cfg.layers} layers, batch {args.batch}, {args.steps} steps per call, "
          f"{args.threads} thread(s)")
    for k in args.k:
        gen = torch.Generator().manual_seed(0)
        xs = torch.randint(5, vocab_size, (args.steps, k, args.batch, 17), generator=gen)
        ys = torch.randint(0, 2, (args.steps, k, args.batch), generator=gen)
        stacked = {n: p.unsqueeze(0).repeat(k, *[1] * p.dim()) for n, p in eng.base_state.items()}
        single = {n: p.unsqueeze(0) for n, p in eng.base_state.items()}

        def vmapped(stacked=stacked, xs=xs, ys=ys):
            eng.train_stacked(stacked, xs, ys, 3e-4)

        def sequential(single=single, xs=xs, ys=ys, k=k):
            for i in range(k):
                eng.train_stacked(single, xs[:, i:i + 1], ys[:, i:i + 1], 3e-4)

        t = compare({f"sequential K={k}": sequential, f"vmapped K={k}": vmapped}, warmup=1, repeats=args.repeats)
        print(format_ratios(t, f"vmapped K={k}"))
        per = {n: tm.median_s / (k * args.steps) * 1e3 for n, tm in t.items()}
        print("  ms per model-step: " + ", ".join(f"{n} {v:.2f}" for n, v in per.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
