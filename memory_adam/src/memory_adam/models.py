"""Models: a word-level LSTM language model (paper Sec. 5.1, PTB) and a small CNN for 8x8 digits (Sec. 5.2)."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["LSTMLanguageModel", "DigitsCNN"]


class LSTMLanguageModel(nn.Module):
    """Embedding -> LSTM (``layers``) -> linear decoder; no dropout by default, so over-fitting shows."""

    def __init__(self, vocab_size: int, emb: int = 128, hidden: int = 256, layers: int = 1, dropout: float = 0.0):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, emb)
        self.lstm = nn.LSTM(emb, hidden, num_layers=layers, dropout=dropout if layers > 1 else 0.0)
        self.drop = nn.Dropout(dropout)
        self.decoder = nn.Linear(hidden, vocab_size)
        nn.init.uniform_(self.embed.weight, -0.1, 0.1)
        nn.init.uniform_(self.decoder.weight, -0.1, 0.1)
        nn.init.zeros_(self.decoder.bias)

    def forward(self, tokens: torch.Tensor, state=None):
        """tokens (T, B) -> logits (T, B, V) and the LSTM state (to carry over truncated BPTT windows)."""
        out, state = self.lstm(self.drop(self.embed(tokens)), state)
        return self.decoder(self.drop(out)), state


class DigitsCNN(nn.Module):
    """conv 16 -> conv 32 -> max-pool -> fc 32 -> fc 10 (~21k parameters) for 1x8x8 inputs."""

    def __init__(self, width: int = 16, hidden: int = 32, classes: int = 10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, width, 3, padding=1), nn.ReLU(),
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2),
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(2 * width * 16, hidden), nn.ReLU(),
                                  nn.Linear(hidden, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))
