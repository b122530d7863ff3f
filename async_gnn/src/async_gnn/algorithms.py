"""Bellman-Ford and BFS built from the paper's algebra, run to quiescence under any schedule (arXiv:2306.15632).

State, message and argument monoid: lexicographic min over tuples (distance, hops, parent) — the tropical
semiring's (min, +) with CLRS's tie-breaking made explicit:

* update (an action; min is idempotent): ``s·m = lexmin(s, m)``;
* emission "only on improvement" (a normalised 1-cocycle): ``D(m)(s) = m if m < s else identity``;
* message function along u→v with weight w: ``ψ_uv(d, h, p) = (d + w, h + 1, u)``; it preserves the order, hence
  is a lexmin-homomorphism (+ distributes over min; the one float corner — two distances that round to the same
  sum with opposite hop order — has probability ~0 on continuous weights and never occurs with integer ones).

BFS is the same algebra with unit weights (distance = level). The lexicographic fixed point is CLRS's output:
the parent is the smallest-index predecessor among shortest paths with the fewest hops, exactly what dm-clrs's
synchronous ``bellman_ford`` / ``bfs`` return (``pi``); unreachable nodes keep themselves as parent.

Three executions (the paper's motivation: most nodes have nothing to say on most steps):

* ``run_sync(problem, "always")``: CLRS's synchronous rounds — every reached node sends on every out-edge each
  round, until a round changes nothing;
* ``run_sync(problem, "on_change")``: synchronous rounds, a node sends only in the round after it improved;
* ``run_async(problem, schedule, rng)``: event driven — messages in flight arrive after random delays, nodes fire
  at random times and process what has arrived in random batches and order; each message is delivered exactly
  once (checked); the run ends at quiescence (nothing in flight, nothing unprocessed).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from async_gnn import algebra
from async_gnn.algebra import LEX_MIN, LawReport

POLICIES = ("always", "on_change")


# --------------------------------------------------------------------------- problems


@dataclasses.dataclass(frozen=True)
class Problem:
    """A single-source shortest-path problem: ``weights[u, v]`` of edge u→v (inf where there is none)."""

    weights: np.ndarray
    source: int

    @property
    def n(self) -> int:
        return self.weights.shape[0]

    @property
    def num_edges(self) -> int:
        return int(np.isfinite(self.weights).sum())


def bellman_ford_problem(A: np.ndarray, source: int) -> Problem:
    """CLRS convention: an edge u→v wherever ``A[u, v] != 0``, with weight ``A[u, v]``."""
    A = np.asarray(A, dtype=np.float64)
    return Problem(np.where(A != 0, A, np.inf), int(source))


def bfs_problem(A: np.ndarray, source: int) -> Problem:
    """CLRS's BFS: an edge u→v wherever ``A[u, v] > 0``; unit weights (distance = BFS level)."""
    A = np.asarray(A)
    return Problem(np.where(A > 0, 1.0, np.inf), int(source))


def initial_states(problem: Problem) -> np.ndarray:
    """(n, 3) states (distance, hops, parent): (0, 0, s) at the source, (inf, inf, v) elsewhere."""
    s = np.full((problem.n, 3), np.inf)
    s[:, 2] = np.arange(problem.n)
    s[problem.source] = (0.0, 0.0, problem.source)
    return s


# --------------------------------------------------------------------------- lexicographic helpers (numpy)


def lex_less(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``x < y`` lexicographically along the last axis."""
    less = np.zeros(x.shape[:-1], bool)
    equal = np.ones(x.shape[:-1], bool)
    for k in range(x.shape[-1]):
        less |= equal & (x[..., k] < y[..., k])
        equal &= x[..., k] == y[..., k]
    return less


def lex_min_rows(x: np.ndarray) -> np.ndarray:
    """The lexicographic minimum of the rows of ``x`` (m, 3)."""
    return x[np.lexsort(x.T[::-1])[0]]


def lex_min_columns(d: np.ndarray, h: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Per column, the lexicographic minimum of (d, h, p) over axis 0; returns (columns, 3)."""
    best_d = d.min(axis=0)
    tie = d == best_d
    best_h = np.where(tie, h, np.inf).min(axis=0)
    tie &= h == best_h
    best_p = np.where(tie, p, np.inf).min(axis=0)
    return np.stack([best_d, best_h, best_p], axis=-1)


# --------------------------------------------------------------------------- results


@dataclasses.dataclass
class RunResult:
    """Final states and the message traffic of one execution."""

    states: np.ndarray  # (n, 3): distance, hops, parent
    messages: int  # messages sent (one per out-edge per emission)
    rounds: int  # synchronous rounds, or ticks of the asynchronous clock
    sent_ids: np.ndarray | None = None
    delivered_ids: np.ndarray | None = None

    @property
    def distances(self) -> np.ndarray:
        return self.states[:, 0]

    @property
    def parents(self) -> np.ndarray:
        return self.states[:, 2].astype(np.int64)

    @property
    def delivered_exactly_once(self) -> bool:
        """Every sent message was delivered, none twice (synchronous runs deliver by construction)."""
        if self.sent_ids is None:
            return True
        return bool(np.array_equal(np.sort(self.delivered_ids), np.sort(self.sent_ids)))


# --------------------------------------------------------------------------- synchronous rounds


def run_sync(problem: Problem, policy: str = "always") -> RunResult:
    """Synchronous rounds with ``policy`` "always" (CLRS: every reached node sends every round until nothing
    changes) or "on_change" (a node sends in the round after it improved; ends when nothing is in flight)."""
    if policy not in POLICIES:
        raise ValueError(f"invalid value for 'policy': {policy!r} (allowed: {', '.join(POLICIES)})")
    W = problem.weights
    edge = np.isfinite(W)
    outdeg = edge.sum(axis=1)
    states = initial_states(problem)
    senders = np.zeros(problem.n, bool)
    senders[problem.source] = True
    messages = rounds = 0
    while True:
        if policy == "always":
            senders = np.isfinite(states[:, 0])
        if not senders.any():
            break
        rounds += 1
        messages += int(outdeg[senders].sum())
        u = np.nonzero(senders)[0]
        d = states[u, 0][:, None] + W[u]  # (senders, receivers); inf where no edge
        h = np.where(edge[u], states[u, 1][:, None] + 1, np.inf)
        p = np.where(edge[u], u[:, None].astype(np.float64), np.inf)
        incoming = lex_min_columns(d, h, p)
        improved = lex_less(incoming, states)
        states = np.where(improved[:, None], incoming, states)
        if policy == "always" and not improved.any():
            break
        senders = improved
    return RunResult(states, messages, rounds)


# --------------------------------------------------------------------------- asynchronous execution


@dataclasses.dataclass(frozen=True)
class AsyncSchedule:
    """Random asynchrony: per tick each in-flight message arrives with ``p_arrive`` (random delays), each node
    holding arrived messages fires with ``p_fire`` and splits them into 1..``max_batches`` random batches in random
    order. ``one_by_one``: a single random in-flight message is delivered and processed per tick."""

    name: str
    p_arrive: float = 0.5
    p_fire: float = 0.5
    max_batches: int = 3
    one_by_one: bool = False


ASYNC_SCHEDULES: dict[str, AsyncSchedule] = {s.name: s for s in (
    AsyncSchedule("random"),
    AsyncSchedule("slow_links", p_arrive=0.15, p_fire=0.9, max_batches=2),
    AsyncSchedule("lazy_nodes", p_arrive=0.9, p_fire=0.15, max_batches=4),
    AsyncSchedule("one_by_one", one_by_one=True),
)}


def run_async(problem: Problem, schedule: AsyncSchedule, rng: np.random.Generator) -> RunResult:
    """Event-driven execution with emission only on improvement, to quiescence (see the module docstring)."""
    W = problem.weights
    out = [np.nonzero(np.isfinite(W[u]))[0] for u in range(problem.n)]
    states = initial_states(problem)
    # the in-flight / arrived pool, as parallel arrays
    dst = np.zeros(0, np.int64)
    payload = np.zeros((0, 3))
    ids = np.zeros(0, np.int64)
    arrived = np.zeros(0, bool)
    new_dst: list[np.ndarray] = []
    new_payload: list[np.ndarray] = []
    next_id = 0
    delivered: list[np.ndarray] = []

    def send(u: int, arg: np.ndarray) -> None:
        nonlocal next_id
        vs = out[u]
        if vs.size == 0:
            return
        pay = np.empty((vs.size, 3))
        pay[:, 0] = arg[0] + W[u, vs]
        pay[:, 1] = arg[1] + 1
        pay[:, 2] = u
        new_dst.append(vs)
        new_payload.append(pay)
        next_id += vs.size

    def fire(v: int, idx: np.ndarray) -> None:
        """Node v processes the arrived messages ``idx`` in random batches and random order."""
        order = rng.permutation(idx)
        nb = 1 if schedule.one_by_one else int(rng.integers(1, min(schedule.max_batches, order.size) + 1))
        cuts = np.sort(rng.choice(np.arange(1, order.size), nb - 1, replace=False)) if nb > 1 else []
        for batch in np.split(order, cuts):
            m = lex_min_rows(payload[batch])  # ⊕ of the batch
            if lex_less(m, states[v]):  # D(m)(s) = m on improvement, identity (nothing sent) otherwise
                states[v] = m
                send(v, m)

    send(problem.source, states[problem.source])  # the source's initial argument
    ticks = 0
    while True:
        if new_dst:
            fresh = np.concatenate(new_dst)
            dst = np.concatenate([dst, fresh])
            payload = np.concatenate([payload, *new_payload])
            ids = np.concatenate([ids, np.arange(next_id - fresh.size, next_id)])
            arrived = np.concatenate([arrived, np.zeros(fresh.size, bool)])
            new_dst.clear()
            new_payload.clear()
        if dst.size == 0:
            break
        ticks += 1
        processed = np.zeros(dst.size, bool)
        if schedule.one_by_one:
            i = int(rng.integers(dst.size))
            processed[i] = True
            fire(int(dst[i]), np.array([i]))
        else:
            arrived |= rng.random(dst.size) < schedule.p_arrive
            if not arrived.any():
                arrived[rng.integers(dst.size)] = True
            holders = np.unique(dst[arrived])
            firing = holders[rng.random(holders.size) < schedule.p_fire]
            if firing.size == 0:
                firing = holders[rng.integers(holders.size)][None]
            fires = np.isin(dst, firing) & arrived
            processed |= fires
            idx = np.nonzero(fires)[0]
            idx = idx[np.argsort(dst[idx], kind="stable")]
            groups = np.split(idx, np.nonzero(np.diff(dst[idx]))[0] + 1)
            for g in (groups[i] for i in rng.permutation(len(groups))):
                fire(int(dst[g[0]]), g)
        delivered.append(ids[processed])
        keep = ~processed
        dst, payload, ids, arrived = dst[keep], payload[keep], ids[keep], arrived[keep]
    delivered_ids = np.concatenate(delivered) if delivered else np.zeros(0, np.int64)
    return RunResult(states, next_id, ticks, sent_ids=np.arange(next_id), delivered_ids=delivered_ids)


# --------------------------------------------------------------------------- the laws of the algorithm's algebra


def _lex_min_jnp(x: jax.Array, y: jax.Array) -> jax.Array:
    return LEX_MIN.op(x, y)


def emit_on_change(s: jax.Array, m: jax.Array) -> jax.Array:
    """D(m)(s) = m if m < s (lexicographically) else the identity: Bellman-Ford's "send only on improvement"."""
    better = algebra.lex_less(m, s)[..., None]
    return jnp.where(better, m, jnp.full_like(m, jnp.inf))


def emit_always(s: jax.Array, m: jax.Array) -> jax.Array:
    """D(m)(s) = s·m: re-send the state after every receipt (a cocycle by idempotence, but not normalised)."""
    return LEX_MIN.op(s, m)


def edge_message(weight: jax.Array, sender: jax.Array):
    """ψ_uv(d, h, p) = (d + w_uv, h + 1, u), vectorised over samples (weight, sender per row)."""
    def psi(a: jax.Array) -> jax.Array:
        return jnp.stack([a[..., 0] + weight, a[..., 1] + 1, jnp.broadcast_to(sender, a[..., 0].shape)], axis=-1)
    return psi


def sample_elements(rng: np.random.Generator, n: int, n_nodes: int = 16, integer: bool = False,
                    p_inf: float = 0.2) -> np.ndarray:
    """n random (distance, hops, parent) tuples with some infinite distances and many ties in each component."""
    d = rng.integers(0, 5, n).astype(float) if integer else np.round(rng.random(n) * 4, 1)
    d[rng.random(n) < p_inf] = np.inf
    h = rng.integers(0, 4, n).astype(float)
    h[np.isinf(d)] = np.inf
    p = rng.integers(0, n_nodes, n).astype(float)
    return np.stack([d, h, p], axis=-1)


def check_algebra(rng: np.random.Generator, n: int = 512, name: str = "bellman_ford",
                  integer: bool = False) -> list[LawReport]:
    """The paper's laws for the shortest-path algebra (float64): monoid, action, both emissions, ψ."""
    with jax.enable_x64(True):
        s, m1, m2, a1, a2 = (jnp.asarray(sample_elements(rng, n, integer=integer)) for _ in range(5))
        w = jnp.asarray(rng.integers(1, 4, n).astype(float) if integer else np.round(rng.random(n) * 2, 1) + 0.1)
        u = jnp.asarray(rng.integers(0, 16, n).astype(float))
        mon = max(r.max_violation for r in algebra.check_monoid(LEX_MIN, (m1, m2, s)))
        viol = algebra.max_violation
        return [
            LawReport(name, "message monoid", mon, 0.0, n),
            LawReport(name, "action", viol(algebra.action_violation(_lex_min_jnp, LEX_MIN, s, m1, m2, True)), 0.0, n),
            LawReport(name, "action identity",
                      viol(algebra.action_identity_violation(_lex_min_jnp, LEX_MIN, s, m1, True)), 0.0, n),
            LawReport(name, "cocycle (emit on change)", viol(algebra.cocycle_violation(
                emit_on_change, _lex_min_jnp, LEX_MIN, LEX_MIN, s, m1, m2)), 0.0, n),
            LawReport(name, "cocycle normalisation (emit on change)", viol(
                algebra.cocycle_normalisation_violation(emit_on_change, LEX_MIN, LEX_MIN, s, m1)), 0.0, n),
            LawReport(name, "cocycle (emit always)", viol(algebra.cocycle_violation(
                emit_always, _lex_min_jnp, LEX_MIN, LEX_MIN, s, m1, m2)), 0.0, n),
            LawReport(name, "cocycle normalisation (emit always)", viol(
                algebra.cocycle_normalisation_violation(emit_always, LEX_MIN, LEX_MIN, s, m1)), 0.0, n),
            LawReport(name, "homomorphism (ψ)", viol(algebra.homomorphism_violation(
                edge_message(w, u), LEX_MIN, LEX_MIN, a1, a2)), 0.0, n),
        ]
