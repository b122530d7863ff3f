"""memory_adam: reproduction of arXiv:2307.09638, "Promoting Exploration in Memory-Augmented Adam using
Critical Momenta (Adam+CM)" (Malviya et al., TMLR 2024).

Status: not implemented yet (see README.md).
"""

__version__ = "0.1.0"
