"""The continual learners (notes Sec. 3) and the loop that runs them over task sequences.

For t = 1..n: θ_init = SELECT(C, D_t^train, D_t^dev); θ_t = FINETUNE(θ_init; fixed budget S_t);
C ← C ∪ {θ_t}; s_t = EVAL(θ_t, D_t^test). The learners differ only in SELECT:

| learner         | SELECT                                                    | optimizer steps for task t |
|-----------------|-----------------------------------------------------------|----------------------------|
| FT-base         | θ₀                                                        | S_t                        |
| FT-last         | θ_{t-1}                                                   | S_t                        |
| Oracle          | fine-tune from every c ∈ C, keep the best dev accuracy    | \\|C_t\\|·S_t              |
| Oracle-devloss  | the same, keep the lowest dev loss                        | \\|C_t\\|·S_t              |
| Select-probe-k  | argmin_c dev loss after k probe steps from c, else θ₀      | S_t + k·\\|C_t\\|          |
| Select-zeroshot | argmin_c dev loss of c itself (k = 0), else θ₀             | S_t                        |
| Select-similarity | argmax_c cos(task centroid of c, of t) if > τ, else θ₀   | S_t                        |

Selection uses the dev split carved from the task's training budget, never test ("Oracle-test" is recorded only
as an analysis bound). The fallback (``margin`` m ≥ 0) picks c* ≠ θ₀ only if score(c*) < score(θ₀) - m. All
learners advance in lockstep over (sequence, seed, learner) so that every position's runs are trained in a few
large vmapped batches; memoisation shares identical runs between learners (e.g. every FT-base run is also the
Oracle's candidate from θ₀) without changing what each learner is charged.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from cl_transfer.training import BASE_ID, Run, RunResult

KINDS = ("base", "last", "oracle", "select")
SCORES = ("probe", "zeroshot", "similarity")
ORACLE_SCORES = ("", "loss")  # "": best dev accuracy (then loss); "loss": lowest dev loss


@dataclasses.dataclass(frozen=True)
class LearnerSpec:
    name: str
    kind: str
    score: str = ""
    probe_steps: int = 0
    margin: float = 0.0
    sim_threshold: float = 0.9

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"learner kind {self.kind!r} not in {KINDS}")
        if self.kind == "select" and self.score not in SCORES:
            raise ValueError(f"selection score {self.score!r} not in {SCORES}")
        if self.kind == "oracle" and self.score not in ORACLE_SCORES:
            raise ValueError(f"oracle score {self.score!r} not in {ORACLE_SCORES}")

    # The two labels of the survey (Verwimp et al., arXiv:2311.11908, Sec. 2) applied to our own learners.
    # No learner here stores past *data* (no replay); they differ in how many past *models* they keep.
    @property
    def memory_constrained(self) -> bool:
        """Bounded storage: O(1) models, no past data (FT-base, FT-last). The Oracle and the selective learners
        keep every past checkpoint, so their storage grows with the number of tasks."""
        return self.kind in ("base", "last")

    @property
    def compute_constrained(self) -> bool:
        """Per-task training compute about one fine-tuning budget: S_t plus at most k·|C_t| probe steps with
        k ≪ S_t. Only the Oracle trains |C_t| full models per task."""
        return self.kind != "oracle"


LEARNERS: dict[str, LearnerSpec] = {s.name: s for s in (
    LearnerSpec("FT-base", "base"),
    LearnerSpec("FT-last", "last"),
    LearnerSpec("Oracle", "oracle"),
    LearnerSpec("Oracle-devloss", "oracle", "loss"),
    LearnerSpec("Select-probe10", "select", "probe", probe_steps=10),
    LearnerSpec("Select-probe50", "select", "probe", probe_steps=50),
    LearnerSpec("Select-zeroshot", "select", "zeroshot"),
    LearnerSpec("Select-similarity", "select", "similarity"),
)}


class FinetuneBackend(Protocol):
    """What the learners need from a fine-tuning engine (the real :class:`~cl_transfer.training.Engine`, or a
    table-driven mock in the tests)."""

    def run(self, runs: Sequence[Run]) -> list[RunResult]: ...

    def key(self, run: Run) -> str: ...

    def full_steps(self, task: str) -> int: ...

    def similarity(self, task_a: str, task_b: str) -> float: ...


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    id: str
    task: str | None  # None for θ₀
    parent: int | None  # index of the parent in the library
    position: int  # -1 for θ₀


@dataclasses.dataclass
class StepRecord:
    """What one learner did on one task of one sequence for one seed."""

    sequence: str
    seed: int
    learner: str
    position: int
    task: str
    target: bool
    parent_position: int  # -1 = θ₀
    parent_task: str | None
    lineage: list[str]  # tasks on the path from θ₀ to the chosen init
    n_candidates: int
    steps: int  # optimizer steps charged, probes included
    test_acc: float
    dev_acc: float
    oracle_test_bound: float = math.nan
    scores: list[float] = dataclasses.field(default_factory=list)


def lineage(library: Sequence[Checkpoint], index: int) -> list[str]:
    out: list[str] = []
    while index is not None and library[index].task is not None:
        out.append(library[index].task)  # type: ignore[arg-type]
        index = library[index].parent  # type: ignore[assignment]
    return out[::-1]


def choose_by_score(scores: Sequence[float], margin: float) -> int:
    """Index into the candidates (index 0 is θ₀): the best-scoring other candidate if it beats θ₀ by > margin.

    Lower scores are better; ties between non-base candidates go to the most recent one.
    """
    if len(scores) == 1:
        return 0
    best = min(range(1, len(scores)), key=lambda i: (scores[i], -i))
    return best if scores[best] < scores[0] - margin else 0


def choose_oracle(results: Sequence[RunResult], by: str = "") -> int:
    """The candidate whose fine-tuned model is best on dev: accuracy, then loss (``by="loss"``: loss only);
    exact ties go to θ₀ (index 0), then to the most recent candidate (the selective learners' tie policy)."""
    if by == "loss":
        return min(range(len(results)), key=lambda i: (results[i].dev_loss, i != 0, -i))
    return min(range(len(results)), key=lambda i: (-results[i].dev_acc, results[i].dev_loss, i != 0, -i))


def _candidates(library: list[Checkpoint], task: str, backend: FinetuneBackend, cap: int | None) -> list[int]:
    """Library indices to consider (θ₀ first). With ``cap``, θ₀ plus the cap-1 most similar by task centroid."""
    idx = list(range(len(library)))
    if cap is None or len(idx) <= cap:
        return idx
    others = sorted(idx[1:], key=lambda i: (-backend.similarity(library[i].task, task), -i))[:cap - 1]
    return [0] + sorted(others)


def run_sequences(backend: FinetuneBackend, orders: Mapping[tuple[str, int], Sequence[str]],
                  learners: Sequence[LearnerSpec], targets: Sequence[str], *, candidate_cap: int | None = None,
                  progress: Callable | None = None) -> list[StepRecord]:
    """Run every learner on every (sequence, seed) task order; returns one record per learner and task."""
    states = {(seq, seed, l.name): [Checkpoint(BASE_ID, None, None, -1)]
              for (seq, seed) in orders for l in learners}
    spec = {l.name: l for l in learners}
    records: list[StepRecord] = []
    n_pos = max(len(o) for o in orders.values())
    positions = range(n_pos) if progress is None else progress(range(n_pos), desc="sequence positions")
    for t in positions:
        active = [(seq, seed, name) for (seq, seed, name) in states if t < len(orders[(seq, seed)])]
        # phase A: runs whose init is known, the Oracle's candidates, probes and zero-shot evaluations
        plan: dict[tuple, dict] = {}
        requests: list[Run] = []
        for seq, seed, name in active:
            lib, l, task = states[(seq, seed, name)], spec[name], orders[(seq, seed)][t]
            full = backend.full_steps(task)
            cands = _candidates(lib, task, backend, candidate_cap if l.kind in ("oracle", "select") else None)
            p: dict = {"task": task, "cands": cands, "full": full}
            if l.kind == "base":
                p["runs"] = [Run(BASE_ID, task, seed, full)]
            elif l.kind == "last":
                p["runs"] = [Run(lib[-1].id, task, seed, full)]
            elif l.kind == "oracle":
                p["runs"] = [Run(lib[i].id, task, seed, full) for i in cands]
            elif l.score in ("probe", "zeroshot"):
                k = l.probe_steps if l.score == "probe" else 0
                p["probes"] = [Run(lib[i].id, task, seed, k, keep=False) for i in cands]
            plan[(seq, seed, name)] = p
            requests += p.get("runs", []) + p.get("probes", [])
        results = dict(zip((backend.key(r) for r in requests), backend.run(requests))) if requests else {}
        # phase B: selection, then the selective learners' own fine-tuning runs
        second: list[Run] = []
        for (seq, seed, name), p in plan.items():
            l, lib = spec[name], states[(seq, seed, name)]
            if l.kind == "base":
                p["choice"] = 0
            elif l.kind == "last":
                p["choice"] = len(lib) - 1
            elif l.kind == "oracle":
                cand_results = [results[backend.key(r)] for r in p["runs"]]
                j = choose_oracle(cand_results, l.score)
                p["choice"] = p["cands"][j]
                p["scores"] = [r.dev_loss if l.score == "loss" else -r.dev_acc for r in cand_results]
                p["bound"] = max(r.test_acc for r in cand_results)
            else:
                if l.score == "similarity":
                    scores = [-l.sim_threshold] + [-backend.similarity(lib[i].task, p["task"])
                                                   for i in p["cands"][1:]]
                else:
                    scores = [results[backend.key(r)].dev_loss for r in p["probes"]]
                p["choice"], p["scores"] = p["cands"][choose_by_score(scores, l.margin)], scores
            if l.kind != "oracle":
                p["final"] = Run(lib[p["choice"]].id, p["task"], seed, p["full"])
                if l.kind == "select":
                    second.append(p["final"])
            else:
                p["final"] = p["runs"][p["cands"].index(p["choice"])]
        if second:
            results.update(zip((backend.key(r) for r in second), backend.run(second)))
        # phase C: grow the libraries, record
        for (seq, seed, name), p in plan.items():
            l, lib = spec[name], states[(seq, seed, name)]
            res = results[backend.key(p["final"])]
            n_c = len(p["cands"])
            steps = {"base": p["full"], "last": p["full"], "oracle": n_c * p["full"]}.get(
                l.kind, p["full"] + (l.probe_steps * n_c if l.score == "probe" else 0))
            choice = p["choice"]
            records.append(StepRecord(
                sequence=seq, seed=seed, learner=name, position=t, task=p["task"], target=p["task"] in targets,
                parent_position=lib[choice].position, parent_task=lib[choice].task, lineage=lineage(lib, choice),
                n_candidates=n_c, steps=steps, test_acc=res.test_acc, dev_acc=res.dev_acc,
                oracle_test_bound=p.get("bound", math.nan), scores=[float(s) for s in p.get("scores", [])]))
            lib.append(Checkpoint(res.key, p["task"], choice, t))
    return records
