"""The GPU-time estimate: its plan is what a fresh run trains, its FLOP model is linear, its sum is right."""

import pytest
import torch
from cl_transfer.gpu_estimate import Chunk, CostModel, PlanRecorder, Rates, _flops, _stacked, estimate, measure_costs
from cl_transfer.learners import LEARNERS, run_sequences
from cl_transfer.training import BASE_ID, Run, RunStore
from tiny_engine import tiny_engine as _engine

ORDERS = {("s", 0): ("SPUR-a", "DIG-seven", "SPUR-a"), ("s", 1): ("DIG-seven", "SPUR-a", "SPUR-a")}
LEARNER_NAMES = ("FT-base", "FT-last", "Oracle", "Select-probe10")


def _work(backend):
    backend.run([Run(BASE_ID, "SPUR-a", 0, 12), Run(BASE_ID, "DIG-seven", 1, 12)])
    run_sequences(backend, ORDERS, [LEARNERS[n] for n in LEARNER_NAMES], targets=("SPUR-a",))


def test_plan_recorder_replays_the_chunks_a_fresh_run_trains(suite, tmp_path):
    fresh = _engine(suite, RunStore(tmp_path))
    trained = []
    train_chunk = fresh._train_chunk

    def spy(chunk, steps, lr, batch):
        trained.append((len(chunk), steps, batch, sum(r.keep for _, r in chunk)))
        train_chunk(chunk, steps, lr, batch)

    fresh._train_chunk = spy
    _work(fresh)
    assert len(trained) > 3 and any(k > 1 for k, *_ in trained)

    replay = _engine(suite, RunStore(tmp_path))  # a new process on the filled store
    recorder = PlanRecorder(replay)
    _work(recorder)
    assert [(c.k, c.steps, c.batch, c.kept) for c in recorder.chunks] == trained
    assert replay.steps_executed == 0  # nothing was trained to make the plan
    assert sum(c.steps * c.k for c in recorder.chunks) == fresh.steps_executed
    # every run is scored on dev (32 inputs); kept runs also on test (200 inputs)
    for c in recorder.chunks:
        assert sum(k for k, n in c.evals if n == 32) == c.k
        assert sum(k for k, n in c.evals if n == 200) == c.kept


def test_plan_recorder_refuses_runs_that_are_not_memoised(suite):
    with pytest.raises(RuntimeError, match="not memoised"):
        PlanRecorder(_engine(suite)).run([Run(BASE_ID, "SPUR-a", 0, 12)])


def test_train_flops_are_linear_in_models_times_batch(suite):
    eng = _engine(suite)
    x = torch.randint(5, 100, (1, 2, 3, 17))
    y = torch.randint(0, 2, (1, 2, 3))
    six = _flops(lambda: eng.train_stacked(_stacked(eng, 2), x, y, 1e-3))
    one = _flops(lambda: eng.train_stacked(_stacked(eng, 1), x[:, :1, :1], y[:, :1, :1], 1e-3))
    assert six == 6 * one > 0
    before = eng.steps_executed
    cost = measure_costs(eng, 17, repeats=1, host_steps=2)
    assert cost.frozen_flops == 0  # Tier T trains every layer: nothing is shared between the K models
    assert cost.train_flops == one
    assert 2.5 < cost.train_flops / cost.trained_flops < 3.5  # backward ≈ twice the forward
    assert cost.host_step_s > 0 and eng.steps_executed == before  # measuring is not part of any plan


def test_estimate_sums_hand_computed_components():
    cost = CostModel(train_flops=10.0, frozen_flops=3.0, trained_flops=2.0, host_step_s=0.5, host_eval_s=0.25,
                     trainable_params=100, eval_chunk=512)
    chunks = [Chunk(k=2, steps=3, batch=4, evals=((2, 600),), kept=2),
              Chunk(k=1, steps=5, batch=8, evals=((1, 10),), kept=0)]
    est = estimate(chunks, cost, Rates(flops=10.0, memory=28.0, disk=4.0), set_up_s=1.0)
    assert est["stacked_steps"] == 8 and est["model_steps"] == 11
    assert est["train_flops"] == (3 * 2 * 4 + 5 * 8) * 10.0  # 640
    assert est["eval_flops"] == 600 * (3 + 2 * 2) + 10 * (3 + 2)  # 4250
    assert est["eval_calls"] == 3  # 600 inputs take two calls of 512, 10 take one
    assert est["host_train_s"] == 4.0 and est["host_eval_s"] == 0.75
    assert est["compute_s"] == pytest.approx(489.0)
    assert est["adam_memory_s"] == pytest.approx(11 * 100)  # 28 B per parameter and model-step at 28 B/s
    assert est["checkpoint_writes_s"] == pytest.approx(2 * 100 * 4 / 4.0)
    assert est["total_s"] == pytest.approx(1.0 + 4.0 + 0.75 + 489.0 + 1100 + 200)


@pytest.mark.parametrize("flag, field", [(["--disk-bw", "0"], "'disk_bw'"), (["--device", "cuda"], "'device'")])
def test_bad_estimate_settings_exit_2_naming_the_field(flag, field, capsys):
    from cl_transfer import gpu_estimate
    from repro_shared import cli

    with pytest.raises(SystemExit) as e:
        cli.run_main(gpu_estimate.main, gpu_estimate.build_parser(), flag)
    assert e.value.code == 2 and field in capsys.readouterr().err
