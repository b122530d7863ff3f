import numpy as np
import pytest
import torch
from l2m.continual import average_success, forgetting, seen_task_curve
from l2m.data import DataSpec, SequenceDataset, ensure_data, load_task
from l2m.methods import MethodConfig, build_method
from l2m.model import MDDT, ModelConfig
from l2m.train import TrainConfig, train


def test_continual_metrics_golden():
    S = np.array([[0.8, np.nan, np.nan], [0.2, 0.9, np.nan], [0.1, 0.5, 1.0]])
    assert average_success(S) == pytest.approx((0.1 + 0.5 + 1.0) / 3)
    np.testing.assert_allclose(forgetting(S), [0.7, 0.4])
    np.testing.assert_allclose(seen_task_curve(S), [0.8, 0.55, 1.6 / 3])


@pytest.fixture(scope="module")
def reach_store(tmp_path_factory):
    import os

    os.environ["L2M_DATA_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    try:
        ensure_data(["reach-v3"], DataSpec(episodes=2), workers=1)
        return load_task("reach-v3", DataSpec(episodes=2))
    finally:
        del os.environ["L2M_DATA_CACHE"]


@pytest.mark.smoke
def test_smoke_pretraining_learns(reach_store):
    """Data generation -> tiny MDDT -> 60 updates: the action-token loss falls well below log(64)."""
    torch.manual_seed(0)
    model = MDDT(ModelConfig(d_model=32, n_layer=2, n_head=4))
    method = build_method("ft", model, MethodConfig())
    ds = SequenceDataset([reach_store], context=5)
    hist = train(model, method, ds, TrainConfig(steps=60, batch_size=32, lr=3e-3, warmup=5, cosine=True),
                 log_every=10)
    assert hist["loss"][0] > 3.5 and hist["loss"][-1] < hist["loss"][0] - 0.8


def test_l2m_trains_only_its_modulators(reach_store):
    torch.manual_seed(0)
    model = MDDT(ModelConfig(d_model=32, n_layer=2, n_head=4))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    method = build_method("l2m", model, MethodConfig(l2m_pool=4))
    method.begin_task(0)
    ds = SequenceDataset([reach_store], context=5)
    hist = train(model, method, ds, TrainConfig(steps=60, batch_size=32, lr=1e-2), log_every=10)
    assert hist["loss"][-1] < hist["loss"][0] - 0.15  # a frozen random backbone: the modulators alone learn
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert float(method.peft.pool.b_q.abs().sum()) > 0
