"""Experiment 1: per-algorithm OOD scores of the four processors (the paper's results table).

Trains baseline / softmax / decay / both (Mirjanić et al. 2023, Sec. 4) on each algorithm with
several seeds (all models of an algorithm vmapped together), picks each model's best-validation
parameters and scores them with dm-clrs's evaluator on CLRS-30-spec test graphs (n = 64, and
n = 32). Both evaluation modes are reported: ``max`` (the authors' code: softmax only in training)
and ``train_agg`` (the processor evaluated with the aggregator it was trained with).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import numpy as np

from nar_latent import checkpoints, data, paper_numbers, train
from nar_latent.configs import Config
from repro_shared.claims import Claim, Verdict, all_of, margin, threshold
from repro_shared.results import RunRecord, write_json_atomic

PAPER = "Latent Space Representations of Neural Algorithmic Reasoners"
NAME = "ood_scores"


def checkpoint_path(config: Config, algorithm: str):
    fields = dataclasses.asdict(config.train_config(algorithm))
    return checkpoints.cache_dir() / f"{algorithm}_{checkpoints.key(**fields)}.npz"


def train_algorithm(config: Config, algorithm: str, seeds: list[int]) -> tuple[train.TrainResult, dict[str, Any]]:
    """Train the variants x seeds of one algorithm; score the best parameters on the test sizes."""
    tc = config.train_config(algorithm)
    trainer = train.Trainer(tc, seeds, list(config.variants))
    result = trainer.run(desc=algorithm)
    # the first seed's best (max-evaluated) models, for the latent analysis
    first = {m: {k: np.asarray(v)[0] for k, v in d.items()} for m, d in result.best_params["max"].items()}
    checkpoints.save(checkpoint_path(config, algorithm), first,
                     {"variants": list(config.variants), "seed": seeds[0], "train": train.describe(tc)})
    scores = {}
    for n in config.test_sizes:
        fb = data.load_eval_split(algorithm, "test", length=n, num_samples=config.test_samples)
        scores[n] = train.test_scores(result, tc, list(config.variants), fb)
    return result, scores


def _mean_std(x: np.ndarray) -> tuple[float, float]:
    x = 100.0 * np.asarray(x, float)
    return float(x.mean()), float(x.std(ddof=1)) if x.size > 1 else float("nan")


def _cell(x: np.ndarray) -> str:
    m, s = _mean_std(x)
    return f"{m:.2f}" if np.isnan(s) else f"{m:.2f} ± {s:.2f}"


def claims(config: Config, scores: dict[str, dict[int, dict[str, np.ndarray]]]) -> list[Claim]:
    """The pre-registered criteria of the README (claims 1.1-1.4), on test scores x 100."""
    v = list(config.variants)
    out = []

    def score(alg: str, n: int, mode: str, variant: str) -> np.ndarray:
        return 100.0 * scores[alg][n][mode][:, v.index(variant)]

    # 1.1 sanity: the baseline learns Bellman-Ford
    if "bellman_ford" in scores and 64 in scores["bellman_ford"]:
        out.append(threshold(float(score("bellman_ford", 64, "max", "baseline").mean()), 85.0, at_most=False,
                             id="1.1", name="baseline BF OOD(64)", statement="Sanity: the baseline "
                             "Triplet-GMPNN learns Bellman-Ford (paper 98.7, Ibarz 97.4)"))
    # 1.2 softmax (and softmax + decay) helps Floyd-Warshall by >= 5 points at n = 32 and 64
    statement = ("Softmax aggregation (either evaluation mode) and softmax + decay beat the max baseline on "
                 "Floyd-Warshall by >= 5 points (seed mean) at n = 32 and n = 64 (paper: +17.2 and +24.0 at n = 64)")
    if "floyd_warshall" in scores and all(n in scores["floyd_warshall"] for n in (32, 64)):
        parts = []
        for n in (32, 64):
            base = float(score("floyd_warshall", n, "max", "baseline").mean())
            for variant in ("softmax", "both"):
                best_mode = max(float(score("floyd_warshall", n, m, variant).mean()) for m in train.EVAL_MODES)
                parts.append(margin(best_mode, base, 5.0, id=f"1.2/{variant}/n{n}", statement=statement,
                                    names=(f"{variant}@{n}", f"baseline@{n}")))
        out.append(all_of(parts, id="1.2", statement=statement))
    else:
        out.append(Claim("1.2", statement, "needs Floyd-Warshall at n = 32 and 64",
                         {"note": "Floyd-Warshall not run at this scale"}, Verdict.INCONCLUSIVE))
    # 1.3 softmax does not hurt Bellman-Ford / Dijkstra and does not add seed variance
    for alg in ("bellman_ford", "dijkstra"):
        if alg not in scores or 64 not in scores[alg]:
            continue
        base, soft = score(alg, 64, "max", "baseline"), score(alg, 64, "max", "softmax")
        diff = float(soft.mean() - base.mean())
        crit = "|mean(softmax) - mean(baseline)| <= 2 points AND std(softmax) <= std(baseline)"
        measured: dict[str, Any] = {"softmax": float(soft.mean()), "baseline": float(base.mean()), "difference": diff}
        if base.size < 2:
            verdict = Verdict.INCONCLUSIVE if abs(diff) <= 2.0 else Verdict.NOT_REPRODUCED
            measured["note"] = "one seed: no spread to compare"
        else:
            measured.update(std_softmax=float(soft.std(ddof=1)), std_baseline=float(base.std(ddof=1)))
            ok = abs(diff) <= 2.0 and soft.std(ddof=1) <= base.std(ddof=1)
            verdict = Verdict.REPRODUCED if ok else Verdict.NOT_REPRODUCED
        out.append(Claim(f"1.3/{alg}", f"Softmax does not hurt {alg} (OOD n = 64, max evaluation) and does not "
                         "increase the seed spread (paper: BF 98.68±0.34 -> 98.80±0.14, Dijkstra 96.51±1.68 -> "
                         "97.99±0.24)", crit, measured, verdict))
    # 1.4 decay alone is the least stable variant somewhere
    hits, measured = [], {}
    for alg in scores:
        means = {var: float(score(alg, 64, "max", var).mean()) for var in v}
        spreads = {var: float(score(alg, 64, "max", var).std(ddof=1)) if len(config.seeds) > 1 else float("nan")
                   for var in v}
        worst_mean = min(means, key=means.get)
        widest = max(spreads, key=spreads.get) if len(config.seeds) > 1 else None
        measured[alg] = {"worst_mean": worst_mean, "largest_spread": widest}
        hits.append("decay" in (worst_mean, widest))
    out.append(Claim("1.4", "Decay alone is the least stable variant: it has the worst mean or the largest seed "
                     "spread on at least one algorithm (paper: BF 84.53±31.51, Jarvis 64.17±30.05)",
                     "decay is worst-mean or widest-spread (OOD n = 64, max evaluation) on >= 1 algorithm",
                     measured, Verdict.REPRODUCED if any(hits) else Verdict.NOT_REPRODUCED))
    return out


def algorithm_metrics(config: Config, seeds: list[int], result: train.TrainResult,
                      scores: dict[int, dict[str, np.ndarray]]) -> dict[str, Any]:
    """The JSON-ready record of one algorithm: test scores, best validation, curves and timing."""
    variants = list(config.variants)
    return {
        "test": {f"n{n}": {mode: {var: scores[n][mode][:, i].tolist() for i, var in enumerate(variants)}
                           for mode in train.EVAL_MODES} for n in config.test_sizes},
        "best_val": {mode: {var: result.best_val[:, i, j].tolist() for i, var in enumerate(variants)}
                     for j, mode in enumerate(train.EVAL_MODES)},
        "val_curve_max": [[step, val[..., 0].tolist()] for step, val in result.val_history],
        "loss_curve": [[step, loss.tolist()] for step, loss in result.loss_history],
        "timing": {"updates": result.updates, "train_seconds": round(result.train_seconds, 1),
                   "models": len(seeds) * len(variants),
                   "model_updates_per_second": round(result.updates * len(seeds) * len(variants)
                                                     / result.train_seconds, 2)},
    }


def scores_from_metrics(config: Config, metrics: dict[str, Any]) -> dict[int, dict[str, np.ndarray]]:
    """Inverse of the ``test`` part of :func:`algorithm_metrics`: n -> mode -> (S, V) array."""
    return {n: {mode: np.stack([np.asarray(metrics["test"][f"n{n}"][mode][var], float) for var in config.variants],
                               axis=1) for mode in train.EVAL_MODES} for n in config.test_sizes}


def run_key(config: Config, algorithm: str, seeds: list[int]) -> str:
    """Everything one algorithm's scores depend on (training config, seeds, variants, test splits)."""
    return checkpoints.key(train=dataclasses.asdict(config.train_config(algorithm)), seeds=list(seeds),
                           variants=list(config.variants), test_sizes=list(config.test_sizes),
                           test_samples=config.test_samples)


def run_path(out_dir: Path, algorithm: str) -> Path:
    return Path(out_dir) / "runs" / f"ood_{algorithm}.json"


def load_finished(out_dir: Path, config: Config, algorithm: str, seeds: list[int]) -> dict[str, Any] | None:
    """A finished algorithm's metrics from an earlier (interrupted or partial) run with the same key, else None."""
    path = run_path(out_dir, algorithm)
    if not path.exists():
        return None
    saved = json.loads(path.read_text())
    return saved["metrics"] if saved.get("key") == run_key(config, algorithm, seeds) else None


def run(config: Config, scale: str, seeds: list[int], out_dir: Path | None = None) -> RunRecord:
    """Experiment 1. With ``out_dir``, each algorithm's metrics are saved to ``out_dir/runs/`` as it finishes and
    reused by a later call with the same configuration, so the full scale can be run in parts."""
    record = RunRecord(paper=PAPER, experiment=NAME, scale=scale, config=dataclasses.asdict(config), seeds=seeds)
    scores: dict[str, dict[int, dict[str, np.ndarray]]] = {}
    timing, resumed = {}, []
    for alg in config.algorithms:
        metrics = load_finished(out_dir, config, alg, seeds) if out_dir is not None else None
        if metrics is None:
            result, alg_scores = train_algorithm(config, alg, seeds)
            metrics = algorithm_metrics(config, seeds, result, alg_scores)
            if out_dir is not None:
                write_json_atomic(run_path(out_dir, alg), {"key": run_key(config, alg, seeds), "metrics": metrics})
        else:
            print(f"  {alg}: reusing {run_path(out_dir, alg)}", flush=True)
            resumed.append(alg)
        scores[alg] = scores_from_metrics(config, metrics)
        timing[alg] = metrics.pop("timing")
        record.metrics[alg] = metrics
    record.metrics["timing"] = timing
    record.metrics["reused_from_earlier_calls"] = resumed
    _tables(record, config, scores)
    for claim in claims(config, scores):
        record.add_claim(claim)
    record.notes = (
        "Data differs from the paper: CLRS-30-spec splits regenerated offline with dm-clrs 2.0.3 samplers (not "
        "byte-identical to the original download; Bellman-Ford graphs are undirected in 2.0.3, the authors' fork "
        f"trained on directed ones). Scale differs: {config.steps} steps (the paper: 30k), hidden {config.hidden} "
        f"(128), batch {config.batch_size} (32), {len(seeds)} seed(s) (5), training sizes {list(config.sizes)}. "
        "Scores are dm-clrs's evaluator output x 100 on the best-validation parameters. In the paper's own table "
        "the 30-algorithm mean does not improve with any change: "
        + ", ".join(f"{v} {paper_numbers.mean_over_algorithms(v):.2f}" for v in paper_numbers.VARIANT_COLUMNS) + ".")
    return record


def _tables(record: RunRecord, config: Config, scores) -> None:
    for n in config.test_sizes:
        rows = []
        for alg in config.algorithms:
            paper_row = paper_numbers.OOD_SCORES.get(alg, {}) if n == 64 else {}
            for i, var in enumerate(config.variants):
                paper = paper_row.get(var)
                rows.append([alg, var, _cell(scores[alg][n]["max"][:, i]), _cell(scores[alg][n]["train_agg"][:, i]),
                             f"{paper[0]:.2f} ± {paper[1]:.2f}" + (f" (n={paper[2]})" if paper[2] < 5 else "")
                             if paper else "—"])
        record.add_table(
            f"OOD test score x 100, n = {n} (mean ± std over seeds)",
            ["algorithm", "variant", "ours: max at eval", "ours: training aggregator at eval",
             "paper (5 seeds, 30k steps)" if n == 64 else "paper"], rows,
            caption="'max at eval' is the authors' protocol (softmax only in training); the paper column is "
                    "max-at-eval. Our scale and data differ from the paper (see notes).")
    table = paper_numbers.OOD_SCORES
    rows = [[alg, *[f"{table[alg][v][0]:.2f}" for v in paper_numbers.VARIANT_COLUMNS], f"{table[alg]['ibarz']:.2f}"]
            for alg in config.algorithms if alg in table]
    rows.append(["mean of all 30 (paper)", *[f"{paper_numbers.mean_over_algorithms(v):.2f}"
                                            for v in (*paper_numbers.VARIANT_COLUMNS, "ibarz")]])
    record.add_table("The paper's own numbers (results/clrs_summary.txt) here, and its 30-algorithm mean",
                     ["algorithm", "baseline", "softmax", "decay", "both", "Ibarz et al."], rows)
