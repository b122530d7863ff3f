"""Experiment 5 (paper Table 11): cost vs batch size of CLIP, SPARC and FILIP.

Loss only (fixed random embeddings of the paper's shapes) and a full training step of our model
(encoders + objective): FLOPs and peak memory (deterministic), time (reported, not judged: the machine
is shared). Claim C5: SPARC's overhead over CLIP is flat in B, FILIP's grows with B.
"""

from __future__ import annotations

import numpy as np
import torch

from repro_shared import claims
from repro_shared.cli import resolve_device
from repro_shared.plots import new_figure, save_figure
from repro_shared.progress import progress
from repro_shared.results import RunRecord
from repro_shared.timing import compare
from sparc import cost as C
from sparc import data as D
from sparc.configs import Config
from sparc.models import build_model
from sparc.runs import max_len, model_config

NAME = "cost"
# Paper Table 11 (per training step, batch 2k/4k/8k/16k): TFLOPs and peak memory (MB).
PAPER_TFLOPS = {"clip": (1.15, 2.29, 4.57, 9.14), "sparc": (1.15, 2.3, 4.6, 9.19), "filip": (1.37, 3.17, 8.09, 27.25)}
PAPER_MB = {"clip": (4394, 4452, 5889, 8578), "sparc": (4408, 4450, 5914, 8620), "filip": (4394, 5230, 8657, 15463)}
SPARC_MAX_FLOP_OVERHEAD = 1.10  # pre-registered: full-step FLOPs of SPARC ≤ 1.10 × CLIP at every B
FLAT = 1.05  # pre-registered: max/min over B of SPARC/CLIP ratios (flat)
GROWTH = 2.0  # pre-registered: FILIP's overhead over CLIP at least doubles over the B range


def needs(cfg: Config, seeds: list[int]) -> list[tuple[str, str, int]]:
    return []


def _device(name: str) -> torch.device:
    return torch.device(resolve_device(name, torch.cuda.is_available()))


def _sync(device: torch.device):
    return (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else (lambda: None)


def loss_only_sweep(batch_sizes, patches: int, tokens: int, dim: int, device: torch.device, repeats: int,
                    filip_max_batch: int, filip_chunk: int = 64, dtype=torch.float32, timed: bool = True
                    ) -> dict[str, dict[int, dict[str, float]]]:
    """FLOPs, peak bytes and median seconds of forward + backward of each objective alone."""
    out: dict[str, dict[int, dict[str, float]]] = {m: {} for m in C.COST_METHODS}
    sync = _sync(device)
    for b in progress(batch_sizes, desc="loss-only sweep"):
        x = C.loss_inputs(b, patches, tokens, dim, device, dtype)
        fns = {}
        for m in C.COST_METHODS:
            if m == "filip" and b > filip_max_batch:
                continue
            fn = C.loss_only_fn(m, x, filip_chunk=filip_chunk)
            out[m][b] = {"flops": C.measure_flops(fn), "peak_bytes": C.measure_peak_bytes(fn, device)}

            def timed_fn(fn=fn):
                fn().backward()
                sync()
            fns[m] = timed_fn
        if timed:
            for m, t in compare(fns, warmup=1, repeats=repeats).items():
                out[m][b]["seconds"] = t.median_s
    return out


def full_step_sweep(cfg: Config, batch_sizes, device: torch.device, repeats: int, timed: bool = True
                    ) -> dict[str, dict[int, dict[str, float]]]:
    """FLOPs, peak bytes and median seconds of one training step (forward + backward) of our model."""
    kind = "shapes"
    mcfg = model_config(cfg, kind)
    torch.manual_seed(0)
    model = build_model(mcfg).to(device)
    scenes = D.make_shape_scenes(max(batch_sizes), cfg.image_size, seed=0, max_objects=cfg.shapes_max_objects)
    rng = np.random.default_rng(0)
    tok = D.tokenize([D.make_caption(a, kind, rng) for a in scenes.attrs], max_len(cfg, kind))
    out: dict[str, dict[int, dict[str, float]]] = {m: {} for m in C.COST_METHODS}
    sync = _sync(device)
    for b in progress(batch_sizes, desc="full-step sweep"):
        images = torch.from_numpy(scenes.images[:b]).to(device)
        ids = torch.from_numpy(tok.ids[:b]).to(device)
        mask = torch.from_numpy(tok.mask[:b]).to(device)
        fns = {}
        for m in C.COST_METHODS:
            fn = C.full_step_fn(model, m, images, ids, mask)
            model.zero_grad(set_to_none=True)
            flops = C.measure_flops(fn)
            model.zero_grad(set_to_none=True)
            out[m][b] = {"flops": flops, "peak_bytes": C.measure_peak_bytes(fn, device)}

            def timed_fn(fn=fn):
                model.zero_grad(set_to_none=True)
                fn().backward()
                sync()
            fns[m] = timed_fn
        if timed:
            for m, t in compare(fns, warmup=1, repeats=repeats).items():
                out[m][b]["seconds"] = t.median_s
    return out


def ratio_rows(sweep, what: str, batch_sizes, scale: float = 1.0, fmt: str = "{:.3g}") -> list[list]:
    rows = []
    for b in batch_sizes:
        base = sweep["clip"].get(b, {}).get(what)
        row = [b]
        for m in C.COST_METHODS:
            val = sweep[m].get(b, {}).get(what)
            row.append(None if val is None else fmt.format(val * scale))
        for m in ("sparc", "filip"):
            val = sweep[m].get(b, {}).get(what)
            row.append(None if val is None or not base else f"{val / base:.3f}")
        rows.append(row)
    return rows


def _ratio(sweep, m: str, b: int, what: str) -> float:
    return sweep[m][b][what] / sweep["clip"][b][what]


def cost_claims(loss: dict, step: dict) -> list[claims.Claim]:
    """C5a (loss-only FLOPs scaling), C5b (full-step FLOPs), C5c (full-step peak memory)."""
    out = []
    bs = sorted(set(loss["sparc"]) & set(loss["clip"]))
    bf = sorted(loss["filip"])
    if len(bs) >= 2 and len(bf) >= 2:
        per_sample = [(loss["sparc"][b]["flops"] - loss["clip"][b]["flops"]) / b for b in bs]
        filip_growth = (loss["filip"][bf[-1]]["flops"] / bf[-1]) / (loss["filip"][bf[0]]["flops"] / bf[0])
        out.append(claims.all_of([
            claims.threshold(max(per_sample) / min(per_sample), FLAT, id="C5a-sparc", name="SPARC fine-grained "
                             "FLOPs per sample, max/min over B", statement="SPARC's extra loss FLOPs are linear in B"),
            claims.threshold(filip_growth, 0.5 * bf[-1] / bf[0], at_most=False, id="C5a-filip",
                             name=f"FILIP loss FLOPs per sample, B={bf[-1]} over B={bf[0]}",
                             statement="FILIP's loss FLOPs are quadratic in B")],
            id="C5a", statement="Loss only: SPARC's fine-grained FLOPs grow linearly with B, FILIP's quadratically "
                                "(paper Table 11, Sec. 5.6)"))
    bsteps = sorted(step["clip"])
    if len(bsteps) >= 2:
        for cid, what, name in (("C5b", "flops", "FLOPs"), ("C5c", "peak_bytes", "peak memory")):
            sparc = [_ratio(step, "sparc", b, what) for b in bsteps]
            filip = [_ratio(step, "filip", b, what) for b in bsteps]
            parts = [claims.threshold(max(sparc) / min(sparc), FLAT, id=f"{cid}-flat",
                                      name=f"max/min over B of SPARC/CLIP {name}",
                                      statement=f"SPARC's {name} overhead over CLIP is flat in B"),
                     claims.threshold((filip[-1] - 1) / max(filip[0] - 1, 1e-12), GROWTH, at_most=False,
                                      id=f"{cid}-filip", name=f"FILIP/CLIP {name} overhead, B={bsteps[-1]} over "
                                      f"B={bsteps[0]}", statement=f"FILIP's {name} overhead grows with B")]
            if what == "flops":
                parts.insert(0, claims.threshold(max(sparc), SPARC_MAX_FLOP_OVERHEAD, id=f"{cid}-small",
                                                 name="max over B of SPARC/CLIP FLOPs",
                                                 statement="SPARC costs at most 10% more FLOPs than CLIP"))
            out.append(claims.all_of(parts, id=cid, statement=f"Full training step: SPARC's {name} overhead over "
                                     f"CLIP stays flat{' and small' if what == 'flops' else ''}, FILIP's grows with B "
                                     "(paper Table 11)"))
    return out


def plot(loss, step, path) -> None:
    fig, axes = new_figure(3, 1, width=3.6, height=3.0)
    for ax, (sweep, what, title) in zip(axes[0], ((loss, "flops", "loss only: FLOPs / CLIP"),
                                                  (step, "flops", "full step: FLOPs / CLIP"),
                                                  (step, "peak_bytes", "full step: peak memory / CLIP"))):
        for m in ("sparc", "filip"):
            bs = sorted(b for b in sweep[m] if b in sweep["clip"])
            ax.plot(bs, [_ratio(sweep, m, b, what) for b in bs], "o-", label=m.upper())
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("batch size")
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=8)
    save_figure(fig, path)


def run(cfg: Config, seeds: list[int], scale: str, out_dir, device_name: str = "auto") -> RunRecord:
    device = _device(device_name)
    rec = RunRecord(paper="sparc", experiment=NAME, scale=scale, config=cfg.__dict__, seeds=seeds)
    kind = "shapes"
    patches = cfg.cost_patches or (cfg.image_size // cfg.patch_size) ** 2
    tokens = cfg.cost_tokens or max_len(cfg, kind)
    dim = cfg.cost_dim or cfg.embed_dim
    bs = list(cfg.cost_batch_sizes)
    loss = loss_only_sweep(bs, patches, tokens, dim, device, cfg.cost_repeats, cfg.cost_filip_max_batch)
    step_bs = [b for b in bs if b <= cfg.cost_step_max_batch]
    step = full_step_sweep(cfg, step_bs, device, cfg.cost_repeats)
    rec.metrics = {"loss_only": loss, "full_step": step, "device": str(device),
                   "loss_shape": {"P": patches, "L": tokens, "d": dim}}
    cols = ["batch", "CLIP", "SPARC", "FILIP", "SPARC/CLIP", "FILIP/CLIP"]
    rec.add_table(f"Loss only, forward + backward: GFLOPs (P={patches}, L={tokens}, d={dim})", cols,
                  ratio_rows(loss, "flops", bs, 1e-9), caption="FlopCounterMode counts matmuls only.")
    rec.add_table("Loss only: peak memory above baseline (MB)", cols, ratio_rows(loss, "peak_bytes", bs, 1e-6),
                  caption="FILIP's similarity is computed in blocks of 64 texts (its (B, P, B, L) tensor would not "
                  "fit at paper sizes), so its loss-only memory grows ~linearly beyond B = 64.")
    rec.add_table("Loss only: median time (ms)", cols, ratio_rows(loss, "seconds", bs, 1e3),
                  caption=f"{device}; shared machine, not judged (the coordinator's bench records idle timings).")
    rec.add_table("Full training step of our model (encoders + objective): GFLOPs", cols,
                  ratio_rows(step, "flops", step_bs, 1e-9))
    rec.add_table("Full training step: peak memory above the parameters (MB)", cols,
                  ratio_rows(step, "peak_bytes", step_bs, 1e-6))
    rec.add_table("Full training step: median time (ms)", cols, ratio_rows(step, "seconds", step_bs, 1e3))
    rec.add_table("Paper Table 11 (ViT-B/16, per step): TFLOPs and peak MB at B = 2k / 4k / 8k / 16k",
                  ["method", "TFLOPs", "peak MB"],
                  [[m.upper(), " / ".join(map(str, PAPER_TFLOPS[m])), " / ".join(map(str, PAPER_MB[m]))]
                   for m in C.COST_METHODS])
    rec.notes = ("Our cost sweep uses our toy model and random embeddings of the loss shapes above; the paper's "
                 "numbers are for ViT-B/16 at batch 2k-16k on TPUs. Peak memory on CPU is the peak of the bytes "
                 "held by tensors created during the step (exact, no allocator caching); on CUDA "
                 "torch.cuda.max_memory_allocated above the baseline.")
    plot(loss, step, out_dir / "cost_ratios.png")
    rec.plots.append("cost_ratios.png")
    for c in cost_claims(loss, step):
        rec.add_claim(c)
    return rec
