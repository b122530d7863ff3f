"""The four meta-learned students of the hyperteacher experiments (paper Sec. 4; reference ``metax/module``).

Every student splits its parameters into *meta-parameters* (learned by the outer loop) and *fast parameters*
(reset per task to a meta-learned or fixed value, then adapted by the inner loop):

=================  ==================================================  =========================================
student            meta-parameters                                     fast parameters (inner loop)
=================  ==================================================  =========================================
``hnet_linear``    linear module banks (bias-free Linear(M -> chunk))  one embedding (R^M) per generated layer
                   + embedding inits                                   + an output bias (``fast_bias``)
``hnet_deepmlp``   deep MLP banks (LN, [Linear(32), LN, ELU] x 4,      one embedding per generated layer
                   Linear) + embedding inits
``anil``           MLP body + head init                                the linear head
``learned_init``   the initialization of a whole MLP (MAML)            all weights of the MLP
=================  ==================================================  =========================================

Hypernetwork students generate *every* layer of their target MLP d_in -> H x num_hidden -> d_out, weights and
biases, with fan-in scaling in the forward pass: the input layer and the output layer from their own bank, all
hidden layers from one shared bank (one embedding each). Each embedding is rescaled to norm sqrt(M) in the
forward pass (stop-gradient on the scale), as the reference's ``embedding_normalization``.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

import flax.linen as nn
import jax
import jax.numpy as jnp

STUDENTS = ("hnet_linear", "hnet_deepmlp", "anil", "learned_init")

Params = Any


class Student(Protocol):
    """What the meta-learner needs from a student."""

    def init(self, rng: jax.Array) -> Params: ...

    def reset(self, meta: Params) -> Params: ...

    def apply(self, meta: Params, fast: Params, x: jax.Array) -> jax.Array: ...


class LinearBank(nn.Module):
    """A bias-free linear map from an embedding (R^M) to one chunk of target parameters: M modules."""

    chunk_dim: int

    @nn.compact
    def __call__(self, emb: jax.Array) -> jax.Array:
        init = nn.initializers.truncated_normal(1.0 / math.sqrt(emb.shape[-1]))
        return nn.Dense(self.chunk_dim, use_bias=False, kernel_init=init)(emb)


class DeepMLPBank(nn.Module):
    """The nonlinear hypernetwork: LN -> [Linear(hidden) -> LN -> ELU] x depth -> bias-free Linear(chunk)."""

    chunk_dim: int
    hidden_dim: int = 32
    depth: int = 4

    @nn.compact
    def __call__(self, emb: jax.Array) -> jax.Array:
        h = nn.LayerNorm(epsilon=1e-5)(emb)
        for _ in range(self.depth):
            h = nn.elu(nn.LayerNorm(epsilon=1e-5)(nn.Dense(self.hidden_dim)(h)))
        init = nn.initializers.truncated_normal(1.0 / math.sqrt(self.hidden_dim))
        return nn.Dense(self.chunk_dim, use_bias=False, kernel_init=init)(h)


class MLP(nn.Module):
    """ReLU MLP with default (haiku-like: truncated normal 1/sqrt(fan_in), zero bias) initialization."""

    sizes: tuple[int, ...]
    activate_final: bool = False

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        for i, size in enumerate(self.sizes):
            x = nn.Dense(size, kernel_init=nn.initializers.lecun_normal())(x)
            if i < len(self.sizes) - 1 or self.activate_final:
                x = nn.relu(x)
        return x


def target_forward(layers: list[tuple[jax.Array, jax.Array]], x: jax.Array, *, prescaled: bool = False
                   ) -> jax.Array:
    """Reparametrized MLP: x @ w / sqrt(fan_in) + b, ReLU between layers, none after the last
    (``prescaled``: the weights already carry the 1 / sqrt(fan_in))."""
    for i, (w, b) in enumerate(layers):
        x = x @ w + b if prescaled else x @ w / math.sqrt(w.shape[0]) + b
        if i < len(layers) - 1:
            x = jax.nn.relu(x)
    return x


def normalize_embedding(emb: jax.Array) -> jax.Array:
    """Rescale each embedding (row) to norm sqrt(M); the scale is a constant for the gradient."""
    scale = math.sqrt(emb.shape[-1]) / jnp.linalg.norm(emb, axis=-1, keepdims=True)
    return emb * jax.lax.stop_gradient(scale)


class HypernetworkStudent:
    """Modular student: module banks generate every layer of a target MLP from per-layer embeddings."""

    def __init__(self, input_dim: int, output_dim: int, hidden_dim: int, num_hidden: int, num_modules: int,
                 bank: str = "linear", fast_bias: bool = True):
        if bank not in ("linear", "deepmlp"):
            raise ValueError(f"bank must be linear or deepmlp, got {bank!r}")
        if num_hidden < 1:
            raise ValueError("num_hidden must be >= 1")
        self.input_dim, self.output_dim, self.hidden_dim = input_dim, output_dim, hidden_dim
        self.num_hidden, self.num_modules, self.fast_bias = num_hidden, num_modules, fast_bias
        bank_cls = LinearBank if bank == "linear" else DeepMLPBank
        self.chunk_dims = {
            "input": input_dim * hidden_dim + hidden_dim,
            "hidden": hidden_dim * hidden_dim + hidden_dim,
            "output": hidden_dim * output_dim + output_dim,
        }
        self.num_chunks = {"input": 1, "hidden": num_hidden - 1, "output": 1}
        self.banks = {k: bank_cls(self.chunk_dims[k]) for k in self.chunk_dims if self.num_chunks[k] > 0}

    def init(self, rng: jax.Array) -> Params:
        rngs = jax.random.split(rng, 2 * len(self.banks))
        banks, emb_init = {}, {}
        for i, (name, bank) in enumerate(self.banks.items()):
            n = self.num_chunks[name]
            banks[name] = bank.init(rngs[2 * i], jnp.zeros((n, self.num_modules)))
            # haiku VarianceScaling(1, fan_in, uniform) on shape (chunks, M): fan_in = chunks
            limit = math.sqrt(3.0 / n)
            emb_init[name] = jax.random.uniform(rngs[2 * i + 1], (n, self.num_modules), minval=-limit, maxval=limit)
        return {"banks": banks, "emb_init": emb_init}

    def reset(self, meta: Params) -> Params:
        fast = {"emb": meta["emb_init"]}
        if self.fast_bias:
            fast["bias"] = jnp.zeros((self.output_dim,))
        return fast

    def generate(self, meta: Params, fast: Params) -> list[tuple[jax.Array, jax.Array]]:
        """Target-network layers [(w / sqrt(fan_in), b), ...] from the (normalized) embeddings."""
        d, h, o = self.input_dim, self.hidden_dim, self.output_dim
        shapes = {"input": (d, h), "hidden": (h, h), "output": (h, o)}
        layers = []
        for name in ("input", "hidden", "output"):
            if name not in self.banks:
                continue
            emb = normalize_embedding(fast["emb"][name])
            fan_in, fan_out = shapes[name]
            if isinstance(self.banks[name], LinearBank):
                # weights and biases from the two column blocks of the bank's kernel: the same chunk as
                # bank(emb), without slicing it (whose backward pass pads every chunk's cotangent)
                kernel = meta["banks"][name]["params"]["Dense_0"]["kernel"]
                # the 1 / sqrt(fan_in) of the forward pass folded into the (task-independent) kernel
                ws = (emb @ (kernel[:, : fan_in * fan_out] / math.sqrt(fan_in))).reshape(-1, fan_in, fan_out)
                bs = emb @ kernel[:, fan_in * fan_out:]
            else:
                chunks = self.banks[name].apply(meta["banks"][name], emb)
                ws = chunks[:, : fan_in * fan_out].reshape(-1, fan_in, fan_out) / math.sqrt(fan_in)
                bs = chunks[:, fan_in * fan_out:]
            layers.extend(zip(ws, bs))
        return layers

    def apply(self, meta: Params, fast: Params, x: jax.Array) -> jax.Array:
        out = target_forward(self.generate(meta, fast), x, prescaled=True)
        return out + fast["bias"] if self.fast_bias else out


class ANILStudent:
    """Almost-no-inner-loop: a meta-learned body, only the linear head adapts.

    The body does not depend on the fast parameters, so :meth:`features` can be computed once per task and the
    head adapted on cached features (:class:`~modular_hyperteacher.metalearn.MetaLearner` does this when
    ``cache_features``); the reference recomputes the body at every inner step.
    """

    def __init__(self, input_dim: int, output_dim: int, hidden_dim: int, num_hidden: int):
        self.input_dim, self.output_dim = input_dim, output_dim
        self.body = MLP((hidden_dim,) * num_hidden, activate_final=True)
        self.head = nn.Dense(output_dim, kernel_init=nn.initializers.lecun_normal())
        self.hidden_dim = hidden_dim

    def init(self, rng: jax.Array) -> Params:
        rng_body, rng_head = jax.random.split(rng)
        return {"body": self.body.init(rng_body, jnp.zeros((1, self.input_dim))),
                "head_init": self.head.init(rng_head, jnp.zeros((1, self.hidden_dim)))}

    def reset(self, meta: Params) -> Params:
        return meta["head_init"]

    def features(self, meta: Params, x: jax.Array) -> jax.Array:
        return self.body.apply(meta["body"], x)

    def head_apply(self, fast: Params, features: jax.Array) -> jax.Array:
        return self.head.apply(fast, features)

    def apply(self, meta: Params, fast: Params, x: jax.Array) -> jax.Array:
        return self.head_apply(fast, self.features(meta, x))


class LearnedInitStudent:
    """MAML: the whole MLP adapts from a meta-learned initialization."""

    def __init__(self, input_dim: int, output_dim: int, hidden_dim: int, num_hidden: int):
        self.input_dim = input_dim
        self.net = MLP((hidden_dim,) * num_hidden + (output_dim,))

    def init(self, rng: jax.Array) -> Params:
        return {"init": self.net.init(rng, jnp.zeros((1, self.input_dim)))}

    def reset(self, meta: Params) -> Params:
        return meta["init"]

    def apply(self, meta: Params, fast: Params, x: jax.Array) -> jax.Array:
        return self.net.apply(fast, x)


def make_student(name: str, *, input_dim: int, output_dim: int, hidden_dim: int, num_hidden: int = 3,
                 num_modules: int | None = None) -> Student:
    """A student by the reference's method name (``num_modules`` M only for the hypernetworks)."""
    if name in ("hnet_linear", "hnet_deepmlp"):
        if not num_modules:
            raise ValueError(f"{name} needs num_modules")
        bank = "linear" if name == "hnet_linear" else "deepmlp"
        return HypernetworkStudent(input_dim, output_dim, hidden_dim, num_hidden, num_modules, bank=bank,
                                   fast_bias=name == "hnet_linear")
    if name == "anil":
        return ANILStudent(input_dim, output_dim, hidden_dim, num_hidden)
    if name == "learned_init":
        return LearnedInitStudent(input_dim, output_dim, hidden_dim, num_hidden)
    raise ValueError(f"student must be one of {STUDENTS}, got {name!r}")


def count_params(tree: Params) -> int:
    return sum(int(x.size) for x in jax.tree_util.tree_leaves(tree))
