import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parents[1]


@pytest.mark.smoke
def test_imports():
    from sparc.experiments import EXPERIMENTS

    import sparc
    from sparc import bench, configs, losses, reproduce

    assert sparc.__version__
    assert set(configs.CONFIGS) == {"quick", "full", "gpu"}
    assert reproduce.build_parser().prog.endswith("sparc.reproduce")
    assert set(EXPERIMENTS) == set(reproduce.EXPERIMENTS)
    assert callable(losses.sparc_fine_grained_loss) and bench.build_parser().prog.endswith("sparc.bench")
    for cfg in configs.CONFIGS.values():
        cfg.validate()


@pytest.mark.smoke
def test_reproduce_cli_help_and_bad_values(capsys):
    ok = subprocess.run([sys.executable, "-m", "sparc.reproduce", "--help"], capture_output=True, text=True)
    assert ok.returncode == 0 and "--scale" in ok.stdout and "--retrain" in ok.stdout
    from repro_shared.cli import run_main
    from sparc import reproduce

    for argv, needle in ((["--scale", "huge"], "'quick', 'full', 'gpu'"),
                         (["--set", "reduction=mean"], "sample, token"),
                         (["--set", 'shapes_methods=["pacl"]'], "shapes_methods"),
                         (["--set", "steps=0"], "steps")):
        with pytest.raises(SystemExit) as exc:
            run_main(reproduce.main, reproduce.build_parser(), argv)
        assert exc.value.code == 2 and needle in capsys.readouterr().err


def test_bench_runs_and_rejects_bad_values(capsys):
    from sparc import bench

    assert bench.main(["--batch-sizes", "4,8", "--patches", "4", "--tokens", "5", "--dim", "8", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "SPARC/CLIP" in out and "time growth from B=4 to B=8" in out
    with pytest.raises(SystemExit) as exc:
        bench.main(["--batch-sizes", "1"])
    assert exc.value.code == 2 and "batch-sizes" in capsys.readouterr().err


def test_readme_lists_claims():
    readme = (PACKAGE_DIR / "README.md").read_text()
    assert "## Claims" in readme and "arXiv:2401.09865" in readme
    for cid in ("C1a", "C1b", "C2a", "C2b", "C3", "C4a", "C4b", "C5a", "C5b", "C5c"):
        assert f"| {cid} |" in readme
