"""Image-text contrastive losses: CLIP's global loss, SPARC's fine-grained loss (+ ablations), FILIP.

Every loss is a pure function of embeddings (no module state), batched, and masked for padded text
tokens. ``logit_scale`` is always the multiplier 1/τ applied to cosine similarities: a float or a
0-d tensor, already exponentiated (not its log).

Paper references are to Bica et al., arXiv:2401.09865 (SPARC): Eq. 1-2 (global loss), Eq. 3-6 (the
fine-grained loss) and Listing 1 (pseudo-code, App. C).
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F

Reduction = Literal["sample", "token"]
Weighting = Literal["minmax", "softmax"]

# A finite stand-in for -inf in masked logits: -inf makes an all-masked softmax row 0/0 = NaN.
MASK_VALUE = -1e9
# Below this range a token's similarities are treated as constant (min-max would divide by ~0).
RANGE_EPS = 1e-6


def _as_scale(logit_scale: float | torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(logit_scale, dtype=ref.dtype, device=ref.device)


# --------------------------------------------------------------------------- global (CLIP)

def global_contrastive_loss(image_emb: torch.Tensor, text_emb: torch.Tensor,
                            logit_scale: float | torch.Tensor) -> torch.Tensor:
    """Symmetric InfoNCE over the batch on cosine similarities (CLIP; SPARC Eq. 1-2).

    Args:
      image_emb: (B, d) global image embeddings (any norm; cosine is taken here).
      text_emb: (B, d) global text embeddings; pair i is (image_emb[i], text_emb[i]).
      logit_scale: 1/τ.
    Returns: a scalar, the mean of the image→text and text→image cross-entropies.
    """
    if image_emb.shape != text_emb.shape or image_emb.ndim != 2:
        raise ValueError(f"expected two (B, d) tensors of equal shape, got {tuple(image_emb.shape)} "
                         f"and {tuple(text_emb.shape)}")
    img = F.normalize(image_emb, dim=-1)
    txt = F.normalize(text_emb, dim=-1)
    logits = _as_scale(logit_scale, img) * img @ txt.T
    target = torch.arange(img.shape[0], device=img.device)
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))


# --------------------------------------------------------------------------- SPARC alignment

def token_patch_similarity(token_emb: torch.Tensor, patch_emb: torch.Tensor) -> torch.Tensor:
    """s_lp = <t_l, v_p>, plain dot products of unnormalised embeddings: (B, L, d), (B, P, d) -> (B, L, P)."""
    return torch.einsum("bld,bpd->blp", token_emb, patch_emb)


def minmax_normalise(similarity: torch.Tensor, eps: float = RANGE_EPS) -> torch.Tensor:
    """Min-max over patches, per token (SPARC Eq. 3): ŝ_lp = (s_lp − min_k s_lk) / (max_k s_lk − min_k s_lk).

    A token whose similarities are constant over patches (range ≤ ``eps``: a constant image, identical
    patches, a zero padding row) gets ŝ = 1 everywhere, i.e. uniform weights after step 7; eps alone would
    give 0/0. The safe denominator keeps the unused branch's gradient finite.
    """
    s_min = similarity.amin(dim=-1, keepdim=True)
    s_range = similarity.amax(dim=-1, keepdim=True) - s_min
    ok = s_range > eps
    safe = torch.where(ok, s_range, torch.ones_like(s_range))
    return torch.where(ok, (similarity - s_min) / safe, torch.ones_like(similarity))


def sparc_alignment_weights(similarity: torch.Tensor, threshold: float | None = None,
                            weighting: Weighting = "minmax") -> torch.Tensor:
    """Alignment weights a_lp from token-patch similarities (B, L, P) (SPARC Eq. 3-4).

    ``weighting="minmax"``: min-max normalise over patches, zero every ŝ_lp < σ (σ = ``threshold``; None
    means 1/P), then divide by the row sum (linear, not exponential). The row maximum is 1 ≥ σ, so a row
    sum is never 0. ``threshold=0`` is the "no sparsity" ablation. ``weighting="softmax"`` is the softmax
    ablation (paper Table 8): a = softmax_p(s_lp), no normalisation and no threshold.
    No stop-gradient: the loss trains the weights too.
    """
    n_patches = similarity.shape[-1]
    if weighting == "softmax":
        if threshold is not None:
            raise ValueError("threshold is only used by weighting='minmax'")
        return torch.softmax(similarity, dim=-1)
    if weighting != "minmax":
        raise ValueError(f"invalid value for 'weighting': {weighting!r} (allowed: minmax, softmax)")
    sigma = 1.0 / n_patches if threshold is None else float(threshold)
    if not 0.0 <= sigma <= 1.0:
        raise ValueError(f"invalid value for 'threshold': {threshold!r} (allowed: None or a number in [0, 1])")
    s_hat = minmax_normalise(similarity)
    s_sparse = torch.where(s_hat >= sigma, s_hat, torch.zeros_like(s_hat))
    return s_sparse / s_sparse.sum(dim=-1, keepdim=True)


def language_grouped_embeddings(weights: torch.Tensor, patch_emb: torch.Tensor) -> torch.Tensor:
    """c_l = Σ_p a_lp v_p (SPARC Eq. 5): (B, L, P), (B, P, d) -> (B, L, d)."""
    return torch.einsum("blp,bpd->bld", weights, patch_emb)


def _check_fine_grained_inputs(patch_emb: torch.Tensor, token_emb: torch.Tensor, token_mask: torch.Tensor) -> None:
    if patch_emb.ndim != 3 or token_emb.ndim != 3:
        raise ValueError(f"patch_emb must be (B, P, d) and token_emb (B, L, d), got {tuple(patch_emb.shape)} "
                         f"and {tuple(token_emb.shape)}")
    b, _, d = patch_emb.shape
    if token_emb.shape[0] != b or token_emb.shape[2] != d:
        raise ValueError(f"batch/width mismatch: patch_emb {tuple(patch_emb.shape)}, "
                         f"token_emb {tuple(token_emb.shape)}")
    if token_mask.shape != token_emb.shape[:2]:
        raise ValueError(f"token_mask must be (B, L) = {tuple(token_emb.shape[:2])}, got {tuple(token_mask.shape)}")


def within_caption_contrastive_loss(grouped_emb: torch.Tensor, token_emb: torch.Tensor, token_mask: torch.Tensor,
                                    logit_scale: float | torch.Tensor,
                                    reduction: Reduction = "sample") -> torch.Tensor:
    """The sequence-wise loss of SPARC Eq. 6: contrast c_l with the tokens of the same caption, both ways.

    For caption i, token j: −log softmax_k(φ(c_ij, t_ik)·scale)_j and −log softmax_k(φ(t_ij, c_ik)·scale)_j,
    with φ the cosine and k over the caption's own (unpadded) tokens only. No batch negatives.

    ``reduction="sample"`` is Eq. 6: the mean over each caption's L_i tokens, then over captions (captions
    with no token are skipped). ``reduction="token"`` is Listing 1: sum(loss·mask) / sum(mask), i.e.
    every token of the batch weighs the same. The two agree when all captions have the same length.
    """
    if reduction not in ("sample", "token"):
        raise ValueError(f"invalid value for 'reduction': {reduction!r} (allowed: sample, token)")
    mask = token_mask.bool()
    c = F.normalize(grouped_emb, dim=-1)
    t = F.normalize(token_emb, dim=-1)
    logits = _as_scale(logit_scale, c) * torch.einsum("bjd,bkd->bjk", c, t)  # rows c_j, columns t_k
    col_mask = mask[:, None, :]
    logits_c2t = logits.masked_fill(~col_mask, MASK_VALUE)
    logits_t2c = logits.transpose(1, 2).masked_fill(~col_mask, MASK_VALUE)  # rows t_j, columns c_k
    diag = torch.arange(logits.shape[-1], device=logits.device)
    # −log softmax at the diagonal; padded rows stay finite thanks to the finite mask value.
    nll_c2t = -torch.log_softmax(logits_c2t, dim=-1)[:, diag, diag]
    nll_t2c = -torch.log_softmax(logits_t2c, dim=-1)[:, diag, diag]
    per_token = 0.5 * (nll_c2t + nll_t2c)
    per_token = torch.where(mask, per_token, torch.zeros_like(per_token))  # NaN-free masking of pad rows
    m = mask.to(per_token.dtype)
    if reduction == "token":
        return per_token.sum() / m.sum().clamp_min(1.0)
    n_tokens = m.sum(dim=1)
    has_tokens = n_tokens > 0
    per_sample = per_token.sum(dim=1) / n_tokens.clamp_min(1.0)
    return (per_sample * has_tokens).sum() / has_tokens.sum().clamp_min(1)


def _fine_grained(patch_emb, token_emb, token_mask, logit_scale, threshold, reduction, weighting):
    _check_fine_grained_inputs(patch_emb, token_emb, token_mask)
    weights = sparc_alignment_weights(token_patch_similarity(token_emb, patch_emb), threshold, weighting)
    grouped = language_grouped_embeddings(weights, patch_emb)
    return within_caption_contrastive_loss(grouped, token_emb, token_mask, logit_scale, reduction)


def sparc_fine_grained_loss(patch_emb: torch.Tensor, token_emb: torch.Tensor, token_mask: torch.Tensor,
                            logit_scale: float | torch.Tensor, threshold: float | None = None,
                            reduction: Reduction = "sample") -> torch.Tensor:
    """SPARC's fine-grained loss L_f (Eq. 3-6, Listing 1).

    Args:
      patch_emb: (B, P, d) local patch embeddings v_p = g_v(f_v,p), not normalised.
      token_emb: (B, L, d) local token embeddings t_l = g_t(f_t,l), not normalised.
      token_mask: (B, L) bool, True for real tokens, False for padding.
      logit_scale: 1/τ.
      threshold: σ; None means 1/P.
      reduction: "sample" (Eq. 6) or "token" (Listing 1's token-weighted mean).
    """
    return _fine_grained(patch_emb, token_emb, token_mask, logit_scale, threshold, reduction, "minmax")


def sparc_no_sparsity_loss(patch_emb: torch.Tensor, token_emb: torch.Tensor, token_mask: torch.Tensor,
                           logit_scale: float | torch.Tensor, reduction: Reduction = "sample") -> torch.Tensor:
    """Ablation "no sparsity" (paper Table 8): min-max weights without the σ threshold."""
    return _fine_grained(patch_emb, token_emb, token_mask, logit_scale, 0.0, reduction, "minmax")


def sparc_softmax_weights_loss(patch_emb: torch.Tensor, token_emb: torch.Tensor, token_mask: torch.Tensor,
                               logit_scale: float | torch.Tensor, reduction: Reduction = "sample") -> torch.Tensor:
    """Ablation "softmax weights" (paper Table 8): a_lp = softmax_p(s_lp) instead of min-max + threshold."""
    return _fine_grained(patch_emb, token_emb, token_mask, logit_scale, None, reduction, "softmax")


def alignment_nonzero_fraction(patch_emb: torch.Tensor, token_emb: torch.Tensor, token_mask: torch.Tensor,
                               threshold: float | None = None) -> torch.Tensor:
    """Fraction of non-zero a_lp over real tokens (the sparsity the paper's σ = 1/P actually achieves)."""
    with torch.no_grad():
        w = sparc_alignment_weights(token_patch_similarity(token_emb, patch_emb), threshold)
        nz = (w > 0).float().mean(dim=-1)
        m = token_mask.float()
        return (nz * m).sum() / m.sum().clamp_min(1.0)


# --------------------------------------------------------------------------- FILIP

def _fill_with_first_valid(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Replace masked rows of (B, N, d) by a copy of each item's first valid row: a max over rows is then
    unchanged, and no (B, B, P, L) masked copy is needed."""
    first = mask.to(torch.int64).argmax(dim=1)  # index of the first True (0 if none)
    fill = x.gather(1, first[:, None, None].expand(-1, 1, x.shape[-1])).expand_as(x)
    return torch.where(mask[..., None], x, fill)


def filip_scores(patch_emb: torch.Tensor, token_emb: torch.Tensor, token_mask: torch.Tensor,
                 patch_mask: torch.Tensor | None = None, chunk_size: int | None = None
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """FILIP's late-interaction similarities between every image i and every text j (Yao et al., 2022).

    Returns (s_i2t, s_t2i), both (B_img, B_txt):
      s_i2t[i, j] = mean_p max_l cos(v_ip, t_jl)  (over image i's kept patches, text j's real tokens)
      s_t2i[i, j] = mean_l max_p cos(t_jl, v_ip).
    ``chunk_size`` bounds the (B_img, P, chunk, L) similarity block held at once.
    """
    tmask = token_mask.bool()
    pmask = torch.ones(patch_emb.shape[:2], dtype=torch.bool, device=patch_emb.device) if patch_mask is None \
        else patch_mask.bool()
    v = _fill_with_first_valid(F.normalize(patch_emb, dim=-1), pmask)
    t = _fill_with_first_valid(F.normalize(token_emb, dim=-1), tmask)
    n_img, n_patch, d = v.shape
    n_txt, n_tok = t.shape[:2]
    chunk = n_txt if chunk_size is None else max(1, int(chunk_size))
    pw = pmask.to(v.dtype) / pmask.sum(dim=1, keepdim=True).clamp_min(1).to(v.dtype)  # (B_img, P)
    tw = tmask.to(v.dtype) / tmask.sum(dim=1, keepdim=True).clamp_min(1).to(v.dtype)  # (B_txt, L)
    flat_v = v.reshape(n_img * n_patch, d)
    i2t, t2i = [], []
    for start in range(0, n_txt, chunk):
        tc = t[start:start + chunk]
        sim = (flat_v @ tc.reshape(-1, d).T).reshape(n_img, n_patch, tc.shape[0], n_tok)
        i2t.append(torch.einsum("ipj,ip->ij", sim.max(dim=3).values, pw))
        t2i.append(torch.einsum("ijl,jl->ij", sim.max(dim=1).values, tw[start:start + chunk]))
    return torch.cat(i2t, dim=1), torch.cat(t2i, dim=1)


def filip_loss(patch_emb: torch.Tensor, token_emb: torch.Tensor, token_mask: torch.Tensor,
               logit_scale: float | torch.Tensor, patch_mask: torch.Tensor | None = None,
               chunk_size: int | None = None) -> torch.Tensor:
    """FILIP's token-wise late-interaction contrastive loss: InfoNCE on s_i2t (image→text) and on s_t2i
    (text→image), averaged. Its cost grows as B²·P·L·d (SPARC paper Table 11)."""
    _check_fine_grained_inputs(patch_emb, token_emb, token_mask)
    s_i2t, s_t2i = filip_scores(patch_emb, token_emb, token_mask, patch_mask, chunk_size)
    scale = _as_scale(logit_scale, s_i2t)
    target = torch.arange(s_i2t.shape[0], device=s_i2t.device)
    return 0.5 * (F.cross_entropy(scale * s_i2t, target) + F.cross_entropy(scale * s_t2i.T, target))
