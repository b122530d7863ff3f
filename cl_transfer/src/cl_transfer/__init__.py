"""cl_transfer: reproduction of arXiv:2307.05741, "Towards Robust and Efficient Continual Language
Learning (with the survey Continual Learning: Applications and the Road Forward, arXiv:2311.11908)"
(Fisch et al., 2023; Verwimp et al., TMLR 2024).

Status: not implemented yet (see README.md).
"""

__version__ = "0.1.0"
