"""Every experiment runs end to end through the reproduce entry point at a tiny configuration and writes a record
with its claims, tables and plots."""

import json

import pytest

from lru_universality import reproduce

TINY = {
    "conditioning": ["cond_sizes=[8,16]", "cond_draws=2"],
    "reconstruction": ["recon_length=16", "recon_sizes=[8,16]", "recon_sweep=[2,4,8]", "recon_train=256",
                       "recon_test=64"],
    "compression": ["comp_length=64", "comp_sizes=[4,8]", "comp_train=64", "comp_test=16"],
    "universality": ["univ_length=12", "univ_state=8", "univ_widths=[16]", "univ_states=[4,8]", "univ_width=16",
                     "univ_train=256", "univ_test=64", "univ_steps=20", "univ_batch=32", "ode_length=20",
                     "ode_train_seqs=8", "ode_test_seqs=4", "ode_states=[8]", "ode_widths=[16]", "ode_steps=20"],
    "lru_tasks": ["copy_pattern=3", "copy_delay=2", "copy_train=64", "copy_test=16", "copy_epochs=1",
                  "copy_batch=16", "copy_layers=1", "copy_d_model=8", "copy_d_state=4", "listops_min_len=8",
                  "listops_max_len=16", "listops_train=32", "listops_test=16", "listops_steps=2", "listops_batch=8",
                  "listops_layers=1", "listops_d_model=8", "listops_d_state=4",
                  'listops_variants=["lru r[0,.99]"]', "delay_pattern=2", "delay_delay=3", "delay_train=32",
                  "delay_test=8", "delay_steps=2", "delay_batch=8", "delay_layers=1", "delay_d_model=8",
                  "delay_d_state=4", "delay_variants=[]"],
}


@pytest.mark.parametrize("name", reproduce.EXPERIMENTS)
def test_experiment_runs_tiny(name, tmp_path, capsys):
    argv = ["--only", name, "--out", str(tmp_path), "--seeds", "0,1"]
    for item in TINY[name]:
        argv += ["--set", item]
    code = reproduce.cli.run_main(reproduce.main, reproduce.build_parser(), argv)
    assert code == 0
    record = json.loads((tmp_path / f"{name}.json").read_text())
    assert record["claims"] and record["tables"] and record["plots"]
    assert all(c["verdict"] in ("REPRODUCED", "NOT REPRODUCED", "INCONCLUSIVE") for c in record["claims"])
    for plot in record["plots"]:
        assert (tmp_path / plot).stat().st_size > 1000
    assert (tmp_path / f"{name}.md").read_text().startswith("### ")
    assert name in capsys.readouterr().out
