"""One training run = (dataset, method, seed): build the data, train, evaluate everything once.

Experiments 1-4 all read the same runs. Each run's metrics are written to
``results/<scale>/runs/<dataset>_<method>_s<seed>.json`` together with a digest of the config fields that
shape it, and reused while that digest matches (``--retrain`` forces a new run).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch

from repro_shared.progress import progress
from repro_shared.results import write_text_atomic
from sparc import data as D
from sparc import evaluate as E
from sparc.configs import Config
from sparc.models import ModelConfig, build_model, count_parameters
from sparc.pipeline import WordCaptionSampler, fixed_captions
from sparc.train import TrainConfig, scoring_of, train

DATA_SEED = 0  # the datasets are fixed; run seeds change initialisation and batch order
TEST_SEED = 1_000_003
N_ALIGNMENT_EXAMPLES = 4
_NOT_RUN_FIELDS = {"seeds", "shapes_methods", "digits_methods", "workers", "threads"}


def run_digest(cfg: Config) -> str:
    """Digest of the config fields that shape a training run (not the run list, cost or MiniLM fields)."""
    fields = {k: v for k, v in dataclasses.asdict(cfg).items()
              if k not in _NOT_RUN_FIELDS and not k.startswith(("cost_", "minilm_"))}
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]


def max_objects(cfg: Config, kind: str) -> int:
    return cfg.shapes_max_objects if kind == "shapes" else cfg.digits_max_objects


def max_len(cfg: Config, kind: str) -> int:
    return D.max_caption_length(kind, max_objects(cfg, kind))


@dataclasses.dataclass
class DataBundle:
    train: D.Scenes
    test: D.Scenes  # multi-object test scenes
    single: D.Scenes  # single-object zero-shot test scenes
    captions: list[list[D.Caption]]  # 5 per test scene: [0] is retrieved, all 5 are the K-P knowledge


def load_data(cfg: Config, kind: str, n_train: int | None = None) -> DataBundle:
    """The cached train / test sets of one dataset (deterministic from fixed seeds)."""
    n_train = cfg.n_train if n_train is None else n_train
    k = max_objects(cfg, kind)
    if kind == "shapes":
        train_set = D.cached(D.make_shape_scenes, n=n_train, image_size=cfg.image_size, seed=DATA_SEED,
                             max_objects=k)
        test = D.cached(D.make_shape_scenes, n=cfg.n_test, image_size=cfg.image_size, seed=TEST_SEED,
                        max_objects=k, allow_held_out=True)
        pairs = D.single_object_pairs()
        single = D.cached(D.make_shape_scenes, n=4 * len(pairs), image_size=cfg.image_size, seed=TEST_SEED + 1,
                          max_objects=1, pairs=pairs)
    elif kind == "digits":
        common = dict(image_size=cfg.image_size, digit_px=cfg.digit_px, max_objects=k)
        train_set = D.cached(D.make_digit_scenes, n=n_train, seed=DATA_SEED, split="train", **common)
        test = D.cached(D.make_digit_scenes, n=cfg.n_test, seed=TEST_SEED, split="test", **common)
        single = D.cached(D.make_digit_scenes, n=cfg.n_test, seed=TEST_SEED + 1, split="test", single=True,
                          **{**common, "max_objects": 1})
    else:
        raise ValueError(f"invalid value for 'dataset': {kind!r} (allowed: shapes, digits)")
    return DataBundle(train_set, test, single, fixed_captions(test, TEST_SEED + 2, per_image=5))


def model_config(cfg: Config, kind: str) -> ModelConfig:
    return ModelConfig(image_size=cfg.image_size, patch_size=cfg.patch_size, vision_width=cfg.width,
                       vision_depth=cfg.vision_depth, text_width=cfg.width, text_depth=cfg.text_depth,
                       heads=cfg.heads, embed_dim=cfg.embed_dim, vocab_size=len(D.VOCAB), max_len=max_len(cfg, kind))


def train_config(cfg: Config, method: str) -> TrainConfig:
    return TrainConfig(method=method, steps=cfg.steps, batch_size=cfg.batch_size, lr=cfg.lr,
                       weight_decay=cfg.weight_decay, warmup_steps=cfg.warmup_steps, lambda_g=cfg.lambda_g,
                       lambda_f=cfg.lambda_f, reduction=cfg.reduction)


def evaluate_all(model, bundle: DataBundle, tokenizer: E.Tokenizer, scoring: str, patch_size: int
                 ) -> dict[str, float]:
    """Every metric of experiments 1-3 on one trained model."""
    metrics: dict[str, float] = {}
    metrics.update(E.zero_shot_classification(model, bundle.single, tokenizer, scoring))
    img = E.embed_images(model, bundle.test.images)
    first = [c[0] for c in bundle.captions]
    tokens = tokenizer(first)
    txt = E.embed_texts(model, tokens)
    metrics.update(E.retrieval(img, txt, scoring))
    metrics.update(E.segmentation(model, bundle.test, tokenizer, scoring, img=img, patch_size=patch_size))
    for attribute in ("colour", "category"):
        metrics[f"seg_{attribute}_oracle"] = E.oracle_miou(bundle.test, attribute, patch_size)
    weights = E.alignment_weights(model, bundle.test.images, tokens).numpy()
    metrics.update(E.pointing_game(weights, tokens, E.object_patches(bundle.test, patch_size)))
    metrics.update(E.faithfulness(model, bundle.test, first, bundle.captions, img, txt, scoring))
    metrics.update(E.binding(model, bundle.test, tokenizer, img, scoring))
    return metrics


def alignment_examples(model, bundle: DataBundle, tokenizer: E.Tokenizer, n: int = N_ALIGNMENT_EXAMPLES
                       ) -> dict[str, Any]:
    """Token-to-patch weights of the first ``n`` multi-object test scenes (for the alignment-map figure)."""
    idx = [i for i in range(len(bundle.test)) if bundle.test.n_objects[i] >= 2][:n]
    caps = [bundle.captions[i][0] for i in idx]
    tokens = tokenizer(caps)
    w = E.alignment_weights(model, bundle.test.images[idx], tokens).numpy()
    return {"test_index": idx, "images": bundle.test.images[idx].tolist(),
            "words": [c.words for c in caps],
            "weights": [w[j, :len(c.words)].round(4).tolist() for j, c in enumerate(caps)]}


def run_one(cfg: Config, kind: str, method: str, seed: int, device: str = "cpu") -> dict[str, Any]:
    """Train one (dataset, method, seed) and evaluate it; returns a JSON-ready dict."""
    torch.set_num_threads(1)
    torch.manual_seed(seed)
    bundle = load_data(cfg, kind)
    mcfg = model_config(cfg, kind)
    model = build_model(mcfg).to(device)
    tcfg = train_config(cfg, method)
    probe_idx = np.arange(min(cfg.n_probe, len(bundle.test)))
    probe_tokens = D.tokenize([bundle.captions[i][0] for i in probe_idx], mcfg.max_len)
    probe = E.PointingProbe(bundle.test.subset(probe_idx), probe_tokens, cfg.patch_size)
    result = train(model, WordCaptionSampler(bundle.train, mcfg.max_len), tcfg, seed, probe=probe,
                   probe_every=cfg.probe_every, desc=f"{kind}/{method}/s{seed}")
    tokenizer = E.Tokenizer(mcfg.max_len)
    t0 = time.perf_counter()
    metrics = evaluate_all(model, bundle, tokenizer, scoring_of(method), cfg.patch_size)
    return {
        "dataset": kind, "method": method, "seed": seed, "digest": run_digest(cfg),
        "metrics": metrics, "history": result.history, "step_time_s": result.step_time_s,
        "train_wall_s": result.wall_time_s, "eval_wall_s": time.perf_counter() - t0,
        "parameters": count_parameters(model),
        "alignment_examples": alignment_examples(model, bundle, tokenizer) if seed == min(cfg.seeds) else None,
    }


def _run_path(runs_dir: Path, kind: str, method: str, seed: int) -> Path:
    return runs_dir / f"{kind}_{method}_s{seed}.json"


def _job(args: tuple[Config, str, str, int, str, str]) -> dict[str, Any]:
    cfg, kind, method, seed, runs_dir, device = args
    out = run_one(cfg, kind, method, seed, device)
    # compact JSON: the alignment examples hold images as nested lists
    write_text_atomic(_run_path(Path(runs_dir), kind, method, seed), json.dumps(out, separators=(",", ":")) + "\n")
    return out


def ensure_runs(cfg: Config, wanted: Iterable[tuple[str, str, int]], runs_dir: Path, retrain: bool = False,
                device: str = "cpu") -> dict[tuple[str, str, int], dict[str, Any]]:
    """Load the runs whose stored digest matches ``cfg``; train the others (``cfg.workers`` processes)."""
    digest = run_digest(cfg)
    have: dict[tuple[str, str, int], dict[str, Any]] = {}
    todo = []
    for kind, method, seed in dict.fromkeys(wanted):
        path = _run_path(runs_dir, kind, method, seed)
        if path.is_file() and not retrain:
            stored = json.loads(path.read_text())
            if stored.get("digest") == digest:
                have[(kind, method, seed)] = stored
                continue
        todo.append((kind, method, seed))
    if todo:
        print(f"training {len(todo)} run(s) ({len(have)} reused from {runs_dir})", flush=True)
        # build the data caches once, before workers race to build them
        for kind in dict.fromkeys(k for k, _, _ in todo):
            load_data(cfg, kind)
        jobs = [(cfg, k, m, s, str(runs_dir), device) for k, m, s in todo]
        if cfg.workers > 1 and len(jobs) > 1:
            import multiprocessing as mp

            with ProcessPoolExecutor(max_workers=cfg.workers, mp_context=mp.get_context("spawn")) as pool:
                for out in progress(pool.map(_job, jobs), total=len(jobs), desc="runs"):
                    have[(out["dataset"], out["method"], out["seed"])] = out
        else:
            for job in progress(jobs, desc="runs"):
                out = _job(job)
                have[(out["dataset"], out["method"], out["seed"])] = out
    return have
