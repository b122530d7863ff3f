"""Independent runs (method x task x seed) in parallel worker processes, one torch thread each."""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

from repro_shared.progress import progress


def _init_worker(threads: int) -> None:
    import torch

    os.environ["REPRO_NO_PROGRESS"] = "1"  # bars of several processes would interleave
    torch.set_num_threads(threads)


def _timed(args: tuple[Callable[..., Any], dict[str, Any]]) -> tuple[float, Any]:
    fn, kwargs = args
    t0 = time.perf_counter()
    out = fn(**kwargs)
    return time.perf_counter() - t0, out


def run_jobs(fn: Callable[..., Any], jobs: Sequence[dict[str, Any]], *, workers: int = 1, desc: str = "jobs",
             label: Callable[[dict[str, Any]], str] = lambda j: "") -> list[Any]:
    """``[fn(**job) for job in jobs]``, in ``workers`` spawned processes when ``workers > 1`` (order kept)."""
    results: list[Any] = [None] * len(jobs)
    bar = progress(total=len(jobs), desc=desc)
    if workers <= 1 or len(jobs) <= 1:
        for i, job in enumerate(jobs):
            dt, results[i] = _timed((fn, job))
            bar.update(1)
            print(f"  [{desc}] {label(job)} done in {dt:.0f} s", flush=True)
    else:
        with mp.get_context("spawn").Pool(min(workers, len(jobs)), _init_worker, (1,)) as pool:
            pending = {i: pool.apply_async(_timed, ((fn, job),)) for i, job in enumerate(jobs)}
            while pending:
                for i in [i for i, r in pending.items() if r.ready()]:
                    dt, results[i] = pending.pop(i).get()
                    bar.update(1)
                    print(f"  [{desc}] {label(jobs[i])} done in {dt:.0f} s", flush=True)
                time.sleep(0.2)
    bar.close()
    return results
