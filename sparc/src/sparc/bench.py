"""Entry point: ``python -m sparc.bench``: paper Table 11 as ratios against CLIP.

Loss-only forward + backward of CLIP's global loss, SPARC (global + fine-grained) and FILIP on random
embeddings of shape (B, P, d) / (B, L, d), for several batch sizes: median time, peak memory above the
baseline and FLOPs, each also as a ratio to CLIP, plus SPARC's and FILIP's time per sample. SPARC should
stay linear in B (flat time per sample), FILIP quadratic. Timings alternate between the three objectives
in one process (``repro_shared.timing.compare``); run it on an idle machine.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from repro_shared.cli import ConfigError


def _ints(text: str) -> list[int]:
    try:
        values = [int(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid value for 'batch-sizes': {text!r} (allowed: ints as 64,128)") \
            from None
    if not values or min(values) < 2:
        raise argparse.ArgumentTypeError(f"invalid value for 'batch-sizes': {text!r} (allowed: ints >= 2)")
    return values


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m sparc.bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batch-sizes", type=_ints, default=[64, 128, 256, 512], help="comma-separated (default 64..512)")
    p.add_argument("--patches", type=int, default=36, help="P (default 36: our 48 px / patch 8 model)")
    p.add_argument("--tokens", type=int, default=33, help="L (default 33: our longest caption)")
    p.add_argument("--dim", type=int, default=64, help="d (default 64)")
    p.add_argument("--paper-sizes", action="store_true", help="P 196, L 55, d 512 (ViT-B/16, 55 tokens, 512-d)")
    p.add_argument("--repeats", type=int, default=10, help="timed repeats per objective and batch size")
    p.add_argument("--filip-max-batch", type=int, default=1 << 30, help="skip FILIP above this batch size")
    p.add_argument("--filip-chunk", type=int, default=64, help="texts per FILIP similarity block")
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    p.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    p.add_argument("--json", type=Path, default=None, help="also write the measurements to this JSON file")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.device != "cpu" and not torch.cuda.is_available():
            raise ConfigError("device", args.device, "cpu (no CUDA device here)")
        for field in ("patches", "tokens", "dim", "repeats"):
            if getattr(args, field) < 1:
                raise ConfigError(field, getattr(args, field), "an integer >= 1")
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    from sparc.cost import COST_METHODS
    from sparc.experiments.cost import loss_only_sweep

    p, l, d = (196, 55, 512) if args.paper_sizes else (args.patches, args.tokens, args.dim)
    device = torch.device(args.device)
    dtype = torch.bfloat16 if args.dtype == "bfloat16" else torch.float32
    print(f"sparc bench: loss-only forward + backward, P={p} L={l} d={d}, {device}, {args.dtype}, "
          f"{torch.get_num_threads()} threads, median of {args.repeats}")
    sweep = loss_only_sweep(args.batch_sizes, p, l, d, device, args.repeats, args.filip_max_batch,
                            filip_chunk=args.filip_chunk, dtype=dtype)
    head = (f"{'B':>6} | {'CLIP ms':>9} {'SPARC ms':>9} {'FILIP ms':>10} | {'SPARC/CLIP':>10} {'FILIP/CLIP':>10} | "
            f"{'SPARC us/sample':>15} {'FILIP us/sample':>15} | {'CLIP MB':>8} {'SPARC MB':>9} {'FILIP MB':>9} | "
            f"{'mem SPARC/CLIP':>14} {'mem FILIP/CLIP':>14}")
    print(head)
    print("-" * len(head))
    for b in args.batch_sizes:
        r = {m: sweep[m].get(b) for m in COST_METHODS}
        ms = {m: (r[m]["seconds"] * 1e3 if r[m] else float("nan")) for m in COST_METHODS}
        mb = {m: (r[m]["peak_bytes"] / 1e6 if r[m] else float("nan")) for m in COST_METHODS}
        print(f"{b:>6} | {ms['clip']:>9.3f} {ms['sparc']:>9.3f} {ms['filip']:>10.3f} | "
              f"{ms['sparc'] / ms['clip']:>10.2f} {ms['filip'] / ms['clip']:>10.2f} | "
              f"{1e3 * ms['sparc'] / b:>15.2f} {1e3 * ms['filip'] / b:>15.2f} | "
              f"{mb['clip']:>8.2f} {mb['sparc']:>9.2f} {mb['filip']:>9.2f} | "
              f"{mb['sparc'] / mb['clip']:>14.2f} {mb['filip'] / mb['clip']:>14.2f}")
    bs = [b for b in args.batch_sizes if sweep["filip"].get(b)]
    if len(bs) >= 2:
        b0, b1 = bs[0], bs[-1]
        grow = lambda m: sweep[m][b1]["seconds"] / sweep[m][b0]["seconds"]
        print(f"time growth from B={b0} to B={b1} ({b1 / b0:g}x batch): CLIP {grow('clip'):.1f}x, "
              f"SPARC {grow('sparc'):.1f}x, FILIP {grow('filip'):.1f}x")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"P": p, "L": l, "d": d, "device": str(device), "dtype": args.dtype,
                                         "sweep": sweep}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
