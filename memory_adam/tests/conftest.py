import os

import torch

# Tiny tensors: one thread avoids OpenMP contention on a shared 2-core machine (10-1000x slower there).
torch.set_num_threads(1)
os.environ.setdefault("REPRO_NO_PROGRESS", "1")
