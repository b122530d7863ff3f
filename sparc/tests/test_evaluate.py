"""The evaluation metrics on hand-computed cases."""

import numpy as np
import pytest
import torch

from sparc import data as D
from sparc import evaluate as E


def test_recall_at_k_hand_case():
    s = torch.tensor([[0.9, 0.1, 0.0], [0.8, 0.5, 0.1], [0.1, 0.2, 0.3]])
    # row 0 ranks its pair first, row 1 second, row 2 first
    r = E.recall_at_k(s, ks=(1, 2))
    assert r[1] == pytest.approx(200 / 3) and r[2] == pytest.approx(100.0)


def test_foreground_miou_hand_case():
    gt = np.array([[[-1, 0, 0, 1]]])
    pred = np.array([[[1, 0, 1, 1]]])
    # background pixel ignored; class 0: inter 1, union 2 -> 50; class 1: inter 1, union 2 -> 50
    miou, ious = E.foreground_miou(pred, gt, 3)
    assert ious == [50.0, 50.0] and miou == 50.0


def test_patch_to_pixels_and_oracle_bound():
    vals = np.array([[0, 1, 2, 3]])
    assert E.patch_to_pixels(vals, 2).tolist() == [[[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3]]]
    scenes = D.make_shape_scenes(20, 32, seed=0)
    bound = E.oracle_miou(scenes, "colour", 8)
    assert 60 < bound <= 100
    assert E.oracle_miou(scenes, "colour", 1) == pytest.approx(100.0)  # pixel-sized patches are exact


def test_pointing_game_hand_case():
    # one scene, 4 patches, two objects: object 0 covers patch 0 (4 px), object 1 covers patches 2 (1 px) and 3 (3 px)
    touch = np.array([[[True, False, False, False], [False, False, True, True]]])
    share = np.array([[[1.0, 0, 0, 0], [0, 0, 0.25, 0.75]]])
    tokens = D.TokenBatch(ids=np.ones((1, 3), np.int64), mask=np.array([[True, True, True]]),
                          objects=np.array([[-1, 0, 1]]), roles=np.array([[0, D.ROLE_COLOUR, D.ROLE_CATEGORY]]))
    w = np.array([[[0.25, 0.25, 0.25, 0.25], [0.7, 0.1, 0.1, 0.1], [0.4, 0.0, 0.5, 0.1]]])
    out = E.pointing_game(w, tokens, (touch, share))
    # token 1 names object 0: mass 0.7, top patch 0 (hit); token 2 names object 1: mass 0.6, top patch 2 (hit)
    assert out["pointing_mass"] == pytest.approx(65.0) and out["pointing_hit"] == pytest.approx(100.0)
    # object 0 density: 0.7 vs object 1: 0.1 -> wins; object 1: 0.25*0.5+0.75*0.1 = 0.2 vs object 0: 0.4 -> loses
    assert out["pointing_acc"] == pytest.approx(50.0) and out["pointing_acc_chance"] == pytest.approx(50.0)
    assert out["pointing_chance"] == pytest.approx(100 * (0.25 + 0.5) / 2)


def test_object_patches_shares_sum_to_one():
    scenes = D.make_shape_scenes(10, 32, seed=1)
    touch, share = E.object_patches(scenes, 8)
    present = scenes.attrs[:, :, 0] >= 0
    np.testing.assert_allclose(share.sum(-1)[present], 1.0)
    assert (share.sum(-1)[~present] == 0).all() and (touch == (share > 0)).all()


def test_k_precision_hand_case():
    truth = [[D.Caption("a red circle".split(), [-1, 0, 0], [0, 1, 2]),
              D.Caption("we see a small red circle".split(), [-1, -1, -1, 0, 0, 0], [0, 0, 0, 3, 1, 2])]]
    retrieved = [D.Caption("a blue circle here".split(), [-1, 0, 0, -1], [0, 1, 2, 0])]
    out = E.k_precision(retrieved, truth)
    # words a, circle known, blue and here not -> K-P 50; attribute words blue, circle -> K-Pna 50
    assert out["K-P"] == pytest.approx(50.0) and out["K-Pna"] == pytest.approx(50.0)
