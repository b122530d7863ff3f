"""modular_hyperteacher: reproduction of arXiv:2312.15001, "Discovering modular solutions that
generalize compositionally" (Schug et al., ICLR 2024).

Status: not implemented yet (see README.md).
"""

__version__ = "0.1.0"
