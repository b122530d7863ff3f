"""sparc: reproduction of arXiv:2401.09865, "Improving fine-grained understanding in image-text pre-
training (SPARC)" (Bica et al., ICML 2024).

Status: not implemented yet (see README.md).
"""

__version__ = "0.1.0"
