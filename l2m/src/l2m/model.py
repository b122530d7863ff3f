"""The multi-domain Decision Transformer (MDDT; paper Sec. 3, reference ``dt_mediumplus_64``), written from the
paper and notes: a GPT-2 style pre-LN causal transformer over per-step tokens ``[s, R, a1, ..., a6, r]``.

* states: one linear embedding of the 204-d union state; RTG and reward: scalar linear embeddings;
  actions: one shared 65-row table (64 bins + padding token 64 with zero embedding), one token per dimension;
  a learned timestep embedding (1000 rows) is added to every token; then a LayerNorm (``embed_ln``);
  there are no position embeddings (GPT-2 position ids are all zero in the reference).
* action token j of step t is predicted from the hidden state of the token before it (R_t -> a1, a1 -> a2, ...)
  with one 64-way head; inference decodes the action dimensions greedily, one token at a time, re-using the
  keys and values of the context (:meth:`MDDT.predict_actions`, a KV cache within the step).

Fine-tuning methods plug in through a :class:`Modulation` (see :mod:`l2m.peft`): hooks on q, k, v, the FF hidden
layer and activations, the sub-layer outputs (adapters), prefix keys/values and prompt tokens.
"""

from __future__ import annotations

import dataclasses
import math

import torch
import torch.nn.functional as F
from torch import nn

from l2m import tasks as T
from l2m.tokenizer import N_BINS, PAD_TOKEN, ZERO_TOKEN

TOKENS_PER_STEP = 3 + T.ACT_DIM  # s, R, a1..a6, r


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    d_model: int = 128
    n_layer: int = 3
    n_head: int = 4
    context: int = 5
    dropout: float = 0.0  # reference 0.1; 0 on CPU (dropout masks cost ~20% of a step)
    max_timestep: int = 1000

    def __post_init__(self):
        if self.d_model % self.n_head:
            raise ValueError(f"d_model ({self.d_model}) must be divisible by n_head ({self.n_head})")


class Modulation:
    """What a fine-tuning method changes inside the transformer for one forward pass (identity here)."""

    prompt: torch.Tensor | None = None  # [B, P, d] tokens prepended after embed_ln
    prefix_len: int = 0                 # per-layer prefix keys/values (prefix tuning)
    aux_loss: torch.Tensor | float = 0.0

    def q(self, layer: int, x: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
        return q

    def k(self, layer: int, x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        return k

    def v(self, layer: int, x: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return v

    def ff_hidden(self, layer: int, u: torch.Tensor) -> torch.Tensor:
        """The 4d hidden pre-activation after ``c_fc`` (L2M/LoRA modulate here)."""
        return u

    def ff_act(self, layer: int, u: torch.Tensor) -> torch.Tensor:
        """The 4d hidden activation after GELU ((IA)3 scales here)."""
        return u

    def attn_out(self, layer: int, y: torch.Tensor) -> torch.Tensor:
        return y

    def ff_out(self, layer: int, y: torch.Tensor) -> torch.Tensor:
        return y

    def prefix(self, layer: int) -> tuple[torch.Tensor, torch.Tensor] | None:
        """Prefix (keys, values), each [B, prefix_len, d]."""
        return None


IDENTITY = Modulation()


@dataclasses.dataclass
class KVCache:
    """Keys/values per layer ([B, H, Tk, dh]) and, per key, its validity and sequence position (-1: prefix)."""

    kv: list[tuple[torch.Tensor, torch.Tensor]]
    key_valid: torch.Tensor  # [B, Tk] bool
    key_pos: torch.Tensor    # [Tk] long
    n_seq: int               # hidden-sequence positions so far (prompt + tokens)


class Block(nn.Module):
    """Pre-LN GPT-2 block with modulation hooks."""

    def __init__(self, cfg: ModelConfig, index: int):
        super().__init__()
        d = cfg.d_model
        self.index, self.n_head, self.dropout = index, cfg.n_head, cfg.dropout
        self.ln_1 = nn.LayerNorm(d)
        self.c_attn = nn.Linear(d, 3 * d)
        self.attn_proj = nn.Linear(d, d)
        self.ln_2 = nn.LayerNorm(d)
        self.c_fc = nn.Linear(d, 4 * d)
        self.c_proj = nn.Linear(4 * d, d)
        self.resid_drop = nn.Dropout(cfg.dropout)

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        B, Tn, d = x.shape
        return x.view(B, Tn, self.n_head, d // self.n_head).transpose(1, 2)

    def forward(self, h: torch.Tensor, mask: torch.Tensor, mod: Modulation,
                past: tuple[torch.Tensor, torch.Tensor] | None = None):
        l = self.index
        x = self.ln_1(h)
        q, k, v = self.c_attn(x).split(h.shape[-1], dim=-1)
        q, k, v = mod.q(l, x, q), mod.k(l, x, k), mod.v(l, x, v)
        if past is None and mod.prefix_len:
            pk, pv = mod.prefix(l)
            k, v = torch.cat([pk, k], 1), torch.cat([pv, v], 1)
        q, k, v = self._heads(q), self._heads(k), self._heads(v)
        if past is not None:
            k, v = torch.cat([past[0], k], 2), torch.cat([past[1], v], 2)
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask,
                                           dropout_p=self.dropout if self.training else 0.0)
        y = y.transpose(1, 2).reshape(h.shape)
        h = h + self.resid_drop(mod.attn_out(l, self.attn_proj(y)))
        u = mod.ff_hidden(l, self.c_fc(self.ln_2(h)))
        u = mod.ff_act(l, F.gelu(u))
        h = h + self.resid_drop(mod.ff_out(l, self.c_proj(u)))
        return h, (k, v)


def attention_mask(key_valid: torch.Tensor, key_pos: torch.Tensor, query_pos: torch.Tensor) -> torch.Tensor:
    """[B, 1, Tq, Tk] bool: causal over sequence positions, padded keys hidden, each query sees itself."""
    causal = key_pos[None, :] <= query_pos[:, None]                        # [Tq, Tk]
    self_key = key_pos[None, :] == query_pos[:, None]
    return (causal[None] & (key_valid[:, None, :] | self_key[None]))[:, None]


def state_query(tokens: torch.Tensor, step_mask: torch.Tensor) -> torch.Tensor:
    """L2P/L2M query: masked mean over time of the state-token embeddings after ``embed_ln`` ([B, d])."""
    B = tokens.shape[0]
    s = tokens.view(B, -1, TOKENS_PER_STEP, tokens.shape[-1])[:, :, 0]
    m = step_mask.to(s.dtype)[..., None]
    return (s * m).sum(1) / m.sum(1).clamp_min(1.0)


class MDDT(nn.Module):
    """Multi-domain Decision Transformer with per-dimension discrete action tokens."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        d = cfg.d_model
        self.embed_state = nn.Linear(T.STATE_DIM, d)
        self.embed_rtg = nn.Linear(1, d)
        self.embed_reward = nn.Linear(1, d)
        self.embed_action = nn.Embedding(N_BINS + 1, d, padding_idx=PAD_TOKEN)
        self.embed_timestep = nn.Embedding(cfg.max_timestep, d)
        self.embed_ln = nn.LayerNorm(d)
        self.blocks = nn.ModuleList([Block(cfg, i) for i in range(cfg.n_layer)])
        self.ln_f = nn.LayerNorm(d)
        self.action_head = nn.Linear(d, N_BINS)
        self.emb_drop = nn.Dropout(cfg.dropout)
        # per-dimension state standardisation, fixed from the pre-training data (see set_state_normalizer)
        self.register_buffer("state_mean", torch.zeros(T.STATE_DIM))
        self.register_buffer("state_std", torch.ones(T.STATE_DIM))
        self.apply(self._init)
        for name, p in self.named_parameters():  # GPT-2: scaled init of the residual projections
            if name.endswith("attn_proj.weight") or name.endswith("c_proj.weight"):
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
            if isinstance(m, nn.Linear) and m.bias is not None:
                nn.init.zeros_(m.bias)
            if isinstance(m, nn.Embedding) and m.padding_idx is not None:
                with torch.no_grad():
                    m.weight[m.padding_idx].zero_()

    @torch.no_grad()
    def set_state_normalizer(self, mean: torch.Tensor, std: torch.Tensor, min_std: float = 1e-2) -> None:
        """States enter as (s - mean) / std; constant dims (std 0) keep std 1, others std >= ``min_std``."""
        std = torch.where(std > 1e-8, std.clamp_min(min_std), torch.ones_like(std))
        self.state_mean.copy_(mean)
        self.state_std.copy_(std)

    # ------------------------------------------------------------------ tokens
    def embed(self, states, rtg, rewards, actions, timesteps) -> torch.Tensor:
        """[B, K*9, d] token embeddings (after ``embed_ln``) in the order [s, R, a1..a6, r] per step."""
        B, K = rtg.shape
        time = self.embed_timestep(timesteps)                                   # [B, K, d]
        states = (states - self.state_mean) / self.state_std
        tok = torch.cat([self.embed_state(states)[:, :, None], self.embed_rtg(rtg[..., None])[:, :, None],
                         self.embed_action(actions), self.embed_reward(rewards[..., None])[:, :, None]], dim=2)
        tok = tok + time[:, :, None]
        return self.embed_ln(tok.reshape(B, K * TOKENS_PER_STEP, -1))

    def embed_action_token(self, tokens: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        """One action token per sample ([B] tokens, [B] timesteps) -> [B, 1, d]."""
        return self.embed_ln(self.embed_action(tokens) + self.embed_timestep(timesteps))[:, None]

    def transformer(self, tokens: torch.Tensor, key_valid: torch.Tensor, mod: Modulation,
                    cache: KVCache | None = None) -> tuple[torch.Tensor, KVCache]:
        """Run the blocks on new tokens [B, Tn, d]; the first call (``cache=None``) adds the prompt and prefix."""
        B = tokens.shape[0]
        dev = tokens.device
        if cache is None:
            if mod.prompt is not None:
                tokens = torch.cat([mod.prompt, tokens], 1)
                key_valid = torch.cat([torch.ones(mod.prompt.shape[:2], dtype=torch.bool, device=dev), key_valid], 1)
            n_new = tokens.shape[1]
            pos = torch.arange(n_new, device=dev)
            key_pos = torch.cat([torch.full((mod.prefix_len,), -1, device=dev, dtype=torch.long), pos])
            all_valid = torch.cat([torch.ones(B, mod.prefix_len, dtype=torch.bool, device=dev), key_valid], 1)
            n_before, past = 0, [None] * len(self.blocks)
        else:
            n_new = tokens.shape[1]
            pos = cache.n_seq + torch.arange(n_new, device=dev)
            key_pos = torch.cat([cache.key_pos, pos])
            all_valid = torch.cat([cache.key_valid, key_valid], 1)
            n_before, past = cache.n_seq, cache.kv
        allowed = attention_mask(all_valid, key_pos, pos)
        # one additive float mask shared by all layers (a bool mask costs a check per layer on CPU)
        mask = torch.zeros(allowed.shape, dtype=tokens.dtype, device=dev).masked_fill_(~allowed, -math.inf)
        h = self.emb_drop(tokens)
        kv = []
        for block, p in zip(self.blocks, past):
            h, present = block(h, mask, mod, p)
            kv.append(present)
        return h, KVCache(kv=kv, key_valid=all_valid, key_pos=key_pos, n_seq=n_before + n_new)

    # ------------------------------------------------------------------ training forward
    def forward(self, batch, peft=None) -> tuple[torch.Tensor, torch.Tensor | float]:
        """Action logits [B, K, 6, 64] for every action token of every step, and the method's auxiliary loss."""
        tokens = self.embed(batch.states, batch.rtg, batch.rewards, batch.actions, batch.timesteps)
        mod = peft.modulate(tokens, batch.step_mask, batch.task_ids) if peft is not None else IDENTITY
        key_valid = batch.step_mask.repeat_interleave(TOKENS_PER_STEP, dim=1)
        h, _ = self.transformer(tokens, key_valid, mod)
        B, K = batch.rtg.shape
        n_prompt = 0 if mod.prompt is None else mod.prompt.shape[1]
        h = h[:, n_prompt:].reshape(B, K, TOKENS_PER_STEP, -1)[:, :, 1:1 + T.ACT_DIM]  # R, a1..a5 predict a1..a6
        return self.action_head(self.ln_f(h)), mod.aux_loss

    # ------------------------------------------------------------------ inference
    @torch.no_grad()
    def predict_actions(self, states, rtg, rewards, actions, timesteps, step_mask, n_act: torch.Tensor,
                        task_ids: torch.Tensor | None = None, peft=None) -> torch.Tensor:
        """Greedy autoregressive decoding of the last step's action tokens ([B, 6]; dims >= n_act get token 32).

        The context (last K steps, left-padded) runs once up to R_t; each further action dimension is one
        single-token pass over the cached keys/values.
        """
        B, K = rtg.shape
        if task_ids is None:
            task_ids = torch.zeros(B, dtype=torch.long, device=rtg.device)
        tokens = self.embed(states, rtg, rewards, actions, timesteps)
        mod = peft.modulate(tokens, step_mask, task_ids) if peft is not None else IDENTITY
        n_ctx = (K - 1) * TOKENS_PER_STEP + 2  # up to and including R_t
        key_valid = step_mask.repeat_interleave(TOKENS_PER_STEP, dim=1)[:, :n_ctx]
        h, cache = self.transformer(tokens[:, :n_ctx], key_valid, mod)
        out = torch.full((B, T.ACT_DIM), ZERO_TOKEN, dtype=torch.long, device=rtg.device)
        t_now = timesteps[:, -1]
        ones = torch.ones(B, 1, dtype=torch.bool, device=rtg.device)
        for j in range(int(n_act.max())):
            if j > 0:
                h, cache = self.transformer(self.embed_action_token(out[:, j - 1], t_now), ones, mod, cache)
            out[:, j] = self.action_head(self.ln_f(h[:, -1])).argmax(-1)
        return torch.where(torch.arange(T.ACT_DIM, device=rtg.device)[None] < n_act[:, None], out,
                           torch.full_like(out, ZERO_TOKEN))
