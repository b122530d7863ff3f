"""One module per paper result we reproduce; each ``run(cfg, scale, out_dir, cache)`` returns a RunRecord."""
