"""The dual encoder of SPARC (paper Sec. 3, Fig. 1): a ViT without [CLS], a text Transformer, linear
adapters g_v and g_t to the shared space, and the non-linear global vision head h_v.

Local embeddings: v_p = g_v(f_v,p), t_l = g_t(f_t,l) (not normalised).
Global embeddings: v̄ = g_v(h_v(mean_p f_v,p)), t̄ = g_t(masked_mean_l f_t,l) (no [CLS] token).
One learned temperature (stored as log 1/τ) serves both loss terms, as in Listing 1.
"""

from __future__ import annotations

import dataclasses
import math

import torch
import torch.nn.functional as F
from torch import nn

MAX_LOGIT_SCALE = 100.0


def _block(width: int, heads: int, mlp_ratio: int) -> nn.TransformerEncoderLayer:
    return nn.TransformerEncoderLayer(width, heads, mlp_ratio * width, dropout=0.0, activation="gelu",
                                      batch_first=True, norm_first=True)


class PatchViT(nn.Module):
    """A small pre-LN ViT that returns patch tokens f_v (B, P, width); no [CLS] token (paper Sec. 3).

    Images are (B, H, W, 3) uint8 or float in [0, 255]; patches are cut by a reshape.
    """

    def __init__(self, image_size: int, patch_size: int, width: int, depth: int, heads: int, mlp_ratio: int = 4):
        super().__init__()
        if image_size % patch_size:
            raise ValueError(f"image_size {image_size} is not a multiple of patch_size {patch_size}")
        self.image_size, self.patch_size, self.width = image_size, patch_size, width
        self.grid = image_size // patch_size
        self.num_patches = self.grid ** 2
        self.patch_embed = nn.Linear(3 * patch_size ** 2, width)
        self.pos_embed = nn.Parameter(torch.randn(1, self.num_patches, width) * 0.02)
        self.blocks = nn.ModuleList([_block(width, heads, mlp_ratio) for _ in range(depth)])
        self.norm = nn.LayerNorm(width)

    def patchify(self, images: torch.Tensor) -> torch.Tensor:
        b, h, w, c = images.shape
        p, g = self.patch_size, self.grid
        if h != self.image_size or w != self.image_size:
            raise ValueError(f"expected {self.image_size}x{self.image_size} images, got {h}x{w}")
        x = images.reshape(b, g, p, g, p, c).permute(0, 1, 3, 2, 4, 5).reshape(b, g * g, p * p * c)
        return (x.float() / 255.0 - 0.5) / 0.25

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(self.patchify(images)) + self.pos_embed
        for blk in self.blocks:
            x = blk(x)
        return self.norm(x)


class TextTransformer(nn.Module):
    """A small pre-LN Transformer over word ids; returns contextual token features f_t (B, L, width)."""

    def __init__(self, vocab_size: int, max_len: int, width: int, depth: int, heads: int, mlp_ratio: int = 4):
        super().__init__()
        self.width, self.max_len = width, max_len
        self.token_embed = nn.Embedding(vocab_size, width)
        self.pos_embed = nn.Parameter(torch.randn(1, max_len, width) * 0.02)
        self.blocks = nn.ModuleList([_block(width, heads, mlp_ratio) for _ in range(depth)])
        self.norm = nn.LayerNorm(width)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        length = ids.shape[1]
        if length > self.max_len:
            raise ValueError(f"sequence length {length} exceeds max_len {self.max_len}")
        x = self.token_embed(ids) + self.pos_embed[:, :length]
        # an all-padding row would make attention 0/0: let it attend to its first position
        pad = ~mask.bool()
        pad[:, 0] &= mask.bool().any(dim=1)
        for blk in self.blocks:
            x = blk(x, src_key_padding_mask=pad)
        return self.norm(x)


@dataclasses.dataclass
class ImageOutput:
    patch_features: torch.Tensor  # f_v (B, P, D_v)
    patch_emb: torch.Tensor  # v_p = g_v(f_v,p) (B, P, d)
    global_emb: torch.Tensor  # v̄ = g_v(h_v(mean_p f_v,p)) (B, d)


@dataclasses.dataclass
class TextOutput:
    token_features: torch.Tensor  # f_t (B, L, D_t)
    token_emb: torch.Tensor  # t_l = g_t(f_t,l) (B, L, d)
    global_emb: torch.Tensor  # t̄ = g_t(masked_mean f_t) (B, d)
    mask: torch.Tensor  # (B, L) bool


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over dim 1 of (B, L, D) restricted to mask (B, L); an empty row gives 0."""
    m = mask.to(x.dtype)[..., None]
    return (x * m).sum(dim=1) / m.sum(dim=1).clamp_min(1.0)


class DualEncoder(nn.Module):
    """Vision tower + text tower + g_v, g_t, h_v + learned temperature (paper Sec. 3, Listing 1).

    ``text_tower`` maps (ids, mask) -> (B, L, text_width); pass ``text_tower=None`` to feed precomputed
    token features (a frozen text tower whose outputs are cached, e.g. MiniLM).
    """

    def __init__(self, vision_tower: nn.Module, text_tower: nn.Module | None, vision_width: int, text_width: int,
                 embed_dim: int, init_temperature: float = 0.07):
        super().__init__()
        self.vision = vision_tower
        self.text = text_tower
        self.g_v = nn.Linear(vision_width, embed_dim)
        self.g_t = nn.Linear(text_width, embed_dim)
        self.h_v = nn.Sequential(nn.Linear(vision_width, vision_width), nn.GELU())
        self.log_logit_scale = nn.Parameter(torch.tensor(math.log(1.0 / init_temperature)))

    @property
    def logit_scale(self) -> torch.Tensor:
        """1/τ, exponentiated and clipped at 100 (as CLIP)."""
        return self.log_logit_scale.clamp(max=math.log(MAX_LOGIT_SCALE)).exp()

    def encode_image(self, images: torch.Tensor) -> ImageOutput:
        f = self.vision(images)
        return ImageOutput(f, self.g_v(f), self.g_v(self.h_v(f.mean(dim=1))))

    def patch_global_path(self, patch_features: torch.Tensor) -> torch.Tensor:
        """g_v(h_v(f_v,p)) per patch: the global path used for zero-shot segmentation (paper App. D.7)."""
        return self.g_v(self.h_v(patch_features))

    def encode_text(self, mask: torch.Tensor, ids: torch.Tensor | None = None,
                    features: torch.Tensor | None = None) -> TextOutput:
        if features is None:
            if self.text is None or ids is None:
                raise ValueError("encode_text needs token ids (and a text tower) or precomputed features")
            features = self.text(ids, mask)
        mask = mask.bool()
        return TextOutput(features, self.g_t(features), self.g_t(masked_mean(features, mask)), mask)


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    image_size: int = 32
    patch_size: int = 8
    vision_width: int = 64
    vision_depth: int = 3
    text_width: int = 64
    text_depth: int = 2
    heads: int = 4
    embed_dim: int = 64
    vocab_size: int = 64
    max_len: int = 32


def build_model(cfg: ModelConfig) -> DualEncoder:
    """The word-level dual encoder of the toy experiments (sizes from the paper notes' plan)."""
    vision = PatchViT(cfg.image_size, cfg.patch_size, cfg.vision_width, cfg.vision_depth, cfg.heads)
    text = TextTransformer(cfg.vocab_size, cfg.max_len, cfg.text_width, cfg.text_depth, cfg.heads)
    return DualEncoder(vision, text, cfg.vision_width, cfg.text_width, cfg.embed_dim)


def count_parameters(module: nn.Module, trainable_only: bool = True) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def normalize(x: torch.Tensor) -> torch.Tensor:
    return F.normalize(x, dim=-1)
