"""One module per reproduced figure group of arXiv:2309.05858; each ``run(cfg, scale, out_dir)`` returns a RunRecord
ending in its pre-registered claims."""

from mesa_optimization.experiments import (
    e1_depth,
    e2_reverse,
    e3_probes,
    e4_softmax,
    e5_fewshot,
    e6_charlm,
)

REGISTRY = {m.NAME: m for m in (e1_depth, e2_reverse, e3_probes, e4_softmax, e5_fewshot, e6_charlm)}
