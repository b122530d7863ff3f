"""The vmapped fine-tuning engine: equals sequential runs, is deterministic, memoises bit-exactly, and learns."""

import dataclasses

import pytest
import torch
from cl_transfer.learners import LEARNERS, run_sequences
from cl_transfer.training import BASE_ID, Run, RunStore, stream_indices
from tiny_engine import tiny_engine as _engine


def test_stream_depends_only_on_task_and_seed_and_probes_are_prefixes():
    a = stream_indices(100, 30, 8, task="T", seed=3)
    assert torch.equal(stream_indices(100, 5, 8, task="T", seed=3), a[:5])
    assert not torch.equal(stream_indices(100, 30, 8, task="T", seed=4), a)
    assert sorted(a.flatten()[:100].tolist()) == list(range(100))  # epoch-wise permutations


def test_vmapped_runs_equal_sequential_runs(suite):
    runs = [Run(BASE_ID, "SPUR-a", 0, 12), Run(BASE_ID, "DIG-seven", 1, 12), Run(BASE_ID, "SPUR-a", 2, 12)]
    joint = _engine(suite)
    joint.run(runs)
    for r in runs:
        alone = _engine(suite)
        alone.run([r])
        a, b = joint.checkpoint(joint.key(r)), alone.checkpoint(alone.key(r))
        for name in a:
            torch.testing.assert_close(a[name], b[name], atol=1e-5, rtol=1e-5)


def test_deterministic_and_store_roundtrip_is_bitwise(suite, tmp_path):
    torch.use_deterministic_algorithms(True)
    try:
        run = Run(BASE_ID, "SPUR-a", 0, 12)
        e1 = _engine(suite, RunStore(tmp_path / "one"))
        e2 = _engine(suite, RunStore(tmp_path / "two"))
        r1, r2 = e1.run([run])[0], e2.run([run])[0]
        assert r1 == r2
        s1, s2 = e1.checkpoint(r1.key), e2.checkpoint(r2.key)
        assert all(torch.equal(s1[k], s2[k]) for k in s1)
        fresh = RunStore(tmp_path / "one")  # a new process would see the same files
        assert fresh.get(r1.key) == r1
        assert all(torch.equal(fresh.state(r1.key)[k], s1[k]) for k in s1)
        e3 = _engine(suite, fresh)
        e3.run([run])
        assert e3.steps_executed == 0  # memoised: nothing retrained
    finally:
        torch.use_deterministic_algorithms(False)


@pytest.mark.smoke
def test_smoke_finetune_learns(suite):
    """A tiny random-init BERT learns a lexical rule (is "seven" present?) well above chance in 60 steps."""
    eng = _engine(suite, steps=60, lr=1e-2)
    probe = eng.run([Run(BASE_ID, "DIG-seven", 0, 0, keep=False)])[0]
    res = eng.run([Run(BASE_ID, "DIG-seven", 0, 60)])[0]
    assert res.test_acc > 0.9 and res.dev_loss < probe.dev_loss
    assert 0.3 < probe.dev_acc < 0.7


def test_selection_picks_the_obviously_best_checkpoint(suite):
    """Library {θ₀, a checkpoint already trained on the task}: the probe (and the Oracle) choose the latter."""
    eng = _engine(suite, steps=40)
    orders = {("same", 0): ("SPUR-a", "SPUR-a")}
    recs = run_sequences(eng, orders, [LEARNERS["Select-probe10"], LEARNERS["Oracle"],
                                       LEARNERS["Select-zeroshot"]], targets=("SPUR-a",))
    second = [r for r in recs if r.position == 1]
    assert {r.learner: r.parent_position for r in second} == {"Select-probe10": 0, "Oracle": 0,
                                                              "Select-zeroshot": 0}


def test_probe_keeps_no_parameters(suite):
    eng = _engine(suite)
    res = eng.run([Run(BASE_ID, "SPUR-a", 0, 3, keep=False)])[0]
    assert res.test_acc != res.test_acc  # nan: probes are not evaluated on test
    with pytest.raises(KeyError, match="probe"):
        eng.checkpoint(res.key)


def test_keys_change_with_every_ingredient(suite):
    eng = _engine(suite)
    run = Run(BASE_ID, "SPUR-a", 0, 12)
    keys = {eng.key(run), eng.key(dataclasses.replace(run, seed=1)), eng.key(dataclasses.replace(run, steps=11)),
            eng.key(dataclasses.replace(run, keep=False)), eng.key(dataclasses.replace(run, task="DIG-seven")),
            _engine(suite, lr=1e-3).key(run)}
    assert len(keys) == 6
