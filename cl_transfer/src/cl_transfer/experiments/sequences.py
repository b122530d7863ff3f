"""Experiment ``sequences``: the learners on the scenario sequences, with the pre-registered claims.

Sequences (arXiv:2307.05741, abstract: "high potential of positive transfer, high potential for negative transfer,
no expected effect, or a mixture of each"): positive, negative, neutral, mixed (+ long at full scale); each ends
with the two few-shot target tasks. Per learner and sequence: target accuracy, Δ vs. FT-base (paired by seed),
negative-transfer rate, gap to the Oracle, compute relative to FT-base, and the survey's two labels
(memory-constrained? compute-constrained?; Verwimp et al., arXiv:2311.11908).
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np

from cl_transfer import plots
from cl_transfer.configs import MAIN_LEARNERS, Config
from cl_transfer.experiments.transfer_matrix import PAPER, data_note
from cl_transfer.learners import LEARNERS, run_sequences
from cl_transfer.metrics import sequence_summary
from cl_transfer.tasks import TARGETS, TASKS, sequence_tasks
from repro_shared import claims
from repro_shared.results import RunRecord

SELECT = "Select-probe10"
POSITIVE_LINEAGE = {t for t, s in TASKS.items() if s.role == "positive"} | {"POL-d0"}
DISTRACTORS = {t for t, s in TASKS.items() if s.role == "negative"}


def _mean(x) -> float:
    return float(np.mean(x))


def evaluate_claims(summary: dict[str, dict[str, dict]], records, eps: float, eps_neutral: float
                    ) -> list[claims.Claim]:
    """The pre-registered claims of README.md, in its order; a sequence that was not run is skipped."""
    out: list[claims.Claim] = []
    pos, neg, neu, mix = (summary.get(k) for k in ("positive", "negative", "neutral", "mixed"))
    if pos:
        out.append(claims.paired_difference(
            pos["FT-last"]["target_acc"], pos["FT-base"]["target_acc"], id="C1-pos-ftlast",
            statement="Positive sequence: continuing from the last checkpoint helps the targets",
            names=("FT-last", "FT-base")))
    if neg:
        out.append(claims.paired_difference(
            neg["FT-base"]["target_acc"], neg["FT-last"]["target_acc"], id="C2-neg-ftlast",
            statement="Negative sequence: FT-last suffers negative transfer on the targets",
            names=("FT-base", "FT-last")))
    if pos and SELECT in pos:
        gain_sel = _mean(pos[SELECT]["delta"])
        gain_orc = _mean(pos["Oracle"]["delta"])
        ratio = gain_sel / gain_orc if gain_orc > 0 else math.nan
        out.append(claims.all_of([
            claims.paired_difference(pos[SELECT]["target_acc"], pos["FT-base"]["target_acc"], id="sel>base",
                                     statement="", names=(SELECT, "FT-base")),
            claims.threshold(ratio, 0.7, at_most=False, id="share-of-oracle-gain", statement="",
                             name="Δ(Select)/Δ(Oracle)"),
        ], id="C3-pos-select", statement="Selective initialization exploits positive transfer: beats FT-base and "
                                         "recovers most (≥ 70%) of the Oracle's gain"))
    if neg and SELECT in neg:
        out.append(claims.all_of([
            claims.margin(_mean(neg[SELECT]["target_acc"]), _mean(neg["FT-base"]["target_acc"]), -eps,
                          id="sel>=base-eps", statement="", names=(SELECT, "FT-base")),
            claims.ordering({SELECT: neg[SELECT]["neg_transfer_rate"], "FT-last": neg["FT-last"]["neg_transfer_rate"]},
                            [SELECT, "FT-last"], higher_is_better=False, id="NT-rate", statement=""),
        ], id="C4-neg-select", statement="Selective initialization avoids negative transfer: within ε of FT-base and "
                                         "a lower negative-transfer rate than FT-last"))
    if mix and SELECT in mix:
        tgt = [r for r in records if r.sequence == "mixed" and r.learner == SELECT and r.target]
        share = _mean([bool(POSITIVE_LINEAGE & set(r.lineage)) for r in tgt])
        n_bad = sum(r.parent_task in DISTRACTORS for r in tgt)
        out.append(claims.all_of([
            claims.paired_difference(mix[SELECT]["target_acc"], mix["FT-last"]["target_acc"], id="sel>last",
                                     statement="", names=(SELECT, "FT-last")),
            claims.margin(_mean(mix[SELECT]["target_acc"]), _mean(mix["FT-base"]["target_acc"]), -eps,
                          id="sel>=base-eps", statement="", names=(SELECT, "FT-base")),
            claims.threshold(share, 0.8, at_most=False, id="positive-lineage", statement="",
                             name="share of targets initialised from a positive-family lineage"),
            claims.threshold(n_bad, 0, id="no-distractor-parent", statement="",
                             name="targets initialised from a distractor checkpoint"),
        ], id="C5-mix-select", statement="Mixed sequence: Selective beats FT-last, stays within ε of FT-base, and "
                                         "initialises targets from positive-family checkpoints"))
    if neu:
        out.append(claims.all_of([
            claims.threshold(abs(_mean(neu[name]["delta"])), eps_neutral, id=name, statement="", name=f"|Δ({name})|")
            for name in neu if name != "FT-base"
        ], id="C6-neu-all", statement="Neutral sequence: every learner stays within ε_neutral of FT-base on the "
                                      "targets"))
    if SELECT in next(iter(summary.values())) and "Oracle" in next(iter(summary.values())):
        out.append(claims.all_of(
            [claims.threshold(summary[s][SELECT]["compute"], 1.5, id=f"{s}:select", statement="",
                              name=f"compute({SELECT}, {s})") for s in summary]
            + [claims.threshold(summary[s]["Oracle"]["compute"], 2.5, at_most=False, id=f"{s}:oracle",
                                statement="", name=f"compute(Oracle, {s})") for s in summary],
            id="C7-compute", statement="Selective costs close to FT-base (≤ 1.5×) while the Oracle costs ≥ 2.5× on "
                                       "every sequence"))
    long = summary.get("long")
    if long and SELECT in long:
        out.append(claims.all_of([
            claims.paired_difference(long[SELECT]["target_acc"], long["FT-last"]["target_acc"], id="sel>last",
                                     statement="", names=(SELECT, "FT-last")),
            claims.margin(_mean(long[SELECT]["target_acc"]), _mean(long["FT-base"]["target_acc"]), -eps,
                          id="sel>=base-eps", statement="", names=(SELECT, "FT-base")),
        ], id="C8-long-select", statement="Long sequence with candidates capped by similarity: Selective still beats "
                                          "FT-last and stays within ε of FT-base"))
    return out


def _fmt(x: float, sign: bool = False) -> str:
    return f"{x:+.3f}" if sign else f"{x:.3f}"


def run(engine, cfg: Config, scale: str, out_dir: Path, progress=None) -> RunRecord:
    record = RunRecord(paper=PAPER, experiment="sequences", scale=scale, config=dataclasses.asdict(cfg),
                       seeds=list(cfg.seeds))
    steps_before = engine.steps_executed
    orders = {(s, seed): sequence_tasks(s, seed) for s in cfg.sequences for seed in cfg.seeds}
    learners = [LEARNERS[n] for n in cfg.learners]
    records = run_sequences(engine, orders, learners, TARGETS, candidate_cap=cfg.candidate_cap or None,
                            progress=progress)
    summary = {s: sequence_summary(records, s, cfg.learners, cfg.eps) for s in cfg.sequences}
    record.metrics.update(summary=summary, records=[dataclasses.asdict(r) for r in records],
                          orders={f"{s}/{seed}": list(o) for (s, seed), o in orders.items()},
                          steps_trained=engine.steps_executed - steps_before)
    for c in evaluate_claims(summary, records, cfg.eps, cfg.eps_neutral):
        record.add_claim(c)
    cols = ["sequence", "learner", "target acc (mean ± sd)", "Δ vs FT-base", "neg. transfer rate",
            "gap to Oracle", "compute ×FT-base", "memory-constrained?", "compute-constrained?"]
    main = [n for n in cfg.learners if n in MAIN_LEARNERS]
    ablation = [n for n in cfg.learners if n not in MAIN_LEARNERS]
    for title, names in ((f"Learners on the scenario sequences (targets: {', '.join(TARGETS)})", main),
                         ("Selection-score ablation (ours; no ordering pre-registered)", ablation)):
        if not names:
            continue
        rows = []
        for s in cfg.sequences:
            for n in names:
                row, spec = summary[s][n], LEARNERS[n]
                acc = np.asarray(row["target_acc"])
                rows.append([s, n, f"{acc.mean():.3f} ± {acc.std(ddof=1) if acc.size > 1 else 0:.3f}",
                             _fmt(_mean(row["delta"]), True), _fmt(row["neg_transfer_rate"]),
                             _fmt(row.get("oracle_gap", math.nan), True), f"{row['compute']:.2f}",
                             "yes" if spec.memory_constrained else "no",
                             "yes" if spec.compute_constrained else "no"])
        record.add_table(title, cols, rows, caption=(
            f"{len(cfg.seeds)} seeds; Δ paired by seed; negative-transfer rate = share of (seed, target) with "
            f"Δ < −{cfg.eps:g}; compute = optimizer steps incl. probes over the whole sequence. Labels as in the "
            "survey arXiv:2311.11908 (memory: O(1) stored models and no stored data; compute: about one "
            "fine-tuning per task). The paper reports no numbers we could retrieve."))
    if "Oracle" in cfg.learners:
        rows = []
        for s in cfg.sequences:
            bound = [r.oracle_test_bound for r in records if r.sequence == s and r.learner == "Oracle" and r.target]
            row = [s, _fmt(_mean(summary[s]["FT-base"]["target_acc"]))]
            row += [_fmt(_mean(summary[s][n]["target_acc"])) if n in summary[s] else "—"
                    for n in ("Oracle", "Oracle-devloss", SELECT)]
            rows.append(row + [_fmt(_mean(bound))])
        record.add_table("Oracle variants (analysis, added after the first quick run): mean target accuracy",
                         ["sequence", "FT-base", "Oracle (dev acc)", "Oracle-devloss", SELECT,
                          "Oracle-test bound (not a learner)"], rows,
                         caption="Oracle-test bound: the best test accuracy among the Oracle's candidate runs, "
                                 "i.e. selection on test; it bounds what choosing one past checkpoint can give.")
    if SELECT in cfg.learners:
        rows = []
        for s in cfg.sequences:
            tgt = [r for r in records if r.sequence == s and r.learner == SELECT and r.target]
            picks: dict[str, int] = {}
            for r in tgt:
                key = "θ₀" if r.parent_task is None else " → ".join(r.lineage)
                picks[key] = picks.get(key, 0) + 1
            rows.append([s, "; ".join(f"{k} ({v})" for k, v in sorted(picks.items(), key=lambda kv: -kv[1]))])
        record.add_table(f"Inits chosen by {SELECT} for the target tasks (lineage from θ₀, count over seeds × "
                         "targets)", ["sequence", "chosen init"], rows)
    plots.sequence_bars(summary, list(cfg.learners), out_dir / "sequences.png")
    record.plots.append("sequences.png")
    record.notes = data_note(cfg.tier)
    return record
