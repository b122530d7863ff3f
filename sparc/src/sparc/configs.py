"""Configurations per scale (every knob the experiments vary; ``--set field=value`` overrides one).

quick: a few minutes on 2 shared CPU cores (one seed: claims judged on seed spread are INCONCLUSIVE);
full: about 1 h on 2 idle cores (3 seeds, two worker processes); gpu: about 10 GPU minutes (untested).
"""

from __future__ import annotations

import dataclasses

from repro_shared.cli import ConfigError

ALL_METHODS = ("clip", "sparc", "sparc_no_sparsity", "sparc_softmax", "filip")
DATASETS = ("shapes", "digits")


@dataclasses.dataclass(frozen=True)
class Config:
    seeds: tuple[int, ...] = (0,)
    # which (dataset, method) runs are trained; experiments 1-4 all read the same runs
    shapes_methods: tuple[str, ...] = ALL_METHODS
    digits_methods: tuple[str, ...] = ("clip", "sparc")
    # data (paper notes Sec. 5): ShapeScenes and DigitScenes
    image_size: int = 32
    patch_size: int = 8
    digit_px: int = 12
    shapes_max_objects: int = 3
    digits_max_objects: int = 3
    n_train: int = 10000
    n_test: int = 500  # multi-object test scenes (retrieval, segmentation, pointing, faithfulness)
    # model (paper notes Sec. 5: d 64-128, 3-4 + 2 layers, 4 heads)
    width: int = 64
    vision_depth: int = 3
    text_depth: int = 2
    heads: int = 4
    embed_dim: int = 64
    # optimisation (AdamW, cosine, warm-up; λ_g 0.5 as the paper, λ_f 1 from the paper's grid)
    steps: int = 200
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.1
    warmup_steps: int = 20
    lambda_g: float = 0.5
    lambda_f: float = 1.0
    reduction: str = "sample"
    probe_every: int = 50  # pointing game logged every so many steps
    n_probe: int = 128
    # execution
    workers: int = 1  # training processes run side by side (one torch thread each)
    threads: int = 1  # torch threads of the main process (cost sweep, MiniLM); small models run best on one
    # MiniLM text-tower variant (SPARC-LiT): frozen MiniLM, cached features
    minilm_methods: tuple[str, ...] = ("clip", "sparc")
    minilm_n_train: int = 500
    minilm_captions_per_image: int = 2
    minilm_steps: int = 100
    minilm_seeds: int = 1
    # cost (paper Table 11): loss-only sweep at our sizes, full-step FLOPs/memory vs batch size
    cost_batch_sizes: tuple[int, ...] = (32, 64, 128, 256)
    cost_repeats: int = 5
    cost_patches: int = 0  # loss-only shapes; 0 = our model's P, L, d
    cost_tokens: int = 0
    cost_dim: int = 0
    cost_filip_max_batch: int = 1 << 30
    cost_step_max_batch: int = 1 << 30

    def validate(self) -> Config:
        for field in ("shapes_methods", "digits_methods", "minilm_methods"):
            for m in getattr(self, field):
                if m not in ALL_METHODS:
                    raise ConfigError(field, m, ALL_METHODS)
        if self.image_size % self.patch_size:
            raise ConfigError("image_size", self.image_size, f"a multiple of patch_size={self.patch_size}")
        if self.reduction not in ("sample", "token"):
            raise ConfigError("reduction", self.reduction, ("sample", "token"))
        if self.width % self.heads:
            raise ConfigError("heads", self.heads, f"a divisor of width={self.width}")
        for field in ("steps", "batch_size", "n_train", "n_test", "workers", "threads", "n_probe"):
            if getattr(self, field) < 1:
                raise ConfigError(field, getattr(self, field), "an integer >= 1")
        if self.digit_px > self.image_size // 2:
            raise ConfigError("digit_px", self.digit_px, f"at most image_size/2 = {self.image_size // 2}")
        return self


CONFIGS: dict[str, Config] = {
    "quick": Config(),
    "full": Config(
        seeds=(0, 1, 2), digits_methods=("clip", "sparc", "filip"), image_size=48, digit_px=16, digits_max_objects=4,
        n_train=20000, n_test=1000, steps=1000, batch_size=128, warmup_steps=100, probe_every=200, workers=2,
        minilm_n_train=3000, minilm_steps=500, minilm_seeds=3, cost_batch_sizes=(64, 128, 256, 512),
        cost_repeats=10, cost_step_max_batch=256,
    ),
    "gpu": Config(
        seeds=(0, 1, 2), image_size=64, digit_px=16, digits_max_objects=4, n_train=50000, n_test=1000,
        width=256, vision_depth=4, text_depth=2, heads=8, embed_dim=256, steps=2000, batch_size=512,
        warmup_steps=200, probe_every=500, workers=1, digits_methods=ALL_METHODS,
        minilm_n_train=10000, minilm_steps=1000, minilm_seeds=3, cost_batch_sizes=(256, 1024, 4096, 8192),
        cost_repeats=10, cost_patches=196, cost_tokens=55, cost_dim=512, cost_filip_max_batch=1024,
        cost_step_max_batch=1024,
    ),
}
