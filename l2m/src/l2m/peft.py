"""Fine-tuning methods that keep the pre-trained backbone frozen (paper Sec. 3.2 / 4.2) and L2M (Sec. 3.3).

Each method is an ``nn.Module`` with ``modulate(tokens, step_mask, task_ids) -> Modulation``; the backbone
calls the returned hooks (:class:`l2m.model.Modulation`). Only the method's own parameters train.

* :class:`LoRA` (Hu et al.): low-rank updates of q, v and of the FF hidden layer, B = 0 at init.
* :class:`IA3` (Liu et al.): learned scalings of keys, values and FF activations (init 1).
* :class:`Adapters` (Houlsby et al.): bottleneck MLPs (reduction 16, swish) after attention and FF, up = 0.
* :class:`PromptTuning` / :class:`PrefixTuning`: learned input tokens / per-layer key-value prefixes.
* :class:`L2P` (Wang et al.): a prompt pool with learned keys, top-N prompts per sample prepended.
* :class:`L2M`: a pool of LoRA modulators with learned keys, top-1 per sample by cosine similarity of the
  mean state embedding and the keys, a pull term on the selected keys, and (in training, from the second task
  on) a usage-count penalty that steers each new task to unused modulators. ``oracle=True`` routes by task id.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from l2m.model import ModelConfig, Modulation, state_query


def _kaiming_a(shape: tuple[int, ...], fan_in: int) -> torch.Tensor:
    """``kaiming_uniform_(a=sqrt(5))`` of an ``nn.Linear`` with ``fan_in`` inputs: U(-1/sqrt(fan_in), +)."""
    bound = 1.0 / math.sqrt(fan_in)
    return torch.empty(shape).uniform_(-bound, bound)


# --------------------------------------------------------------------------- LoRA and the L2M pool

class LoRAModulation(Modulation):
    """q' = q + s x A_q B_q, v' = v + s x A_v B_v, u' = u + s u A_ff B_ff (u: the 4d hidden after c_fc).

    With ``idx`` (per-sample entry of a pool) samples are grouped by modulator: one modulator for the batch
    runs dense matmuls; a few (<= ``max_groups``) run one dense matmul pair per group on the sorted batch; many
    gather the factors per sample for batched matmuls. ``gate`` (0/1 per sample) switches modulation off.
    """

    max_groups = 4

    def __init__(self, lora: LoRAPool, idx: torch.Tensor | None, gate: torch.Tensor | None = None,
                 aux_loss: torch.Tensor | float = 0.0):
        self.lora, self.scale, self.gate, self.aux_loss = lora, lora.scale, gate, aux_loss
        self.mode, self.groups = "dense", [0]
        if idx is not None:
            uniq, counts = torch.unique(idx, return_counts=True)
            self.groups = uniq.tolist()
            if len(self.groups) > self.max_groups:
                self.mode, self.idx = "gather", idx
                self.f = {n: (getattr(lora, f"a_{n}")[idx], getattr(lora, f"b_{n}")[idx]) for n in ("q", "v", "ff")}
            elif len(self.groups) > 1:
                self.mode = "grouped"
                self.order = torch.argsort(idx, stable=True)
                self.inverse = torch.argsort(self.order)
                self.counts = counts.tolist()

    def _delta(self, name: str, layer: int, x: torch.Tensor) -> torch.Tensor:
        a_all, b_all = getattr(self.lora, f"a_{name}"), getattr(self.lora, f"b_{name}")
        if self.mode == "dense":
            m = self.groups[0]
            out = torch.matmul(torch.matmul(x, a_all[m, layer]), b_all[m, layer])
        elif self.mode == "grouped":
            parts = torch.split(x[self.order], self.counts)
            out = torch.cat([torch.matmul(torch.matmul(xs, a_all[m, layer]), b_all[m, layer])
                             for xs, m in zip(parts, self.groups)])[self.inverse]
        else:
            a, b = self.f[name]
            out = torch.matmul(torch.matmul(x, a[:, layer]), b[:, layer])
        out = out * self.scale
        return out if self.gate is None else out * self.gate[:, None, None].to(out.dtype)

    def q(self, layer, x, q):
        return q + self._delta("q", layer, x)

    def v(self, layer, x, v):
        return v + self._delta("v", layer, x)

    def ff_hidden(self, layer, u):
        return u + self._delta("ff", layer, u)


class LoRAPool(nn.Module):
    """``size`` LoRA modulators for every layer (q, v, FF hidden); 12 d r L parameters per modulator."""

    def __init__(self, cfg: ModelConfig, size: int = 1, rank: int = 8, alpha: float | None = None):
        super().__init__()
        d, L, r = cfg.d_model, cfg.n_layer, rank
        self.size, self.rank = size, rank
        self.scale = (alpha if alpha is not None else 2.0 * rank) / rank
        self.a_q = nn.Parameter(_kaiming_a((size, L, d, r), d))
        self.b_q = nn.Parameter(torch.zeros(size, L, r, d))
        self.a_v = nn.Parameter(_kaiming_a((size, L, d, r), d))
        self.b_v = nn.Parameter(torch.zeros(size, L, r, d))
        self.a_ff = nn.Parameter(_kaiming_a((size, L, 4 * d, r), 4 * d))
        self.b_ff = nn.Parameter(torch.zeros(size, L, r, 4 * d))

    def params_per_modulator(self) -> int:
        return sum(p[0].numel() for p in (self.a_q, self.b_q, self.a_v, self.b_v, self.a_ff, self.b_ff))


class LoRA(nn.Module):
    """Single LoRA (one shared modulator)."""

    def __init__(self, cfg: ModelConfig, rank: int = 8, alpha: float | None = None):
        super().__init__()
        self.pool = LoRAPool(cfg, 1, rank, alpha)

    def modulate(self, tokens, step_mask, task_ids) -> Modulation:
        return LoRAModulation(self.pool, None)


class L2M(nn.Module):
    """Learning-to-Modulate: a LoRA pool with learned keys, retrieved top-1 per sample (paper Sec. 3.3, Eq. 2-3).

    Keys k_i ~ U(-1, 1)^d. Query q = masked mean of the state-token embeddings (no gradient). Similarity
    c_i = cos(q, k_i). Training with task index > 0 and ``count_penalty``: c~_i = ((c_i + 1) / 2) w_i with
    w = normalise(1 / (f + 1e-6)), f the running mean of the per-batch selection histograms (never reset),
    w set at each task switch (:meth:`begin_task`). Loss term: -pull * mean_b cos(q_b, k_sel(b)).
    ``n_identity`` extra entries carry no modulation (optional keys for pre-training data).
    """

    def __init__(self, cfg: ModelConfig, size: int = 30, rank: int = 8, alpha: float | None = None,
                 pull: float = 0.5, count_penalty: bool = True, oracle_tasks: int = 0, n_identity: int = 0):
        super().__init__()
        self.pool = LoRAPool(cfg, size + n_identity, rank, alpha)
        self.size, self.n_identity = size, n_identity
        self.keys = nn.Parameter(torch.empty(size + n_identity, cfg.d_model).uniform_(-1.0, 1.0))
        self.pull, self.count_penalty, self.oracle_tasks = pull, count_penalty, oracle_tasks
        if oracle_tasks and size % oracle_tasks:
            raise ValueError(f"L2M-oracle: pool size {size} must be divisible by the number of tasks {oracle_tasks}")
        total = size + n_identity
        self.register_buffer("freq", torch.zeros(total))          # running mean of selection histograms
        self.register_buffer("n_batches", torch.zeros((), dtype=torch.long))
        self.register_buffer("weights", torch.full((total,), 1.0 / total))
        self.register_buffer("gate_of", torch.cat([torch.ones(size), torch.zeros(n_identity)]))
        self.register_buffer("allowed", torch.ones(total, dtype=torch.bool))  # restricts selection (phases)
        self.task_index = 0
        # diagnostics (not state): selections per training task index / per evaluated task id
        self.train_usage: dict[int, torch.Tensor] = {}
        self.eval_usage: dict[int, torch.Tensor] = {}
        self.record_routing = False

    def begin_task(self, task_index: int) -> None:
        """Task switch: fix the penalty weights from the usage so far (reference: at each new task)."""
        self.task_index = task_index
        inv = 1.0 / (self.freq + 1e-6)
        self.weights.copy_(inv / inv.sum())

    def similarity(self, query: torch.Tensor) -> torch.Tensor:
        return F.cosine_similarity(query.float()[:, None, :], self.keys.float()[None, :, :], dim=-1)  # [B, M]

    def select(self, cos: torch.Tensor, task_ids: torch.Tensor) -> torch.Tensor:
        """Top-1 index per sample (penalised in training from the second task on; oracle: task's block)."""
        score = cos
        if self.training and self.count_penalty and self.task_index > 0:
            score = (cos + 1.0) / 2.0 * self.weights[None, :]
        allowed = self.allowed[None, :].expand_as(score)
        if self.oracle_tasks:
            block = self.size // self.oracle_tasks
            ids = torch.arange(score.shape[1], device=score.device)[None, :]
            lo = (task_ids.clamp_min(0) * block)[:, None]
            allowed = allowed & (ids >= lo) & (ids < lo + block)
        return score.masked_fill(~allowed, -math.inf).argmax(-1)

    def modulate(self, tokens, step_mask, task_ids) -> Modulation:
        query = state_query(tokens, step_mask).detach()
        cos = self.similarity(query)
        idx = self.select(cos.detach(), task_ids)
        gate = self.gate_of[idx] if self.n_identity else None
        if self.oracle_tasks:  # pre-training tasks (task id < 0) get no modulation under oracle routing
            gate = (task_ids >= 0).float() if gate is None else gate * (task_ids >= 0).float()
        aux: torch.Tensor | float = 0.0
        if self.training:
            aux = -self.pull * cos.gather(1, idx[:, None]).mean()
            counts = torch.bincount(idx, minlength=cos.shape[1]).float()
            self.n_batches += 1
            self.freq += (counts / idx.numel() - self.freq) / self.n_batches.float()
            self.train_usage[self.task_index] = self.train_usage.get(self.task_index, 0) + counts
        elif self.record_routing:
            for j in task_ids.unique().tolist():
                counts = torch.bincount(idx[task_ids == j], minlength=cos.shape[1]).float()
                self.eval_usage[j] = self.eval_usage.get(j, 0) + counts
        self.last_selection = idx
        return LoRAModulation(self.pool, idx, gate, aux)


# --------------------------------------------------------------------------- other PEFT methods

class _IA3Modulation(Modulation):
    def __init__(self, m: IA3):
        self.m = m

    def k(self, layer, x, k):
        return k * self.m.l_k[layer]

    def v(self, layer, x, v):
        return v * self.m.l_v[layer]

    def ff_act(self, layer, u):
        return u * self.m.l_ff[layer]


class IA3(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        d, L = cfg.d_model, cfg.n_layer
        self.l_k = nn.Parameter(torch.ones(L, d))
        self.l_v = nn.Parameter(torch.ones(L, d))
        self.l_ff = nn.Parameter(torch.ones(L, 4 * d))

    def modulate(self, tokens, step_mask, task_ids) -> Modulation:
        return _IA3Modulation(self)


class _AdapterModulation(Modulation):
    def __init__(self, m: Adapters):
        self.m = m

    def _apply(self, i: int, y: torch.Tensor) -> torch.Tensor:
        return y + self.m.up[i](F.silu(self.m.down[i](y)))

    def attn_out(self, layer, y):
        return self._apply(2 * layer, y)

    def ff_out(self, layer, y):
        return self._apply(2 * layer + 1, y)


class Adapters(nn.Module):
    """Houlsby adapters after the attention and FF sub-layers of every block (reduction 16, swish)."""

    def __init__(self, cfg: ModelConfig, reduction: int = 16):
        super().__init__()
        d, b = cfg.d_model, max(1, cfg.d_model // reduction)
        self.down = nn.ModuleList([nn.Linear(d, b) for _ in range(2 * cfg.n_layer)])
        self.up = nn.ModuleList([nn.Linear(b, d) for _ in range(2 * cfg.n_layer)])
        for up in self.up:  # identity at init
            nn.init.zeros_(up.weight)
            nn.init.zeros_(up.bias)

    def modulate(self, tokens, step_mask, task_ids) -> Modulation:
        return _AdapterModulation(self)


class _PromptModulation(Modulation):
    def __init__(self, prompt: torch.Tensor, aux_loss: torch.Tensor | float = 0.0):
        self.prompt, self.aux_loss = prompt, aux_loss


class PromptTuning(nn.Module):
    """``length`` learned tokens prepended to the embedded sequence (after embed_ln)."""

    def __init__(self, cfg: ModelConfig, length: int = 5):
        super().__init__()
        self.prompt = nn.Parameter(torch.empty(length, cfg.d_model).uniform_(-1.0, 1.0))

    def modulate(self, tokens, step_mask, task_ids) -> Modulation:
        return _PromptModulation(self.prompt[None].expand(tokens.shape[0], -1, -1))


class _PrefixModulation(Modulation):
    def __init__(self, m: PrefixTuning, batch: int):
        self.m, self.batch, self.prefix_len = m, batch, m.k.shape[1]

    def prefix(self, layer):
        return (self.m.k[layer][None].expand(self.batch, -1, -1), self.m.v[layer][None].expand(self.batch, -1, -1))


class PrefixTuning(nn.Module):
    """Learned keys and values prepended in every attention layer (Li & Liang)."""

    def __init__(self, cfg: ModelConfig, length: int = 5):
        super().__init__()
        self.k = nn.Parameter(0.02 * torch.randn(cfg.n_layer, length, cfg.d_model))
        self.v = nn.Parameter(0.02 * torch.randn(cfg.n_layer, length, cfg.d_model))

    def modulate(self, tokens, step_mask, task_ids) -> Modulation:
        return _PrefixModulation(self, tokens.shape[0])


class L2P(nn.Module):
    """Learning to Prompt: a pool of prompts with learned keys; the top-N prompts per sample are prepended."""

    def __init__(self, cfg: ModelConfig, size: int = 30, length: int = 5, top_k: int = 5, pull: float = 0.5):
        super().__init__()
        self.prompts = nn.Parameter(torch.empty(size, length, cfg.d_model).uniform_(-1.0, 1.0))
        self.keys = nn.Parameter(torch.empty(size, cfg.d_model).uniform_(-1.0, 1.0))
        self.top_k, self.pull = top_k, pull

    def modulate(self, tokens, step_mask, task_ids) -> Modulation:
        query = state_query(tokens, step_mask).detach()
        cos = F.cosine_similarity(query.float()[:, None], self.keys.float()[None], dim=-1)
        idx = cos.detach().topk(self.top_k, dim=-1).indices                  # [B, N]
        prompt = self.prompts[idx].flatten(1, 2)                              # [B, N*length, d]
        aux = -self.pull * cos.gather(1, idx).mean() if self.training else 0.0
        return _PromptModulation(prompt.to(tokens.dtype), aux)
