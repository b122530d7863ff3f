"""Task supports of the theory experiment and the theory's generalization conditions (paper Sec. 3, Thm. 1).

A *support* is the set of module combinations seen during meta-training. The reference sweeps
(``sweeps/theory/overlap_{discrete,continuous}.yml``) write them as ``"0,1;1,2;..."``: tasks separated by
``;``, active modules of a task separated by ``,``; a repeated index does not change the task
(``"0,0"`` is the one-hot of module 0).

The theory predicts compositional generalization (a student at zero training loss identifies the teacher's
modules up to a linear map) when the support is

* **compositional**: the training codes span R^M (discrete codes: ``rank(Z) = M``; continuous codes draw
  random weights on the active modules, so it suffices that every module is used), and
* **connected**: the module co-occurrence graph (modules as nodes, an edge between two modules active in the
  same task) has one component.
"""

from __future__ import annotations

import dataclasses

import numpy as np

# The reference sweeps' hand-written supports over M = 6 modules, in the sweeps' order.
DISCRETE_SUPPORTS: tuple[str, ...] = (
    "0;1;2;3;4;5",
    "0,1;1,2;2,3;3,4;4,5;5,0",
    "0,0;1,1;2,2;3,3;4,4;5,5;0,1;1,2;2,0;3,4;4,5;5,3",
    "0,1,2;3,4,5",
    "0,1,2;1,2,3;2,3,4;3,4,5;4,5,0;5,0,1",
    "0,0,0;1,1,1;2,2,2;3,3,3;4,4,4;5,5,5;0,1,1;1,1,2;2,0,0;3,4,4;4,4,5;5,5,3",
    "0,1,2,3,4,5",
    "0,0;1,1;2,2;3,3;4,4;5,5;0,1;1,2;2,3;3,4;4,5;5,0",
    "0,0,0;1,1,1;2,2,2;3,3,3;4,4,4;5,5,5;0,1,2;2,3,4;4,5,0",
    "0,0,0;1,1,1;2,2,2;3,3,3;4,4,4;5,5,5;0,1,2;1,2,4;2,3,4;3,4,5;4,5,0;5,0,1",
    "0,0,0,0,0,0;1,1,1,1,1,1;2,2,2,2,2,2;3,3,3,3,3,3;4,4,4,4,4,4;5,5,5,5,5,5;0,1,2,3,4,5",
)
CONTINUOUS_SUPPORTS: tuple[str, ...] = (
    "0;1;2;3;4;5",
    "0,1;1,2;2,0;3,4;4,5;5,3",
    "0,1,2;3,4,5",
    "0,1,2;3,4,5;0,1,1;1,1,2;2,0,0;3,4,4;4,4,5;5,5,3",
    "0,1;1,2;2,3;3,4;4,5;5,0",
    "0,1,2;2,3,4;4,5,0",
    "0,1,2;1,2,4;2,3,4;3,4,5;4,5,0;5,0,1",
    "0,1,2,3,4,5",
)
# The sweeps' own comments ("# Doomed" / "# Blessed"): the first 7 discrete and first 4 continuous are Doomed.
REFERENCE_LABELS: dict[tuple[str, bool], bool] = {
    **{(s, False): i >= 7 for i, s in enumerate(DISCRETE_SUPPORTS)},
    **{(s, True): i >= 4 for i, s in enumerate(CONTINUOUS_SUPPORTS)},
}


def parse_support(text: str, num_modules: int) -> np.ndarray:
    """``"0,1;1,2"`` -> k-hot codes of shape (tasks, num_modules), entries 0/1."""
    rows = []
    for task in text.split(";"):
        idx = [int(i) for i in task.split(",")]
        if min(idx) < 0 or max(idx) >= num_modules:
            raise ValueError(f"module index out of range [0, {num_modules}) in support {text!r}")
        row = np.zeros(num_modules)
        row[idx] = 1.0
        rows.append(row)
    return np.stack(rows)


def is_connected(codes: np.ndarray) -> bool:
    """Whether the module co-occurrence graph of the k-hot ``codes`` (tasks, M) is connected.

    Nodes are all M modules; an unused module is an isolated node (so the graph is then disconnected).
    """
    active = codes > 0
    num_modules = codes.shape[1]
    adjacency = (active.T.astype(int) @ active.astype(int)) > 0
    seen = {0}
    frontier = [0]
    while frontier:
        m = frontier.pop()
        for n in np.flatnonzero(adjacency[m]):
            if n not in seen:
                seen.add(int(n))
                frontier.append(int(n))
    return len(seen) == num_modules


def is_compositional(codes: np.ndarray, continuous: bool) -> bool:
    """Discrete codes: they span R^M. Continuous codes: every module is used (random weights then span R^M)."""
    if continuous:
        return bool(np.all(codes.sum(0) > 0))
    return int(np.linalg.matrix_rank(codes)) == codes.shape[1]


@dataclasses.dataclass(frozen=True)
class Support:
    """One training support of the theory experiment and the theory's verdict on it."""

    text: str
    continuous: bool
    codes: np.ndarray  # (tasks, M) k-hot, not yet normalized / weighted

    @property
    def compositional(self) -> bool:
        return is_compositional(self.codes, self.continuous)

    @property
    def connected(self) -> bool:
        return is_connected(self.codes)

    @property
    def generalizing(self) -> bool:
        """The theory's label ("Blessed" in the reference sweeps): compositional and connected."""
        return self.compositional and self.connected

    @property
    def name(self) -> str:
        return f"{'cont' if self.continuous else 'disc'}:{self.text}"

    @property
    def rank(self) -> int:
        return int(np.linalg.matrix_rank(self.codes))


def theory_supports(kind: str = "all", num_modules: int = 6) -> list[Support]:
    """The reference sweeps' supports: ``kind`` in {"discrete", "continuous", "all"}."""
    if kind not in ("discrete", "continuous", "all"):
        raise ValueError(f"kind must be discrete, continuous or all, got {kind!r}")
    out = []
    if kind in ("discrete", "all"):
        out += [Support(s, False, parse_support(s, num_modules)) for s in DISCRETE_SUPPORTS]
    if kind in ("continuous", "all"):
        out += [Support(s, True, parse_support(s, num_modules)) for s in CONTINUOUS_SUPPORTS]
    return out
