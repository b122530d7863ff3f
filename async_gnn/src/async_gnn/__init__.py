"""async_gnn: reproduction of arXiv:2306.15632, "Asynchronous Algorithmic Alignment with Cocycles"
(Dudzik, von Glehn, Pascanu, Veličković, 2023).

Status: not implemented yet (see README.md).
"""

__version__ = "0.1.0"
