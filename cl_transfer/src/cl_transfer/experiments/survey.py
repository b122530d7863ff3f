"""Experiment ``survey``: the survey's classification (arXiv:2311.11908) and our learners' two labels.

Arithmetic only (``cl_transfer.survey``, standard library). The survey's per-paper list could not be read in
this session, so its table reports "pending transcription" instead of percentages (nothing is invented).
"""

from __future__ import annotations

from cl_transfer import survey
from cl_transfer.configs import Config
from cl_transfer.experiments.transfer_matrix import PAPER
from cl_transfer.learners import LEARNERS
from repro_shared.results import RunRecord


def run(cfg: Config, scale: str) -> RunRecord:
    rows = survey.load_rows()
    facts = survey.load_facts()
    record = RunRecord(paper=PAPER, experiment="survey", scale=scale, config={"csv_rows": len(rows)}, seeds=[])
    record.metrics["facts"] = facts
    record.metrics["n_rows"] = len(rows)
    record.add_table("What the survey's text provides (Verwimp et al., arXiv:2311.11908)",
                     ["version", "statement", "where read"],
                     [[f["paper_version"], f["statement"], f["source_locator"]] for f in facts["facts"]])
    if rows:
        for field in survey.LABEL_FIELDS:
            shares = survey.percentages(rows, field)
            record.metrics[f"percent_{field}"] = shares
            record.add_table(f"Share of surveyed papers by {field} (recomputed from the CSV)", [field, "%"],
                             [[k, v] for k, v in shares.items()])
    else:
        record.add_table("Per-paper classification", ["status"], [[facts["transcription_status"]]])
    record.add_table("The survey's two labels on this package's learners (ours)",
                     ["learner", "memory-constrained?", "compute-constrained?", "stores past data?",
                      "models kept after n tasks", "optimizer steps for task t"],
                     [[n, "yes" if s.memory_constrained else "no", "yes" if s.compute_constrained else "no", "no",
                       {"base": "1 (θ₀)", "last": "1 (θ_{t-1})"}.get(s.kind, "n + 1 (all)"),
                       {"base": "S_t", "last": "S_t", "oracle": "|C_t|·S_t"}.get(
                           s.kind, f"S_t + {s.probe_steps}·|C_t|" if s.score == "probe" else "S_t")]
                      for n, s in LEARNERS.items()],
                     caption="Measured accuracy and compute of each learner are in the sequences table, where the "
                             "same two labels are printed as columns.")
    record.notes = survey.report(rows, facts)
    return record
