import numpy as np
import pytest
import torch
from l2m.tokenizer import detokenize, next_eval_rtg, returns_to_go, tokenize


@pytest.mark.parametrize("a, tok", [(-1.0, 0), (-0.03, 31), (0.0, 32), (0.03, 32), (0.99, 63), (1.0, 63),
                                    (-1.5, 0), (1.7, 63)])
def test_bin_edges_golden(a, tok):
    assert int(tokenize(np.array(a))) == tok
    assert int(tokenize(torch.tensor(a))) == tok


def test_detokenize_lower_edge_golden():
    np.testing.assert_array_equal(detokenize(np.array([32, 63, 0])), np.array([0.0, 0.96875, -1.0], np.float32))


def test_round_trip_tokens_and_values():
    k = np.arange(64)
    np.testing.assert_array_equal(tokenize(detokenize(k)), k)
    np.testing.assert_array_equal(tokenize(detokenize(torch.arange(64))).numpy(), k)
    x = np.random.default_rng(0).uniform(-1, 1, 10_000)
    lo = detokenize(tokenize(x))
    assert np.all(lo <= x + 1e-7) and np.all(x < lo + 1 / 32)


def test_returns_to_go_golden():
    np.testing.assert_allclose(returns_to_go(np.array([1.0, 2.0, 3.0])), [6.0, 5.0, 3.0])
    np.testing.assert_allclose(returns_to_go(np.array([[1.0, 0.0], [0.0, 2.0]])), [[1.0, 0.0], [2.0, 2.0]])


def test_eval_rtg_is_clipped_at_the_target():
    target, R, seq = 10.0, 10.0, [10.0]
    for r in [4.0, -3.0, 2.0]:
        R = float(next_eval_rtg(np.float32(R), np.float32(r), np.float32(target)))
        seq.append(R)
    assert seq == [10.0, 6.0, 9.0, 7.0]
