import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[1]

TINY_SETS = ["hidden=16", "layers=1", "heads=2", "ffn=32", "pretrain_steps=20", "pretrain_corpus=400",
             "source_train=48", "source_dev=16", "source_test=48", "target_train=16", "target_dev=8",
             "target_test=48", "source_steps=3", "target_steps=3", "max_parallel=64",
             'sequences=["positive", "negative", "mixed"]', 'matrix_rows=["POL-d1", "SPUR-a"]']


def _reproduce(*args, env=None):
    return subprocess.run([sys.executable, "-m", "cl_transfer.reproduce", *args], capture_output=True, text=True,
                          env=env)


@pytest.mark.smoke
def test_imports():
    import cl_transfer
    from cl_transfer import configs, reproduce

    assert cl_transfer.__version__
    assert set(configs.CONFIGS) == {"quick", "full", "gpu"}
    for cfg in configs.CONFIGS.values():
        cfg.validate()
    assert reproduce.build_parser().prog.endswith("cl_transfer.reproduce")


@pytest.mark.smoke
def test_reproduce_cli_help_and_bad_scale():
    ok = _reproduce("--help")
    assert ok.returncode == 0 and "--scale" in ok.stdout and "transfer_matrix" in ok.stdout
    bad = _reproduce("--scale", "huge")
    assert bad.returncode == 2 and "'quick', 'full', 'gpu'" in bad.stderr


@pytest.mark.parametrize("setting, expect", [("tier=gpt", "'tier'"), ('learners=["FT-base", "EWC"]', "'learners'"),
                                             ('sequences=["sideways"]', "'sequences'"),
                                             ("nosuchfield=1", "nosuchfield"), ("heads=3", "'heads'"),
                                             ("target_train=0", "'target_train'")])
def test_bad_config_exits_2_naming_the_field(setting, expect, capsys):
    from cl_transfer import reproduce
    from repro_shared import cli

    with pytest.raises(SystemExit) as e:
        cli.run_main(reproduce.main, reproduce.build_parser(), ["--set", setting])
    assert e.value.code == 2 and expect in capsys.readouterr().err


def test_reproduce_end_to_end_tiny(tmp_path):
    """The whole pipeline at a toy size: records, tables, plots and a verdict for every claim."""
    env = {**os.environ, "CL_TRANSFER_CACHE": str(tmp_path / "cache"), "REPRO_NO_PROGRESS": "1"}
    args = ["--scale", "quick", "--seeds", "0,1", "--out", str(tmp_path / "out")]
    for s in TINY_SETS:
        args += ["--set", s]
    out = _reproduce(*args, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    for name in ("transfer_matrix", "sequences", "survey"):
        rec = json.loads((tmp_path / "out" / f"{name}.json").read_text())
        assert (tmp_path / "out" / f"{name}.md").is_file()
        for plot in rec["plots"]:
            assert (tmp_path / "out" / plot).stat().st_size > 1000
        for c in rec["claims"]:
            assert c["verdict"] in ("REPRODUCED", "NOT REPRODUCED", "INCONCLUSIVE")
    seq = json.loads((tmp_path / "out" / "sequences.json").read_text())
    ids = {c["id"] for c in seq["claims"]}
    assert {"C1-pos-ftlast", "C2-neg-ftlast", "C3-pos-select", "C4-neg-select", "C5-mix-select",
            "C7-compute"} <= ids
    table = seq["tables"][0]
    assert "memory-constrained?" in table["columns"] and "compute-constrained?" in table["columns"]
    first_steps = seq["metrics"]["steps_trained"]
    again = _reproduce(*args, "--only", "sequences", env=env)  # memoised: a re-run trains nothing
    assert again.returncode == 0
    assert json.loads((tmp_path / "out" / "sequences.json").read_text())["metrics"]["steps_trained"] == 0
    # the GPU-time estimate replays the plan from the store: the model-steps a fresh run trained, exactly
    est = subprocess.run([sys.executable, "-m", "cl_transfer.gpu_estimate", *args[:4], *args[6:], "--out",
                          str(tmp_path / "est")], capture_output=True, text=True, env=env)
    assert est.returncode == 0, est.stderr[-3000:]
    record = json.loads((tmp_path / "est" / "gpu_estimate.json").read_text())["metrics"]["estimate"]
    matrix_steps = 2 * 2 * 3 + 2 * 2 * 3 + 2 * 2 * 2 * 3  # sources and targets from θ₀, then every pair; 2 seeds
    assert record["model_steps"] == matrix_steps + first_steps
    assert record["total_s"] > record["set_up_s"] > 0


def test_readme_lists_claims():
    readme = (PACKAGE_DIR / "README.md").read_text()
    assert "## Claims" in readme and "arXiv:2307.05741" in readme
