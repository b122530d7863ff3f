"""l2m: reproduction of arXiv:2306.14884, "Learning to Modulate pre-trained Models in RL" (Schmied,
Hofmarcher, Paischer, Pascanu, Hochreiter, NeurIPS 2023).

Status: not implemented yet (see README.md).
"""

__version__ = "0.1.0"
