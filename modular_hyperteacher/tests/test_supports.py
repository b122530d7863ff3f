"""Theory supports: the reference sweeps' Blessed/Doomed labels from rank and connectivity (paper Thm. 1)."""

import numpy as np
import pytest
from modular_hyperteacher.supports import (
    CONTINUOUS_SUPPORTS,
    DISCRETE_SUPPORTS,
    REFERENCE_LABELS,
    Support,
    is_compositional,
    is_connected,
    parse_support,
    theory_supports,
)


def test_parse_support_repeated_index_counts_once():
    codes = parse_support("0,0;1,2", 4)
    np.testing.assert_array_equal(codes, [[1, 0, 0, 0], [0, 1, 1, 0]])
    with pytest.raises(ValueError):
        parse_support("0,6", 6)


def test_all_19_labels_match_the_reference_sweeps():
    supports = theory_supports("all")
    assert len(supports) == 19 == len(DISCRETE_SUPPORTS) + len(CONTINUOUS_SUPPORTS)
    for s in supports:
        assert s.generalizing == REFERENCE_LABELS[(s.text, s.continuous)], s.name
    assert sum(s.generalizing for s in supports) == 4 + 4


@pytest.mark.parametrize("text,continuous,rank,connected,label", [
    ("0,1;1,2;2,3;3,4;4,5;5,0", False, 5, True, False),  # even ring: rank 5
    ("0,0;1,1;2,2;3,3;4,4;5,5;0,1;1,2;2,3;3,4;4,5;5,0", False, 6, True, True),  # + one-hots
    ("0,1,2;1,2,3;2,3,4;3,4,5;4,5,0;5,0,1", False, 4, True, False),  # cyclic triples
    ("0,1,2,3,4,5", False, 1, True, False),
    ("0,1,2,3,4,5", True, 1, True, True),  # continuous weights span R^6
    ("0,1,2;3,4,5", True, 2, False, False),
    ("0;1;2;3;4;5", False, 6, False, False),
])
def test_rank_and_connectivity_goldens(text, continuous, rank, connected, label):
    s = Support(text, continuous, parse_support(text, 6))
    assert s.rank == rank
    assert s.connected is connected
    assert s.generalizing is label


def test_unused_module_is_disconnected_and_not_compositional():
    codes = parse_support("0,1;1,2", 4)
    assert not is_connected(codes)
    assert not is_compositional(codes, continuous=True)
