"""Action tokens and returns-to-go (paper Sec. 3 / App. C; reference: ``dt_mediumplus_64``).

Every action dimension is its own token: a in [-1, 1] is cut into 64 uniform bins of width 1/32,
tok = clamp(floor((a + 1) * 32), 0, 63), and a token decodes to the **lower** bin edge -1 + tok / 32.
Token 64 is the padding token of left-padded timesteps (zero embedding); padded action *dimensions*
of a domain with fewer than 6 actions carry the value 0 (token 32) and are masked out of the loss.
"""

from __future__ import annotations

import numpy as np
import torch

N_BINS = 64
PAD_TOKEN = N_BINS  # padded timesteps
BIN_WIDTH = 2.0 / N_BINS
ZERO_TOKEN = N_BINS // 2  # value 0, used for padded action dimensions


def tokenize(actions):
    """Action values in [-1, 1] (numpy or torch, any shape) -> int tokens in [0, 63]."""
    if isinstance(actions, torch.Tensor):
        return torch.clamp(torch.floor((actions + 1.0) / BIN_WIDTH), 0, N_BINS - 1).long()
    return np.clip(np.floor((np.asarray(actions, dtype=np.float64) + 1.0) / BIN_WIDTH), 0, N_BINS - 1).astype(
        np.int64)


def detokenize(tokens):
    """Tokens -> the lower edge of their bin, -1 + tok / 32."""
    if isinstance(tokens, torch.Tensor):
        return -1.0 + tokens.float() * BIN_WIDTH
    return (-1.0 + np.asarray(tokens, dtype=np.float32) * BIN_WIDTH).astype(np.float32)


def returns_to_go(rewards: np.ndarray) -> np.ndarray:
    """Undiscounted suffix sums along the last axis: R_t = sum_{t' >= t} r_t' (training targets)."""
    r = np.asarray(rewards, dtype=np.float64)
    return np.flip(np.cumsum(np.flip(r, -1), -1), -1).astype(np.float32)


def next_eval_rtg(rtg: np.ndarray, reward: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Evaluation RTG update R_{t+1} = min(R_t - r_t, G): the target G clips it from above."""
    return np.minimum(rtg - reward, target)
