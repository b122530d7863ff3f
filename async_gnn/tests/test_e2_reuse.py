import dataclasses
import json

from async_gnn.configs import CONFIGS
from async_gnn.experiments import e2_learning


def _record(cfg, tasks):
    config = {f: getattr(cfg, f) for f in e2_learning.FIELDS}
    config["tasks"] = list(tasks)
    runs = [{"task": t, "model": m, "seed": s} for t in tasks for m in cfg.models for s in cfg.seeds]
    return {"config": json.loads(json.dumps(config)), "metrics": {"runs": runs},
            "git": {"commit": "abc123"}, "started_at": "t0", "command": "cmd"}


def test_reusable_runs_needs_every_field_but_tasks_to_match(tmp_path):
    cfg = CONFIGS["full"]
    path = tmp_path / "e2_learning.json"
    assert e2_learning.reusable_runs(path, cfg) == ({}, {})  # no earlier record
    path.write_text(json.dumps(_record(cfg, ["bellman_ford"])))
    runs, prov = e2_learning.reusable_runs(path, cfg)
    assert set(runs) == {"bellman_ford"} and len(runs["bellman_ford"]) == len(cfg.models) * len(cfg.seeds)
    assert prov["commit"] == "abc123"
    for change in ({"hidden": cfg.hidden + 1}, {"seeds": (0,)}, {"train_steps": 1}):
        assert e2_learning.reusable_runs(path, dataclasses.replace(cfg, **change)) == ({}, {})
