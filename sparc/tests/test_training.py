"""Models and training: shapes, every method steps with a finite loss, and a tiny run learns."""

import numpy as np
import pytest
import torch
from sparc.models import ModelConfig, build_model
from sparc.pipeline import WordCaptionSampler
from sparc.train import METHODS, TrainConfig, cosine_schedule, encode, method_loss, train

from sparc import data as D
from sparc import evaluate as E

TINY = ModelConfig(image_size=32, patch_size=8, vision_width=32, vision_depth=2, text_width=32, text_depth=1,
                   heads=2, embed_dim=32, vocab_size=len(D.VOCAB), max_len=D.max_caption_length("shapes", 3))


def test_model_shapes_and_padding():
    torch.manual_seed(0)
    model = build_model(TINY).eval()
    scenes = D.make_shape_scenes(4, 32, seed=0)
    tok = D.tokenize([D.make_caption(a, "shapes", np.random.default_rng(0)) for a in scenes.attrs], TINY.max_len)
    img = model.encode_image(torch.from_numpy(scenes.images))
    assert img.patch_features.shape == (4, 16, 32) and img.patch_emb.shape == (4, 16, 32)
    assert img.global_emb.shape == (4, 32)
    ids, mask = torch.from_numpy(tok.ids), torch.from_numpy(tok.mask)
    txt = model.encode_text(mask, ids=ids)
    assert txt.token_emb.shape == (4, TINY.max_len, 32) and txt.global_emb.shape == (4, 32)
    # padding changes nothing: extra pad columns leave the real tokens' embeddings and the pooled one equal
    n = int(mask.sum(1).max())
    short = model.encode_text(mask[:, :n], ids=ids[:, :n])
    torch.testing.assert_close(short.global_emb, txt.global_emb, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(short.token_emb[mask[:, :n]], txt.token_emb[mask], atol=1e-5, rtol=1e-5)
    # the global path applied per patch has the embedding width
    assert model.patch_global_path(img.patch_features).shape == (4, 16, 32)
    assert float(model.logit_scale.detach()) == pytest.approx(1 / 0.07, rel=1e-5)


def test_cosine_schedule():
    assert cosine_schedule(0, 100, 10) == pytest.approx(0.1)
    assert cosine_schedule(10, 100, 10) == pytest.approx(1.0)
    assert cosine_schedule(100, 100, 10) == pytest.approx(0.0)


@pytest.mark.parametrize("method", METHODS)
def test_every_method_trains_with_finite_loss(method):
    torch.manual_seed(0)
    model = build_model(TINY)
    scenes = D.make_shape_scenes(64, 32, seed=0)
    res = train(model, WordCaptionSampler(scenes, TINY.max_len), TrainConfig(method=method, steps=3, batch_size=8,
                                                                            log_every=1), seed=0)
    assert len(res.history) == 3 and all(np.isfinite(h["loss"]) for h in res.history)
    assert "loss_f_shuffled" in res.history[-1] and "nonzero_fraction" in res.history[-1]
    if method.startswith("sparc"):
        assert {"loss_g", "loss_f"} <= set(res.history[0])


def test_bad_method_is_rejected():
    with pytest.raises(ValueError, match="method"):
        train(build_model(TINY), None, TrainConfig(method="pacl"), seed=0)


def test_sparc_loss_combines_global_and_fine_grained():
    torch.manual_seed(1)
    model = build_model(TINY)
    scenes = D.make_shape_scenes(16, 32, seed=0)
    batch = WordCaptionSampler(scenes, TINY.max_len)(np.random.default_rng(0), 8)
    img, txt = encode(model, batch)
    cfg = TrainConfig(lambda_g=0.5, lambda_f=2.0)
    loss, parts = method_loss("sparc", img, txt, model.logit_scale, cfg)
    assert float(loss) == pytest.approx(0.5 * parts["loss_g"] + 2.0 * parts["loss_f"], rel=1e-5)
    clip, clip_parts = method_loss("clip", img, txt, model.logit_scale, cfg)
    assert float(clip) == pytest.approx(parts["loss_g"], rel=1e-5) and "loss_f" not in clip_parts


@pytest.mark.smoke
def test_smoke_training_run_beats_chance_at_retrieval():
    """A tiny SPARC run: the loss falls and image→text retrieval on held-out scenes beats chance."""
    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = build_model(TINY)
    train_scenes = D.make_shape_scenes(2000, 32, seed=0)
    test = D.make_shape_scenes(100, 32, seed=99, allow_held_out=True)
    res = train(model, WordCaptionSampler(train_scenes, TINY.max_len),
                TrainConfig(method="sparc", steps=120, batch_size=48, warmup_steps=10, lr=2e-3, log_every=10), seed=0)
    assert res.history[-1]["loss"] < 0.7 * res.history[0]["loss"]
    caps = [D.make_caption(a, "shapes", np.random.default_rng(i)) for i, a in enumerate(test.attrs)]
    tokenizer = E.Tokenizer(TINY.max_len)
    r = E.retrieval(E.embed_images(model, test.images), E.embed_texts(model, tokenizer(caps)), "global")
    # chance: R@1 = 1%, R@10 = 10% on 100 pairs
    assert r["i2t_R@10"] > 20.0 and r["t2i_R@10"] > 20.0, r
