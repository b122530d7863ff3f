"""async_gnn: reproduction of arXiv:2306.15632, "Asynchronous Algorithmic Alignment with Cocycles"
(Dudzik, von Glehn, Pascanu, Veličković, 2023).

* ``algebra``: commutative monoids, tropical products, the law checkers (associativity, commutativity, identity,
  action, cocycle, homomorphism) with ``LawReport``;
* ``layers``: MPNN (Level 1), L2 (Level 2), MaxMax (invariant by construction), ``check_layer``;
* ``engine``: synchronous / Level-2 / Level-3 execution of a layer under random delivery schedules;
* ``algorithms``: Bellman-Ford and BFS in the lexicographic min-plus algebra, synchronous and event-driven
  asynchronous execution to quiescence, message counts;
* ``data``, ``model``, ``losses``, ``train``: CLRS-30 Bellman-Ford / BFS pointer learning with invariance losses;
* ``experiments``: E1 exact invariance, E2 learning, E3 message counts (``python -m async_gnn.reproduce``).
"""

__version__ = "0.1.0"
