"""One module per experiment of the issue; each ``run(cfg, scale, out_dir)`` returns a RunRecord with its claims."""

EXPERIMENTS = ("e1_invariance", "e2_learning", "e3_messages")
