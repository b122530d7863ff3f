"""The losses on hand-computed cases, their invariants, padding, degenerate rows and gradients."""

import math

import pytest
import torch
import torch.nn.functional as F

from sparc import losses as L


@pytest.fixture(autouse=True)
def float64():
    """Every test of this module runs in float64 (golden values to 1e-6, gradcheck); restored afterwards."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


# The hand case of the paper notes (Sec. 7): P = 3 patches, L = 3 tokens, d = 2, σ = 1/3.
V = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]], dtype=torch.float64)
T = torch.tensor([[[2.0, 0.5], [0.2, 1.0], [1.0, 1.0]]], dtype=torch.float64)
MASK = torch.ones(1, 3, dtype=torch.bool)


def test_hand_case_similarity_weights_and_grouped_embeddings():
    s = L.token_patch_similarity(T, V)
    # s_lp = <t_l, v_p>
    torch.testing.assert_close(s, torch.tensor([[[2.0, 0.5, 2.5], [0.2, 1.0, 1.2], [1.0, 1.0, 2.0]]]))
    # min-max per token over patches: row 0 (2, .5, 2.5) -> (.75, 0, 1); row 1 -> (0, .8, 1); row 2 -> (0, 0, 1);
    # σ = 1/3 keeps all non-zero entries; dividing by the row sums 1.75, 1.8, 1 gives:
    a = L.sparc_alignment_weights(s)
    torch.testing.assert_close(a, torch.tensor([[[3 / 7, 0, 4 / 7], [0, 4 / 9, 5 / 9], [0, 0, 1.0]]]))
    c = L.language_grouped_embeddings(a, V)
    torch.testing.assert_close(c, torch.tensor([[[1.0, 4 / 7], [5 / 9, 1.0], [1.0, 1.0]]]))


def _hand_loss_from_grouped(c, t, scale):
    """Eq. 6 written out for one caption with a python loop (the reference for the golden numbers)."""
    n = t.shape[0]
    cos = lambda x, y: float(x @ y / (x.norm() * y.norm()))
    c2t = t2c = 0.0
    for j in range(n):
        row = [scale * cos(c[j], t[k]) for k in range(n)]
        c2t += -(row[j] - math.log(sum(math.exp(r) for r in row)))
        row = [scale * cos(t[j], c[k]) for k in range(n)]
        t2c += -(row[j] - math.log(sum(math.exp(r) for r in row)))
    return c2t / n, t2c / n


def test_hand_case_loss_golden_values():
    c = torch.tensor([[1.0, 4 / 7], [5 / 9, 1.0], [1.0, 1.0]])
    c2t, t2c = _hand_loss_from_grouped(c, T[0], 1.0)
    assert c2t == pytest.approx(1.008435, abs=1e-6)
    assert t2c == pytest.approx(1.006125, abs=1e-6)
    # L_f = mean of the two directions: 1.007280 at 1/τ = 1 and 0.561328 at 1/τ = 10
    assert L.sparc_fine_grained_loss(V, T, MASK, 1.0).item() == pytest.approx(1.007280, abs=1e-6)
    assert L.sparc_fine_grained_loss(V, T, MASK, 10.0).item() == pytest.approx(0.561328, abs=1e-6)
    assert L.sparc_fine_grained_loss(V, T, MASK, torch.tensor(10.0)).item() == pytest.approx(0.561328, abs=1e-6)


def test_padding_invariance_adding_padded_tokens_changes_nothing():
    pad = torch.tensor([[[5.0, -3.0], [1e6, -1e6]]])
    t2 = torch.cat([T, pad], dim=1)
    m2 = torch.tensor([[True, True, True, False, False]])
    base = L.sparc_fine_grained_loss(V, T, MASK, 1.0).item()
    assert base == pytest.approx(1.007280, abs=1e-6)
    for red in ("sample", "token"):
        assert L.sparc_fine_grained_loss(V, t2, m2, 1.0, reduction=red).item() == pytest.approx(base, abs=1e-12)
    # interleaved padding too (the mask, not the position, decides)
    t3 = torch.stack([T[0, 0], pad[0, 0], T[0, 1], T[0, 2]])[None]
    m3 = torch.tensor([[True, False, True, True]])
    assert L.sparc_fine_grained_loss(V, t3, m3, 1.0).item() == pytest.approx(base, abs=1e-12)
    # and padded tokens get no gradient
    t2 = t2.clone().requires_grad_(True)
    L.sparc_fine_grained_loss(V, t2, m2, 1.0).backward()
    assert torch.all(t2.grad[0, 3:] == 0) and torch.isfinite(t2.grad).all()


def test_minmax_is_per_token_over_patches_and_invariant():
    g = torch.Generator().manual_seed(0)
    s = torch.randn(2, 5, 7, generator=g)
    s_hat = L.minmax_normalise(s)
    assert torch.allclose(s_hat.amin(-1), torch.zeros(2, 5)) and torch.allclose(s_hat.amax(-1), torch.ones(2, 5))
    # shifting one token's row, or scaling it by α > 0, leaves its weights unchanged
    shift = torch.randn(2, 5, 1, generator=g)
    scale = torch.rand(2, 5, 1, generator=g) + 0.1
    torch.testing.assert_close(L.sparc_alignment_weights(s * scale + shift), L.sparc_alignment_weights(s))
    # ... but normalising over tokens instead would not be: the min/max are taken along the patch axis
    wrong = (s - s.amin(1, keepdim=True)) / (s.amax(1, keepdim=True) - s.amin(1, keepdim=True))
    assert not torch.allclose(wrong, s_hat)
    w = L.sparc_alignment_weights(s)
    assert (w >= 0).all()
    torch.testing.assert_close(w.sum(-1), torch.ones(2, 5))
    assert torch.equal(w.argmax(-1), s.argmax(-1))  # the best patch is always kept


def test_threshold_behaviour():
    s = torch.tensor([[[0.0, 1.0, 2.0, 3.0, 4.0]]])  # ŝ = 0, .25, .5, .75, 1
    # default σ = 1/P = 0.2: only the minimum is dropped
    torch.testing.assert_close(L.sparc_alignment_weights(s), torch.tensor([[[0, 0.25, 0.5, 0.75, 1.0]]]) / 2.5)
    # σ = 0.5 keeps ŝ >= 0.5 (the comparison is >=, so 0.5 itself is kept)
    torch.testing.assert_close(L.sparc_alignment_weights(s, threshold=0.5), torch.tensor([[[0, 0, .5, .75, 1]]]) / 2.25)
    # σ = 1 keeps only the arg-max patch: hard assignment
    torch.testing.assert_close(L.sparc_alignment_weights(s, threshold=1.0), torch.tensor([[[0, 0, 0, 0, 1.0]]]))
    # σ = 0 (no sparsity) keeps everything; the minimum has ŝ = 0 anyway
    no_sparsity = torch.tensor([[[0, 0.25, 0.5, 0.75, 1.0]]]) / 2.5
    torch.testing.assert_close(L.sparc_alignment_weights(s, threshold=0.0), no_sparsity)
    with pytest.raises(ValueError, match="threshold"):
        L.sparc_alignment_weights(s, threshold=1.5)
    # the no-sparsity loss is exactly threshold 0
    g = torch.Generator().manual_seed(1)
    v, t = torch.randn(2, 9, 4, generator=g), torch.randn(2, 6, 4, generator=g)
    m = torch.ones(2, 6, dtype=torch.bool)
    assert L.sparc_no_sparsity_loss(v, t, m, 3.0).item() == pytest.approx(
        L.sparc_fine_grained_loss(v, t, m, 3.0, threshold=0.0).item())
    assert L.sparc_no_sparsity_loss(v, t, m, 3.0).item() != pytest.approx(
        L.sparc_fine_grained_loss(v, t, m, 3.0, threshold=0.5).item())


def test_softmax_weights_ablation():
    s = L.token_patch_similarity(T, V)
    torch.testing.assert_close(L.sparc_alignment_weights(s, weighting="softmax"), torch.softmax(s, -1))
    c = L.language_grouped_embeddings(torch.softmax(s, -1), V)
    expected = 0.5 * sum(_hand_loss_from_grouped(c[0], T[0], 2.0))
    assert L.sparc_softmax_weights_loss(V, T, MASK, 2.0).item() == pytest.approx(expected, abs=1e-9)


def test_reductions_sample_vs_token():
    g = torch.Generator().manual_seed(2)
    v, t = torch.randn(2, 4, 3, generator=g), torch.randn(2, 5, 3, generator=g)
    # equal lengths: Eq. 6 and Listing 1 coincide
    m = torch.ones(2, 5, dtype=torch.bool)
    assert L.sparc_fine_grained_loss(v, t, m, 2.0, reduction="sample").item() == pytest.approx(
        L.sparc_fine_grained_loss(v, t, m, 2.0, reduction="token").item())
    # unequal lengths: sample = mean of the per-caption means; token = mean over the 5 + 2 real tokens
    m = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 0, 0, 0]], dtype=torch.bool)
    per = [L.sparc_fine_grained_loss(v[i:i + 1, :], t[i:i + 1, :n], torch.ones(1, n, dtype=torch.bool), 2.0).item()
           for i, n in ((0, 5), (1, 2))]
    assert L.sparc_fine_grained_loss(v, t, m, 2.0, reduction="sample").item() == pytest.approx((per[0] + per[1]) / 2)
    assert L.sparc_fine_grained_loss(v, t, m, 2.0, reduction="token").item() == pytest.approx(
        (5 * per[0] + 2 * per[1]) / 7)
    with pytest.raises(ValueError, match="reduction"):
        L.sparc_fine_grained_loss(v, t, m, 2.0, reduction="mean")


def test_degenerate_rows_stay_finite():
    # identical patches: every token's similarity row is constant -> uniform weights, no NaN
    v = torch.ones(1, 4, 3, requires_grad=True)
    t = torch.randn(1, 3, 3, generator=torch.Generator().manual_seed(3), requires_grad=True)
    m = torch.ones(1, 3, dtype=torch.bool)
    w = L.sparc_alignment_weights(L.token_patch_similarity(t, v))
    torch.testing.assert_close(w, torch.full((1, 3, 4), 0.25))
    loss = L.sparc_fine_grained_loss(v, t, m, 5.0)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(v.grad).all() and torch.isfinite(t.grad).all()
    # all c_l identical -> the t→c direction is exactly log L_i, the c→t direction is finite
    t_only = t.detach()
    c = torch.ones(1, 3, 3)
    full = L.within_caption_contrastive_loss(c, t_only, m, 5.0)
    assert torch.isfinite(full)
    logits = 5.0 * F.normalize(t_only, dim=-1) @ F.normalize(c, dim=-1).transpose(1, 2)
    t2c = -torch.log_softmax(logits, -1).diagonal(dim1=1, dim2=2).mean()
    assert t2c.item() == pytest.approx(math.log(3))
    # a caption with no real token (all padding) is skipped and leaves everything finite
    v2 = torch.randn(2, 4, 3, requires_grad=True)
    t2 = torch.randn(2, 3, 3, requires_grad=True)
    m2 = torch.tensor([[True, True, False], [False, False, False]])
    for red in ("sample", "token"):
        loss = L.sparc_fine_grained_loss(v2, t2, m2, 5.0, reduction=red)
        only_first = L.sparc_fine_grained_loss(v2[:1], t2[:1, :2], m2[:1, :2], 5.0, reduction=red)
        assert loss.item() == pytest.approx(only_first.item())
        v2.grad = t2.grad = None
        loss.backward()
        assert torch.isfinite(v2.grad).all() and torch.isfinite(t2.grad).all()
    # zero embeddings (cosine of zero vectors) stay finite as well
    z = L.sparc_fine_grained_loss(torch.zeros(1, 4, 3), torch.zeros(1, 3, 3), m, 5.0)
    assert torch.isfinite(z)


def test_gradients_flow_through_the_alignment_weights():
    g = torch.Generator().manual_seed(4)
    v = torch.randn(2, 6, 4, generator=g, requires_grad=True)
    t = torch.randn(2, 5, 4, generator=g, requires_grad=True)
    m = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=torch.bool)
    # float64 gradcheck (random inputs sit away from threshold ties)
    assert torch.autograd.gradcheck(lambda a, b: L.sparc_fine_grained_loss(a, b, m, 3.0), (v, t))
    # the token gradient is not the one a stop-gradient on a_lp would give
    loss = L.sparc_fine_grained_loss(v, t, m, 3.0)
    (grad_full,) = torch.autograd.grad(loss, t)
    w = L.sparc_alignment_weights(L.token_patch_similarity(t, v)).detach()
    c = L.language_grouped_embeddings(w, v)
    (grad_detached,) = torch.autograd.grad(L.within_caption_contrastive_loss(c, t, m, 3.0), t)
    assert not torch.allclose(grad_full, grad_detached)


def test_fine_grained_loss_is_batch_independent():
    g = torch.Generator().manual_seed(5)
    v = torch.randn(3, 6, 4, generator=g, requires_grad=True)
    t = torch.randn(3, 5, 4, generator=g)
    m = torch.ones(3, 5, dtype=torch.bool)
    (grad_a,) = torch.autograd.grad(L.sparc_fine_grained_loss(v, t, m, 3.0), v)
    v_other = v.detach().clone()
    v_other[1:] = torch.randn(2, 6, 4, generator=g)
    v_other.requires_grad_(True)
    (grad_b,) = torch.autograd.grad(L.sparc_fine_grained_loss(v_other, t, m, 3.0), v_other)
    torch.testing.assert_close(grad_a[0], grad_b[0])
    # batched = mean of the per-sample losses
    per = [L.sparc_fine_grained_loss(v[i:i + 1], t[i:i + 1], m[i:i + 1], 3.0) for i in range(3)]
    assert L.sparc_fine_grained_loss(v, t, m, 3.0).item() == pytest.approx(sum(p.item() for p in per) / 3)


def test_permutations():
    g = torch.Generator().manual_seed(6)
    v, t = torch.randn(1, 7, 4, generator=g), torch.randn(1, 5, 4, generator=g)
    m = torch.ones(1, 5, dtype=torch.bool)
    base = L.sparc_fine_grained_loss(v, t, m, 4.0).item()
    assert L.sparc_fine_grained_loss(v[:, torch.randperm(7, generator=g)], t, m, 4.0).item() == pytest.approx(base)
    assert L.sparc_fine_grained_loss(v, t[:, torch.randperm(5, generator=g)], m, 4.0).item() == pytest.approx(base)


def test_global_contrastive_loss_matches_formula():
    g = torch.Generator().manual_seed(7)
    a, b = torch.randn(4, 3, generator=g), torch.randn(4, 3, generator=g)
    logits = 2.5 * F.normalize(a, dim=-1) @ F.normalize(b, dim=-1).T
    i2t = -torch.log_softmax(logits, 1).diagonal().mean()
    t2i = -torch.log_softmax(logits, 0).diagonal().mean()
    assert L.global_contrastive_loss(a, b, 2.5).item() == pytest.approx(0.5 * (i2t + t2i).item())
    # perfectly aligned, well-separated pairs at a large scale -> loss near 0
    e = torch.eye(4)
    assert L.global_contrastive_loss(e, e, 100.0).item() < 1e-10
    with pytest.raises(ValueError):
        L.global_contrastive_loss(a, b[:3], 1.0)


def _filip_loop(v, t, m, scale, pm=None):
    """FILIP written with explicit loops over image/text pairs (the reference)."""
    b = v.shape[0]
    s_i2t = torch.zeros(b, b)
    s_t2i = torch.zeros(b, b)
    for i in range(b):
        patches = [p for p in range(v.shape[1]) if pm is None or pm[i, p]]
        for j in range(b):
            tokens = [q for q in range(t.shape[1]) if m[j, q]]
            cos = torch.tensor([[float(F.cosine_similarity(v[i, p], t[j, q], dim=0)) for q in tokens]
                                for p in patches])
            s_i2t[i, j] = cos.max(dim=1).values.mean()
            s_t2i[i, j] = cos.max(dim=0).values.mean()
    tgt = torch.arange(b)
    return s_i2t, s_t2i, 0.5 * (F.cross_entropy(scale * s_i2t, tgt) + F.cross_entropy(scale * s_t2i.T, tgt))


def test_filip_matches_direct_loop():
    g = torch.Generator().manual_seed(8)
    v, t = torch.randn(3, 4, 5, generator=g), torch.randn(3, 6, 5, generator=g)
    m = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 0, 0, 0, 0], [1, 1, 1, 1, 0, 0]], dtype=torch.bool)
    pm = torch.tensor([[1, 1, 1, 1], [1, 0, 1, 1], [0, 1, 1, 0]], dtype=torch.bool)
    for patch_mask in (None, pm):
        ref_i2t, ref_t2i, ref_loss = _filip_loop(v, t, m, 3.0, patch_mask)
        for chunk in (None, 2):
            s_i2t, s_t2i = L.filip_scores(v, t, m, patch_mask, chunk_size=chunk)
            torch.testing.assert_close(s_i2t, ref_i2t)
            torch.testing.assert_close(s_t2i, ref_t2i)
            loss = L.filip_loss(v, t, m, 3.0, patch_mask=patch_mask, chunk_size=chunk)
            assert loss.item() == pytest.approx(ref_loss.item())


def test_nonzero_fraction_reports_sparsity():
    s_v = torch.tensor([[[0.0], [1.0], [2.0], [3.0], [4.0]]])  # patches on a line, d = 1
    t = torch.tensor([[[1.0]]])
    m = torch.ones(1, 1, dtype=torch.bool)
    assert L.alignment_nonzero_fraction(s_v, t, m).item() == pytest.approx(0.8)
    assert L.alignment_nonzero_fraction(s_v, t, m, threshold=1.0).item() == pytest.approx(0.2)
