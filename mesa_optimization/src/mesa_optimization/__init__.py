"""mesa_optimization: reproduction of arXiv:2309.05858, "Uncovering mesa-optimization algorithms in
Transformers" (von Oswald et al., 2023).

Status: not implemented yet (see README.md).
"""

__version__ = "0.1.0"
