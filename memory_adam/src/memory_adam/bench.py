"""Entry point: ``python -m memory_adam.bench``: optimizer step time as a ratio to ``torch.optim.Adam.step()``.

Only ``step()`` is timed (gradients are fixed random tensors set once), on a model of about 1M parameters split
into a few (4) or many (40) tensors. Candidates run alternately in one process (``repro_shared.timing.compare``),
so drifts of the machine's load spread over all of them. Target (issue 3): the fast AdamCM within 1.3x Adam
(torch's default CPU Adam, a per-tensor loop; the fused Adam kernel is shown for reference).
"""

from __future__ import annotations

import argparse
import sys

import torch

from memory_adam.optim import AdamCG, AdamCM
from repro_shared import timing


def make_params(n_tensors: int, total: int, dtype: torch.dtype, device: str, seed: int = 0) -> list[torch.Tensor]:
    """``n_tensors`` tensors (square weight, bias pairs) with about ``total`` elements in all, grads set."""
    gen = torch.Generator().manual_seed(seed)
    pairs = max(n_tensors // 2, 1)
    width = int((total / pairs) ** 0.5)
    params = []
    for _ in range(pairs):
        for shape in ((width, width), (width,)):
            p = torch.randn(shape, generator=gen, dtype=dtype).to(device).requires_grad_()
            p.grad = torch.randn(shape, generator=gen, dtype=dtype).to(device) * 1e-2
            params.append(p)
    return params[:n_tensors]


def candidates(n_tensors: int, total: int, dtype: torch.dtype, device: str, buffer_size: int):
    """Each candidate is (optimizer, step closure) on its own copy of the parameters."""
    builders = {
        "Adam (torch, default)": lambda ps: torch.optim.Adam(ps, lr=1e-3),
        "Adam (torch, fused)": lambda ps: torch.optim.Adam(ps, lr=1e-3, fused=True),
        "AdamCM fast": lambda ps: AdamCM(ps, lr=1e-3, buffer_size=buffer_size, impl="fast"),
        "AdamCM faithful": lambda ps: AdamCM(ps, lr=1e-3, buffer_size=buffer_size, impl="faithful"),
        "AdamCG fast": lambda ps: AdamCG(ps, lr=1e-3, buffer_size=buffer_size, impl="fast"),
        "AdamCG faithful": lambda ps: AdamCG(ps, lr=1e-3, buffer_size=buffer_size, impl="faithful"),
    }
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    fns = {}
    for name, build in builders.items():
        opt = build(make_params(n_tensors, total, dtype, device))

        def fn(opt=opt):
            opt.step()
            sync()

        fns[name] = fn
    return fns


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m memory_adam.bench", description=__doc__,
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--params", type=int, default=1_000_000, help="total number of parameters")
    parser.add_argument("--tensors", type=int, nargs="+", default=[4, 40], help="tensor counts to measure")
    parser.add_argument("--buffer-size", type=int, default=5, help="C, the buffer capacity")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (0: leave torch's default)")
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    args = parser.parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    dtype = getattr(torch, args.dtype)
    print(f"step() time, {args.params / 1e6:.2f}M {args.dtype} parameters, C = {args.buffer_size}, "
          f"{torch.get_num_threads()} thread(s), device {args.device}; ratio = median / median of Adam")
    for n in args.tensors:
        timings = timing.compare(candidates(n, args.params, dtype, args.device, args.buffer_size),
                                 warmup=args.warmup, repeats=args.repeats)
        print(f"\n{n} tensors")
        print(timing.format_ratios(timings, "Adam (torch, default)"))
        fast = timing.ratio(timings, "AdamCM fast", "Adam (torch, default)")
        print(f"AdamCM fast / Adam = {fast:.2f} (target <= 1.3: {'met' if fast <= 1.3 else 'NOT met'}); "
              f"AdamCM faithful / Adam = {timing.ratio(timings, 'AdamCM faithful', 'Adam (torch, default)'):.2f}; "
              f"AdamCG fast / Adam = {timing.ratio(timings, 'AdamCG fast', 'Adam (torch, default)'):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
