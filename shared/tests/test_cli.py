import dataclasses
import subprocess
import sys

import pytest

from repro_shared import cli


@dataclasses.dataclass(frozen=True)
class Cfg:
    steps: int = 10
    lr: float = 0.1
    name: str = "x"
    flag: bool = False
    sizes: tuple = (1, 2)


def test_parse_seeds():
    assert cli.parse_seeds("3") == [3]
    assert cli.parse_seeds("0,1,2") == [0, 1, 2]
    assert cli.parse_seeds("0-3") == [0, 1, 2, 3]
    for bad in ("a", "3-1", "1,1", "-1", ""):
        with pytest.raises(cli.ConfigError, match="seeds"):
            cli.parse_seeds(bad)


def test_overrides():
    cfg = cli.apply_overrides(Cfg(), ["steps=5", "lr=1e-3", "flag=true", "sizes=[3,4]", "name=y"])
    assert cfg == Cfg(steps=5, lr=1e-3, name="y", flag=True, sizes=(3, 4))
    with pytest.raises(cli.ConfigError) as e:
        cli.apply_overrides(Cfg(), ["stpes=5"])
    assert "'set'" in str(e.value) and "steps" in str(e.value)
    with pytest.raises(cli.ConfigError, match="'steps'.*int"):
        cli.apply_overrides(Cfg(), ["steps=many"])


def test_list_overrides_survive_make_quoting():
    """`make ... ARGS='--set names=["a","b"]'` reaches Python as names=[a,b]: parse it like the JSON list."""
    @dataclasses.dataclass(frozen=True)
    class Lists:
        names: tuple = ("x",)
        seeds: tuple = (0,)
        empty: tuple = ()

    want = Lists(names=("bellman_ford", "dijkstra"), seeds=(1, 2), empty=("a",))
    for items in (['names=["bellman_ford","dijkstra"]', "seeds=[1,2]", 'empty=["a"]'],
                  ["names=[bellman_ford,dijkstra]", "seeds=1,2", "empty=a"],
                  ["names=bellman_ford, dijkstra", "seeds=[1, 2]", "empty=[a]"]):
        assert cli.apply_overrides(Lists(), items) == want
    assert cli.apply_overrides(Lists(), ["names=[]"]).names == ()
    with pytest.raises(cli.ConfigError, match="'seeds'.*comma-separated"):
        cli.apply_overrides(Lists(), ["seeds=1,two"])
    with pytest.raises(cli.ConfigError, match="'names'"):
        cli.apply_overrides(Lists(), ['names={"a": 1}'])


def test_check_choice_and_range():
    assert cli.check_choice("opt", "adam", ["adam", "cm"]) == "adam"
    with pytest.raises(cli.ConfigError, match=r"'opt'.*'sgd'.*allowed: adam, cm"):
        cli.check_choice("opt", "sgd", ["adam", "cm"])
    with pytest.raises(cli.ConfigError, match="lr"):
        cli.check_range("lr", -1.0, lo=0.0)


def test_resolve_device():
    assert cli.resolve_device("auto", False) == "cpu"
    assert cli.resolve_device("auto", True) == "cuda"
    assert cli.resolve_device("gpu", True) == "cuda"
    assert cli.resolve_device("cuda:1", True) == "cuda:1"
    assert cli.resolve_device("cpu", True) == "cpu"
    for text in ("gpu", "cuda", "cuda:0"):
        with pytest.raises(cli.ConfigError, match=r"'device'.*no CUDA device"):
            cli.resolve_device(text, False)
    with pytest.raises(cli.ConfigError, match="'device'.*'tpu'"):
        cli.resolve_device("tpu", True)


def _run(*args):
    code = ("import sys; from repro_shared import cli\n"
            "p = cli.make_parser('demo', 'demo', experiments=['e1', 'e2'])\n"
            "def main(a):\n"
            "    cli.apply_overrides(cli.config_for_scale({'quick': 1, 'full': 2, 'gpu': 3}, a.scale) and "
            "__import__('dataclasses').make_dataclass('C', [('steps', int, 1)])(), a.overrides)\n"
            "    print('ok', a.scale, a.seeds, a.only, a.device)\n"
            "sys.exit(cli.run_main(main, p, sys.argv[1:]))\n")
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)


def test_cli_ok_and_bad_values_exit_2():
    ok = _run("--scale", "full", "--seeds", "0-2", "--only", "e2", "--device", "cuda:1")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == "ok full [0, 1, 2] ['e2'] cuda:1"
    bad_scale = _run("--scale", "huge")
    assert bad_scale.returncode == 2
    assert "--scale" in bad_scale.stderr and "'quick', 'full', 'gpu'" in bad_scale.stderr
    bad_seeds = _run("--seeds", "x")
    assert bad_seeds.returncode == 2 and "seeds" in bad_seeds.stderr
    bad_device = _run("--device", "tpu")
    assert bad_device.returncode == 2 and "cuda:N" in bad_device.stderr
    bad_exp = _run("--only", "e3")
    assert bad_exp.returncode == 2 and "e1" in bad_exp.stderr
    bad_field = _run("--set", "stpes=3")
    assert bad_field.returncode == 2 and "error: invalid value for 'set': 'stpes' (allowed: steps)" in bad_field.stderr
