"""One module per reproduced figure/table; each ``run(cfg, scale, out_dir)`` returns a RunRecord with its claims."""

EXPERIMENTS = ("e1_toy_landscapes", "e2_sharp_minimum_escape", "e3_language_model", "e4_digits",
               "e5_sharpness_distance", "e6_transient_ablation")
