"""One module per paper experiment: pretrain (E1), single_task (E2), continual (E3)."""
