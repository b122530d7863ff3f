"""The paper's algebra as code: commutative monoids, monoid actions, cocycles, homomorphisms, law checkers.

Dudzik et al. (arXiv:2306.15632, Sec. 3; reconstruction in the package README) describe a message-passing layer as

* messages living in a **commutative monoid** (M, ⊕, 0) — the aggregator (max, min, sum, ...);
* a node-state update that is a **monoid action** of M on states: ``s·0 = s`` and ``s·(m ⊕ n) = (s·m)·n``
  (receiving a bag of messages at once or split over time gives the same state: "Level 2");
* an **argument emission** ``D(m)(s)`` into a second commutative monoid A that is a **1-cocycle**:
  ``D(m ⊕ n)(s) = D(m)(s) ⊕_A D(n)(s·m)`` (the total emitted arguments do not depend on the batching);
* a **message function** ψ that is a monoid homomorphism A → M in each argument separately ("Level 3").

Every element here works on arrays whose leading axes are batch axes; a structured element (the lexicographic
tuples of Bellman-Ford) keeps its components on the last axis. The checkers take any functions of that shape,
evaluate both sides of a law on sampled elements and report the largest violation (0 when the law holds exactly).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import jax.numpy as jnp

Array = Any  # a jax or numpy array


# --------------------------------------------------------------------------- monoids


@dataclasses.dataclass(frozen=True)
class Monoid:
    """A monoid (X, ⊕, e) on arrays: ``op`` elementwise (or per element of the last axis if ``structured``).

    ``identity_like(x)`` gives the identity with the shape and dtype of ``x``; ``reduce(x, mask, axis)`` folds
    ``x`` along ``axis`` over the positions where ``mask`` is true (the identity where none is).
    """

    name: str
    op: Callable[[Array, Array], Array]
    identity_like: Callable[[Array], Array]
    commutative: bool = True
    idempotent: bool = False
    structured: bool = False  # elements are the vectors along the last axis (lexicographic tuples)

    def reduce(self, x: Array, mask: Array, axis: int) -> Array:
        """⊕ over ``axis`` of the entries of ``x`` selected by ``mask`` (broadcast against ``x``)."""
        if self.name == "max":
            return jnp.max(jnp.where(mask, x, -jnp.inf), axis=axis)
        if self.name == "min":
            return jnp.min(jnp.where(mask, x, jnp.inf), axis=axis)
        if self.name == "sum":
            return jnp.sum(jnp.where(mask, x, 0), axis=axis)
        # generic fold (structured monoids; short axes only)
        if self.structured:
            axis = axis % x.ndim
            if axis == x.ndim - 1:
                raise ValueError("a structured monoid cannot reduce over its component axis")
        xs = jnp.moveaxis(jnp.where(mask, x, self.identity_like(x)), axis, 0)
        out = xs[0]
        for i in range(1, xs.shape[0]):
            out = self.op(out, xs[i])
        return out


MAX = Monoid("max", jnp.maximum, lambda x: jnp.full_like(x, -jnp.inf), idempotent=True)
MIN = Monoid("min", jnp.minimum, lambda x: jnp.full_like(x, jnp.inf), idempotent=True)
SUM = Monoid("sum", jnp.add, jnp.zeros_like)


def lex_less(x: Array, y: Array) -> Array:
    """``x < y`` in lexicographic order of the last axis (components compared left to right)."""
    less = jnp.zeros(x.shape[:-1], bool)
    equal = jnp.ones(x.shape[:-1], bool)
    for k in range(x.shape[-1]):
        less = less | (equal & (x[..., k] < y[..., k]))
        equal = equal & (x[..., k] == y[..., k])
    return less


def _lex_min(x: Array, y: Array) -> Array:
    return jnp.where(lex_less(y, x)[..., None], y, x)


LEX_MIN = Monoid("lexmin", _lex_min, lambda x: jnp.full_like(x, jnp.inf), idempotent=True, structured=True)
"""(R̄^k, lexicographic min, (∞, …, ∞)): Bellman-Ford's (distance, hops, parent) messages."""


def _last(x: Array, y: Array) -> Array:
    return y


LAST = Monoid("last", _last, lambda x: jnp.full_like(x, jnp.nan), commutative=False, idempotent=True)
"""The "keep the latest" semigroup: associative, not commutative (a counter-example for the checkers)."""

MONOIDS: dict[str, Monoid] = {m.name: m for m in (MAX, MIN, SUM, LEX_MIN)}


# --------------------------------------------------------------------------- the tropical semiring

def min_plus_matvec(weights: Array, x: Array) -> Array:
    """Min-plus product ``y_i = min_j (W_ij + x_j)`` (the tropical semiring (R̄, min, +), Bellman-Ford's step)."""
    return jnp.min(weights + x[..., None, :], axis=-1)


def max_plus_matvec(weights: Array, x: Array) -> Array:
    """Max-plus product ``y_c = max_d (W_cd + x_d)``: coordinatewise non-decreasing, hence a max-homomorphism."""
    return jnp.max(weights + x[..., None, :], axis=-1)


# --------------------------------------------------------------------------- gaps

def gap(x: Array, y: Array, structured: bool = False) -> Array:
    """Per-element distance |x - y| that is 0 where x == y (equal infinities included) and inf where NaN appears.

    Structured elements (last axis = one tuple) give the max over their components.
    """
    x, y = jnp.asarray(x), jnp.asarray(y)
    d = jnp.where(x == y, 0.0, jnp.abs(x - y))
    d = jnp.where(jnp.isnan(d), jnp.inf, d)
    return d.max(axis=-1) if structured else d


@dataclasses.dataclass(frozen=True)
class LawReport:
    """One law checked on sampled elements: whether it held within ``tol`` and its largest violation."""

    subject: str
    law: str
    max_violation: float
    tol: float = 0.0
    n_samples: int = 0

    @property
    def holds(self) -> bool:
        return self.max_violation <= self.tol

    def row(self) -> list[Any]:
        return [self.subject, self.law, "holds" if self.holds else "FAILS", self.max_violation, self.n_samples]

    def __str__(self) -> str:
        status = "holds" if self.holds else "FAILS"
        return f"{self.subject}: {self.law} {status} (max violation {self.max_violation:.3g}, tol {self.tol:g})"


# --------------------------------------------------------------------------- law checkers (violations as arrays)

def associativity_violation(m: Monoid, x: Array, y: Array, z: Array) -> Array:
    """|(x ⊕ y) ⊕ z − x ⊕ (y ⊕ z)| per element."""
    return gap(m.op(m.op(x, y), z), m.op(x, m.op(y, z)), m.structured)


def commutativity_violation(m: Monoid, x: Array, y: Array) -> Array:
    """|x ⊕ y − y ⊕ x| per element."""
    return gap(m.op(x, y), m.op(y, x), m.structured)


def identity_violation(m: Monoid, x: Array) -> Array:
    """|x ⊕ e − x| and |e ⊕ x − x| per element (the larger)."""
    e = m.identity_like(x)
    return jnp.maximum(gap(m.op(x, e), x, m.structured), gap(m.op(e, x), x, m.structured))


def action_violation(update: Callable[[Array, Array], Array], m: Monoid, s: Array, a: Array, b: Array,
                     structured: bool = False) -> Array:
    """Action law |(s·a)·b − s·(a ⊕ b)| per element (Level 2: split delivery = joint delivery)."""
    return gap(update(update(s, a), b), update(s, m.op(a, b)), structured)


def action_identity_violation(update: Callable[[Array, Array], Array], m: Monoid, s: Array, like: Array,
                              structured: bool = False) -> Array:
    """|s·0 − s| per element (receiving nothing changes nothing)."""
    return gap(update(s, m.identity_like(like)), s, structured)


def cocycle_violation(emit: Callable[[Array, Array], Array], update: Callable[[Array, Array], Array],
                      m: Monoid, arg: Monoid, s: Array, a: Array, b: Array) -> Array:
    """1-cocycle law |D(a ⊕ b)(s) − D(a)(s) ⊕_A D(b)(s·a)| per element (Level 3: emitted arguments)."""
    lhs = emit(s, m.op(a, b))
    rhs = arg.op(emit(s, a), emit(update(s, a), b))
    return gap(lhs, rhs, arg.structured)


def cocycle_normalisation_violation(emit: Callable[[Array, Array], Array], m: Monoid, arg: Monoid, s: Array,
                                    like: Array) -> Array:
    """|D(0)(s) − 0_A|: receiving nothing emits nothing (needed for "emit only on change")."""
    out = emit(s, m.identity_like(like))
    return gap(out, arg.identity_like(out), arg.structured)


def homomorphism_violation(psi: Callable[[Array], Array], source: Monoid, target: Monoid, a: Array,
                           b: Array) -> Array:
    """|ψ(a ⊕ b) − ψ(a) ⊕ ψ(b)| per element: ψ a (semigroup) homomorphism from ``source`` to ``target``."""
    return gap(psi(source.op(a, b)), target.op(psi(a), psi(b)), target.structured)


# --------------------------------------------------------------------------- reports

def check_monoid(m: Monoid, samples: Sequence[Array], subject: str | None = None, tol: float = 0.0) -> list[LawReport]:
    """Associativity, commutativity and identity of ``m`` on three sample arrays of equal shape."""
    x, y, z = samples
    subject = subject or f"monoid {m.name}"
    n = int(jnp.size(x) // (x.shape[-1] if m.structured else 1))
    return [
        LawReport(subject, "associativity", max_violation(associativity_violation(m, x, y, z)), tol, n),
        LawReport(subject, "commutativity", max_violation(commutativity_violation(m, x, y)), tol, n),
        LawReport(subject, "identity", max_violation(identity_violation(m, x)), tol, n),
    ]


def max_violation(violation: Array) -> float:
    """The largest entry of a violation array (0 for an empty array)."""
    return float(jnp.max(violation)) if jnp.size(violation) else 0.0
