"""Every experiment end to end at a tiny config, through the reproduce entry point."""

import json

from memory_adam.experiments import EXPERIMENTS

from memory_adam import reproduce

TINY = ["toy_starts=4", "toy_steps=15", "escape_starts=4", "escape_steps=15", "lm_max_tokens=2000", "lm_emb=8",
        "lm_hidden=8", "lm_batch_size=4", "lm_epochs=2", "digits_train=60", "digits_valid=40", "digits_epochs=1",
        "sharpness_iters=3", 'lm_lrs=[["Adam", [0.003]], ["Adam+CM", [0.003]]]']


def test_all_experiments_tiny(tmp_path, capsys):
    args = reproduce.build_parser().parse_args(
        ["--scale", "quick", "--out", str(tmp_path), "--seeds", "0,1"] + sum((["--set", s] for s in TINY), []))
    assert reproduce.main(args) == 0
    printed = capsys.readouterr().out
    assert "summary" in printed
    for name in EXPERIMENTS:
        record = json.loads((tmp_path / f"{name}.json").read_text())
        assert record["claims"], name
        assert all(c["verdict"] in ("REPRODUCED", "NOT REPRODUCED", "INCONCLUSIVE") for c in record["claims"])
        assert (tmp_path / f"{name}.md").is_file()
        for plot in record["plots"]:
            assert (tmp_path / plot).stat().st_size > 1000


def test_bad_override_exits_2(capsys):
    import pytest

    from repro_shared import cli

    with pytest.raises(SystemExit) as e:
        cli.run_main(reproduce.main, reproduce.build_parser(), ["--set", "decay=2.0"])
    assert e.value.code == 2 and "decay" in capsys.readouterr().err
