"""Evaluations of a trained dual encoder on the offline scenes.

- zero-shot classification with and without prompt ensembling (paper Tables 1-2),
- image-text retrieval R@1/5/10 both ways (Table 3),
- zero-shot segmentation mIoU from patch-text similarity (Table 6; App. D.7 uses the global path
  g_v(h_v(f_v,p)); we also report the local path g_v(f_v,p)),
- the pointing game: SPARC alignment-weight mass inside the named object (grounding diagnostic),
- faithfulness K-Precision of the top retrieved caption (Table 4) and an attribute-binding test.

FILIP models score pairs by late interaction (``scoring="late"``); the others by global cosine.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from sparc import losses
from sparc.data import (
    ATTRIBUTE_WORDS,
    COLOURS,
    DIGITS,
    HELD_OUT_PAIRS,
    ROLE_CATEGORY,
    ROLE_COLOUR,
    SHAPES,
    Caption,
    Scenes,
    TokenBatch,
    make_caption,
    prompts_for,
    swap_colours,
)
from sparc.models import DualEncoder


@dataclasses.dataclass
class Embedded:
    """Everything the evaluations need from a set of images or texts, in float32 on CPU."""

    global_emb: torch.Tensor  # (N, d), normalised
    local_emb: torch.Tensor  # (N, P or L, d), unnormalised (patch or token embeddings)
    patch_global: torch.Tensor | None = None  # (N, P, d) global-path patch embeddings (images only)
    mask: torch.Tensor | None = None  # (N, L) (texts only)


class Tokenizer:
    """Captions -> TokenBatch; the word-level tokenizer by default, WordPiece for MiniLM."""

    def __init__(self, max_len: int, wordpiece=None):
        self.max_len, self.wordpiece = max_len, wordpiece

    def __call__(self, captions: Sequence[Caption]) -> TokenBatch:
        if self.wordpiece is None:
            from sparc.data import tokenize

            return tokenize(captions, self.max_len)
        from sparc.minilm import tokenize_wordpiece

        return tokenize_wordpiece(self.wordpiece, captions, self.max_len)


@torch.no_grad()
def embed_images(model: DualEncoder, images: np.ndarray, batch_size: int = 256) -> Embedded:
    model.eval()
    dev = model.log_logit_scale.device
    g, loc, pg = [], [], []
    for s in range(0, len(images), batch_size):
        out = model.encode_image(torch.from_numpy(images[s:s + batch_size]).to(dev))
        g.append(F.normalize(out.global_emb, dim=-1).float().cpu())
        loc.append(out.patch_emb.float().cpu())
        pg.append(model.patch_global_path(out.patch_features).float().cpu())
    return Embedded(torch.cat(g), torch.cat(loc), torch.cat(pg))


@torch.no_grad()
def embed_texts(model: DualEncoder, tokens: TokenBatch, batch_size: int = 512) -> Embedded:
    model.eval()
    dev = model.log_logit_scale.device
    g, loc = [], []
    for s in range(0, len(tokens.ids), batch_size):
        ids = torch.from_numpy(tokens.ids[s:s + batch_size]).to(dev)
        mask = torch.from_numpy(tokens.mask[s:s + batch_size]).to(dev)
        out = model.encode_text(mask, ids=ids)
        g.append(F.normalize(out.global_emb, dim=-1).float().cpu())
        loc.append(out.token_emb.float().cpu())
    return Embedded(torch.cat(g), torch.cat(loc), mask=torch.from_numpy(tokens.mask))


@torch.no_grad()
def pair_scores(img: Embedded, txt: Embedded, scoring: str, direction: str = "i2t") -> torch.Tensor:
    """(N_img, N_txt) similarity: global cosine, or FILIP's late interaction in the given direction."""
    if scoring == "global":
        return img.global_emb @ txt.global_emb.T
    s_i2t, s_t2i = losses.filip_scores(img.local_emb, txt.local_emb, txt.mask, chunk_size=64)
    return s_i2t if direction == "i2t" else s_t2i


def paired_late_scores(patch_emb: torch.Tensor, token_emb: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """FILIP's image→text score for aligned pairs only (image n with text n): (N,)."""
    sim = torch.einsum("npd,nld->npl", F.normalize(patch_emb, dim=-1), F.normalize(token_emb, dim=-1))
    return sim.masked_fill(~mask[:, None, :], -2.0).amax(-1).mean(-1)


# --------------------------------------------------------------------------- classification, retrieval

@torch.no_grad()
def class_scores(model: DualEncoder, img: Embedded, prompts: list[list[Caption]], tokenizer: Tokenizer,
                 scoring: str) -> torch.Tensor:
    """(N_img, K) scores against K classes, each given by a list of prompts (averaged = ensembled)."""
    flat = [p for ps in prompts for p in ps]
    owner = torch.tensor([k for k, ps in enumerate(prompts) for _ in ps])
    txt = embed_texts(model, tokenizer(flat))
    k = len(prompts)
    if scoring == "global":
        proto = torch.zeros(k, txt.global_emb.shape[1]).index_add_(0, owner, txt.global_emb)
        return img.global_emb @ F.normalize(proto, dim=-1).T
    s = pair_scores(img, txt, "late", "i2t")  # (N_img, n_prompts)
    counts = torch.bincount(owner, minlength=k).float()
    return torch.zeros(s.shape[0], k).index_add_(1, owner, s) / counts


def zero_shot_task(scenes: Scenes) -> tuple[str, np.ndarray, int]:
    """(attribute, label per single-object scene, n_classes): 35-way colour x shape, or 10-way digit."""
    if scenes.kind == "shapes":
        labels = scenes.attrs[:, 0, 0].astype(int) * len(SHAPES) + scenes.attrs[:, 0, 1]
        return "pair", labels, len(COLOURS) * len(SHAPES)
    return "category", scenes.attrs[:, 0, 1].astype(int), len(DIGITS)


def zero_shot_classification(model: DualEncoder, single: Scenes, tokenizer: Tokenizer, scoring: str,
                             img: Embedded | None = None) -> dict[str, float]:
    """Top-1 accuracy (%) with the plain prompt and with prompt ensembling; for ShapeScenes also split
    into seen and held-out colour x shape compositions."""
    attribute, labels, k = zero_shot_task(single)
    img = img or embed_images(model, single.images)
    out: dict[str, float] = {}
    for name, ens in (("plain", False), ("ensemble", True)):
        prompts = [prompts_for(single.kind, attribute, c, ensemble=ens) for c in range(k)]
        pred = class_scores(model, img, prompts, tokenizer, scoring).argmax(dim=1).numpy()
        correct = pred == labels
        out[f"zs_{name}"] = 100.0 * float(correct.mean())
        if single.kind == "shapes":
            held = np.array([(int(a[0]), int(a[1])) in HELD_OUT_PAIRS for a in single.attrs[:, 0]])
            out[f"zs_{name}_seen"] = 100.0 * float(correct[~held].mean())
            out[f"zs_{name}_heldout"] = 100.0 * float(correct[held].mean())
    return out


def recall_at_k(scores: torch.Tensor, ks: Sequence[int] = (1, 5, 10)) -> dict[int, float]:
    """Recall@k (%) of the diagonal for a (N, N) score matrix, ranking each row."""
    target = scores.diagonal()[:, None]
    rank = (scores > target).sum(dim=1)  # 0 = ranked first (ties counted in the query's favour)
    return {k: 100.0 * float((rank < k).double().mean()) for k in ks}


def retrieval(img: Embedded, txt: Embedded, scoring: str) -> dict[str, float]:
    """Image→text and text→image R@1/5/10 over N pairs (image i, caption i)."""
    out = {}
    for k, v in recall_at_k(pair_scores(img, txt, scoring, "i2t")).items():
        out[f"i2t_R@{k}"] = v
    for k, v in recall_at_k(pair_scores(img, txt, scoring, "t2i").T).items():
        out[f"t2i_R@{k}"] = v
    out["R@1_mean"] = 0.5 * (out["i2t_R@1"] + out["t2i_R@1"])
    return out


# --------------------------------------------------------------------------- segmentation, pointing

def patch_to_pixels(patch_values: np.ndarray, patch_size: int) -> np.ndarray:
    """(N, g*g) per-patch values -> (N, g*p, g*p) per-pixel (nearest)."""
    n, pp = patch_values.shape
    g = int(round(pp ** 0.5))
    grid = patch_values.reshape(n, g, g)
    return np.repeat(np.repeat(grid, patch_size, axis=1), patch_size, axis=2)


def foreground_miou(pred: np.ndarray, gt: np.ndarray, n_classes: int) -> tuple[float, list[float]]:
    """mIoU (%) over foreground pixels (gt >= 0), intersection and union accumulated over the dataset,
    averaged over the classes present in the ground truth."""
    fg = gt >= 0
    p, g = pred[fg], gt[fg]
    ious = []
    for c in range(n_classes):
        inter = np.logical_and(p == c, g == c).sum()
        union = np.logical_or(p == c, g == c).sum()
        if (g == c).any():
            ious.append(100.0 * inter / union)
    return float(np.mean(ious)), ious


def oracle_miou(scenes: Scenes, attribute: str, patch_size: int) -> float:
    """The patch-quantisation bound: each patch predicts the majority class of its foreground pixels."""
    gt = scenes.attribute_map(attribute)
    n, s, _ = gt.shape
    g = s // patch_size
    blocks = gt.reshape(n, g, patch_size, g, patch_size).transpose(0, 1, 3, 2, 4).reshape(n, g * g, -1)
    k = int(gt.max()) + 1
    counts = np.stack([(blocks == c).sum(-1) for c in range(k)], -1)
    pred = patch_to_pixels(counts.argmax(-1), patch_size)
    return foreground_miou(pred, gt, k)[0]


@torch.no_grad()
def segmentation(model: DualEncoder, scenes: Scenes, tokenizer: Tokenizer, scoring: str,
                 img: Embedded | None = None, patch_size: int = 8) -> dict[str, float]:
    """Zero-shot segmentation mIoU (%) of colour and category (shape or digit) over foreground pixels.

    Each patch takes the class whose prompt-ensemble prototype is most similar: through the global path
    g_v(h_v(f_v,p)) (paper App. D.7) and through the local path g_v(f_v,p). FILIP: a patch's score for a
    class is its max cosine over the prompt's tokens, averaged over the prompts (its late interaction).
    """
    img = img or embed_images(model, scenes.images)
    out: dict[str, float] = {}
    n_cat = len(SHAPES) if scenes.kind == "shapes" else len(DIGITS)
    for attribute, k in (("colour", len(COLOURS)), ("category", n_cat)):
        prompts = [prompts_for(scenes.kind, attribute, c, ensemble=True) for c in range(k)]
        flat = [p for ps in prompts for p in ps]
        owner = torch.tensor([c for c, ps in enumerate(prompts) for _ in ps])
        txt = embed_texts(model, tokenizer(flat))
        gt = scenes.attribute_map(attribute)
        if scoring == "global":
            proto = F.normalize(torch.zeros(k, txt.global_emb.shape[1]).index_add_(0, owner, txt.global_emb), dim=-1)
            paths = {"global": img.patch_global, "local": img.local_emb}
            for path, patches in paths.items():
                pred = (F.normalize(patches, dim=-1) @ proto.T).argmax(-1).numpy()
                out[f"seg_{attribute}_{path}"] = foreground_miou(patch_to_pixels(pred, patch_size), gt, k)[0]
        else:
            v = F.normalize(img.local_emb, dim=-1)
            t = F.normalize(txt.local_emb, dim=-1)
            sim = torch.einsum("npd,qld->npql", v, t).masked_fill(~txt.mask[None, None], -2.0).amax(-1)
            counts = torch.bincount(owner, minlength=k).float()
            per_class = torch.zeros(*sim.shape[:2], k).index_add_(2, owner, sim) / counts
            pred = per_class.argmax(-1).numpy()
            out[f"seg_{attribute}_local"] = foreground_miou(patch_to_pixels(pred, patch_size), gt, k)[0]
    return out


def object_patches(scenes: Scenes, patch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Per object k and patch p: whether p holds any pixel of k (N, K, P) bool, and the share of k's
    pixels that lie in p (N, K, P), rows summing to 1 for present objects."""
    n, s, _ = scenes.instance_map.shape
    g = s // patch_size
    k_max = scenes.attrs.shape[1]
    blocks = scenes.instance_map.reshape(n, g, patch_size, g, patch_size).transpose(0, 1, 3, 2, 4).reshape(n, g * g, -1)
    counts = np.stack([(blocks == k + 1).sum(-1) for k in range(k_max)], axis=1).astype(np.float64)
    share = counts / np.maximum(counts.sum(-1, keepdims=True), 1.0)
    return counts > 0, share


@torch.no_grad()
def alignment_weights(model: DualEncoder, images: np.ndarray, tokens: TokenBatch) -> torch.Tensor:
    """SPARC alignment weights a_lp (min-max, σ = 1/P) from the local embeddings: (N, L, P)."""
    model.eval()
    dev = model.log_logit_scale.device
    img = model.encode_image(torch.from_numpy(images).to(dev))
    txt = model.encode_text(torch.from_numpy(tokens.mask).to(dev), ids=torch.from_numpy(tokens.ids).to(dev))
    return losses.sparc_alignment_weights(losses.token_patch_similarity(txt.token_emb, img.patch_emb)).float().cpu()


def pointing_game(weights: np.ndarray, tokens: TokenBatch, obj_patches: tuple[np.ndarray, np.ndarray]
                  ) -> dict[str, float]:
    """The pointing game on SPARC alignment weights, over every colour or category token naming object k:

    - ``pointing_mass``: % of the token's alignment mass on patches that hold part of object k;
    - ``pointing_hit``: % of tokens whose top patch holds part of object k;
    - ``pointing_acc``: in scenes with >= 2 objects, % of tokens for which object k receives a higher
      pixel-averaged weight Σ_p a_lp·share_kp than every other object (discriminative: salience alone,
      i.e. attending to all objects, scores 1/K);
    - ``pointing_chance`` / ``pointing_acc_chance``: the same for uniform weights / a random object.
    """
    touch, share = obj_patches
    sel = (tokens.objects >= 0) & np.isin(tokens.roles, (ROLE_COLOUR, ROLE_CATEGORY)) & tokens.mask
    n_idx, l_idx = np.nonzero(sel)
    if n_idx.size == 0:
        return {"pointing_mass": float("nan"), "pointing_hit": float("nan"), "pointing_acc": float("nan")}
    named = tokens.objects[n_idx, l_idx]
    target = touch[n_idx, named]  # (T, P)
    w = weights[n_idx, l_idx]  # (T, P)
    out = {"pointing_mass": 100.0 * float((w * target).sum(-1).mean()),
           "pointing_hit": 100.0 * float(target[np.arange(len(n_idx)), w.argmax(-1)].mean()),
           "pointing_chance": 100.0 * float(target.mean(-1).mean())}
    present = share[n_idx].sum(-1) > 0  # (T, K)
    multi = present.sum(-1) >= 2
    if multi.any():
        density = np.einsum("tkp,tp->tk", share[n_idx], w)
        density = np.where(present, density, -np.inf)
        wins = density[np.arange(len(n_idx)), named] > np.max(
            np.where(np.arange(share.shape[1])[None] == named[:, None], -np.inf, density), axis=-1)
        out["pointing_acc"] = 100.0 * float(wins[multi].mean())
        out["pointing_acc_chance"] = 100.0 * float((1.0 / present[multi].sum(-1)).mean())
    else:
        out["pointing_acc"] = float("nan")
    return out


@dataclasses.dataclass
class PointingProbe:
    """A fixed set of test scenes + captions on which the pointing game is logged during training."""

    scenes: Scenes
    tokens: TokenBatch
    patch_size: int

    def __post_init__(self):
        self.obj_patches = object_patches(self.scenes, self.patch_size)

    def __call__(self, model: DualEncoder) -> dict[str, float]:
        w = alignment_weights(model, self.scenes.images, self.tokens).numpy()
        return pointing_game(w, self.tokens, self.obj_patches)


# --------------------------------------------------------------------------- faithfulness

def k_precision(retrieved: Sequence[Caption], knowledge: Sequence[Sequence[Caption]]) -> dict[str, float]:
    """K-Precision (%) of each retrieved caption against the image's ground-truth captions (paper Table 4):
    K-P over all words, K-Pna over attribute words only (our nouns and adjectives)."""
    kp, kpna = [], []
    for cap, truth in zip(retrieved, knowledge):
        known = {w for c in truth for w in c.words}
        kp.append(np.mean([w in known for w in cap.words]))
        attrs = [w for w in cap.words if w in ATTRIBUTE_WORDS]
        if attrs:
            kpna.append(np.mean([w in known for w in attrs]))
    return {"K-P": 100.0 * float(np.mean(kp)), "K-Pna": 100.0 * float(np.mean(kpna))}


@torch.no_grad()
def faithfulness(model: DualEncoder, scenes: Scenes, captions: Sequence[Caption],
                 knowledge: Sequence[Sequence[Caption]], img: Embedded, txt: Embedded, scoring: str
                 ) -> dict[str, float]:
    """K-P / K-Pna of the top-1 caption retrieved for each image from the other images' captions
    (its own caption excluded, so that this is not R@1 again)."""
    s = pair_scores(img, txt, scoring, "i2t").clone()
    s.fill_diagonal_(-float("inf"))
    top = s.argmax(dim=1).numpy()
    return k_precision([captions[j] for j in top], knowledge)


@torch.no_grad()
def binding(model: DualEncoder, scenes: Scenes, tokenizer: Tokenizer, img: Embedded, scoring: str,
            seed: int = 0) -> dict[str, float]:
    """Attribute binding: % of multi-object images scored higher with their caption than with the same
    caption (same structure) after swapping the colours of two objects."""
    rows, true_caps, swapped_caps = [], [], []
    for i in range(len(scenes)):
        rng = np.random.default_rng([seed, i])
        swapped = swap_colours(scenes.attrs[i], rng)
        if swapped is None:
            continue
        state = rng.bit_generator.state
        true_caps.append(make_caption(scenes.attrs[i], scenes.kind, rng))
        rng.bit_generator.state = state
        swapped_caps.append(make_caption(swapped, scenes.kind, rng))
        rows.append(i)
    if not rows:
        return {"binding": float("nan")}
    idx = torch.tensor(rows)
    sub = Embedded(img.global_emb[idx], img.local_emb[idx], None)
    t_true = embed_texts(model, tokenizer(true_caps))
    t_swap = embed_texts(model, tokenizer(swapped_caps))
    if scoring == "global":
        s_true = (sub.global_emb * t_true.global_emb).sum(-1)
        s_swap = (sub.global_emb * t_swap.global_emb).sum(-1)
    else:
        s_true = paired_late_scores(sub.local_emb, t_true.local_emb, t_true.mask)
        s_swap = paired_late_scores(sub.local_emb, t_swap.local_emb, t_swap.mask)
    return {"binding": 100.0 * float((s_true > s_swap).float().mean()), "binding_n": len(rows)}
