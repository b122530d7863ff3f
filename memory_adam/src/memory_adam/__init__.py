"""memory_adam: reproduction of arXiv:2307.09638, "Promoting Exploration in Memory-Augmented Adam using
Critical Momenta" (Malviya et al., TMLR 2024).

Library: :class:`AdamCM` (Adam + critical momenta) and :class:`AdamCG` (Adam + critical gradients, McRae et al.)
with the reference optimizer's semantics, a :class:`SAM` wrapper, :func:`top_hessian_eigenvalue` (sharpness) and
:class:`BatchedOptimizer` (many independent runs at once, for the 2-D experiments).
"""

from memory_adam.batched import BatchedOptimizer
from memory_adam.optim import AdamCG, AdamCM
from memory_adam.sam import SAM
from memory_adam.sharpness import top_hessian_eigenvalue

__version__ = "0.1.0"
__all__ = ["AdamCM", "AdamCG", "SAM", "BatchedOptimizer", "top_hessian_eigenvalue", "__version__"]
