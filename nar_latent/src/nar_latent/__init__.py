"""nar_latent: reproduction of arXiv:2307.08874, "Latent Space Representations of Neural Algorithmic
Reasoners" (Mirjanić, Pascanu, Veličković, 2023).

Status: not implemented yet (see README.md).
"""

__version__ = "0.1.0"
