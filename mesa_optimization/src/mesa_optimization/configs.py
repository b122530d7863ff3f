"""Configurations per scale (fields prefixed by the experiment that reads them).

quick: minutes on 2 CPU cores (what ``make reproduce-mesa_optimization`` runs); full: designed for about
45-75 minutes on 2 idle cores; gpu: paper-length training for about 10 GPU minutes (untested here).
Paper values (App. A, Tables 1-3): D=10, T=50, batch 256, AdamW, warm-up to 7e-4 then cosine, up to 10k steps.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Config:
    seeds: tuple[int, ...] = (0,)
    T: int = 50  # sequence length of the linear-dynamics task (paper: 50)
    eval_batch: int = 2048

    # E1 depth (Fig. 4A-D): LinSA-k on constructed tokens, Mesa-1, hand-built baselines
    e1_depths: tuple[int, ...] = (1, 2, 4, 6)
    e1_steps_linsa1: int = 300
    e1_batch_linsa1: int = 256
    e1_steps_deep: int = 600
    e1_batch_deep: int = 64
    e1_lr: float = 1e-3
    e1_steps_mesa: int = 400
    e1_batch_mesa: int = 128
    e1_prop2_steps: int = 300

    # E3 probes (Fig. 4E/F)
    e3_fit_batch: int = 2048
    e3_test_batch: int = 2048

    # E4 softmax Transformers and the hybrid (Figs. 2A, 3A, 5A, 7A)
    e4_softmax_depths: tuple[int, ...] = (2, 4)
    e4_steps: int = 800
    e4_batch: int = 64
    e4_lr: float = 3e-3
    e4_distil_steps: int = 300
    e4_probe_batch: int = 1024

    # E5 few-shot regression (Fig. 8)
    e5_T: int = 128
    e5_steps: int = 400
    e5_batch: int = 64
    e5_lr: float = 3e-3
    e5_pairs: int = 40
    e5_eos_steps: int = 300
    e5_eval_batch: int = 1024

    # E6 character-level language model on text shipped with Python (beyond the paper's synthetic tasks)
    e6_context: int = 128
    e6_batch: int = 32
    e6_steps: int = 400
    e6_lr: float = 3e-3
    e6_width: int = 64
    e6_heads: int = 4
    e6_key: int = 16
    e6_layers: int = 2
    e6_eval_batches: int = 32


CONFIGS: dict[str, Config] = {
    # about 8 CPU-minutes: one seed, short training (deep models under-trained)
    "quick": Config(),
    # about 60 CPU-minutes (45-60 min wall on 2 idle cores): three seeds, 2-4x longer training
    "full": Config(
        seeds=(0, 1, 2),
        e1_steps_linsa1=1000, e1_steps_deep=1200, e1_batch_deep=128, e1_steps_mesa=1500, e1_prop2_steps=1000,
        e4_steps=1500, e4_distil_steps=800,
        e5_steps=1200, e5_eos_steps=600,
        e6_steps=1500,
    ),
    # untested (no GPU in the development session): paper-length training, 5 seeds, Transformer-7
    "gpu": Config(
        seeds=(0, 1, 2, 3, 4),
        e1_steps_linsa1=3000, e1_steps_deep=10000, e1_batch_deep=256, e1_steps_mesa=5000, e1_batch_mesa=256,
        e1_prop2_steps=2000,
        e4_softmax_depths=(2, 4, 7), e4_steps=10000, e4_batch=256, e4_lr=1e-3, e4_distil_steps=3000,
        e5_T=224, e5_steps=10000, e5_batch=128, e5_lr=1e-3, e5_eos_steps=5000,
        e6_steps=10000, e6_batch=64, e6_context=512, e6_width=128, e6_heads=8,
    ),
}
