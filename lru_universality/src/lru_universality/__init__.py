"""lru_universality: reproduction of arXiv:2307.11888, "On the Universality of Linear Recurrences
Followed by Nonlinear Projections" (Orvieto, De, Gulcehre, Pascanu, Smith, 2023 (LRU:
arXiv:2303.06349)).

Status: not implemented yet (see README.md).
"""

__version__ = "0.1.0"
