"""Batched fine-tuning: many independent runs trained at once with ``torch.func.vmap``, memoised on disk.

Every learner reduces to FINETUNE(θ_init; task, seed) with a fixed step budget (notes Sec. 3). A :class:`Run`
names one such call; :class:`Engine.run` takes a list of them, answers what the :class:`RunStore` already holds,
and trains the rest jointly: parameters of K models are stacked along a leading axis, the loss of model k on its
own batch is computed by ``vmap(functional_call(...))``, and one ``backward`` of the summed losses yields every
model's own gradient (the models share nothing). Adam is element-wise, so ``torch.optim.Adam`` over the stacked
tensors is K independent Adams. The batch stream of a run depends only on (task, seed) — never on the init — so
every init of a task is trained on identical batches (paired comparisons), and a k-step probe is exactly the
first k steps of the full run. The inner loop has no host synchronisation (losses stay on device).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, vmap

from repro_shared.results import atomic_path

BASE_ID = "base"
ENGINE_VERSION = 1  # part of every run key: bump it when a change to the training code changes results


@dataclasses.dataclass(frozen=True)
class Budget:
    """Fine-tuning hyper-parameters per task kind; identical for every learner and every init (notes Sec. 3)."""

    source_steps: int = 150
    source_lr: float = 3e-4
    source_batch: int = 32
    target_steps: int = 100
    target_lr: float = 3e-4
    target_batch: int = 16


@dataclasses.dataclass(frozen=True)
class TaskTensors:
    """A task tokenised for one model tier."""

    name: str
    source: bool
    train_x: torch.Tensor
    train_y: torch.Tensor
    dev_x: torch.Tensor
    dev_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    digest: str


@dataclasses.dataclass(frozen=True)
class Run:
    """FINETUNE(init; task, seed) for ``steps`` steps; ``keep`` stores the resulting checkpoint (not for probes)."""

    init: str
    task: str
    seed: int
    steps: int
    keep: bool = True


@dataclasses.dataclass(frozen=True)
class RunResult:
    key: str
    dev_loss: float
    dev_acc: float
    test_acc: float  # nan for probes (not evaluated on test)
    final_train_loss: float


def stream_indices(n: int, steps: int, batch: int, *, task: str, seed: int) -> torch.Tensor:
    """[steps, batch] example indices: consecutive epoch permutations seeded by (task, seed) only."""
    if steps == 0:
        return torch.zeros(0, batch, dtype=torch.long)
    h = int(hashlib.sha1(f"{task}|{seed}".encode()).hexdigest()[:8], 16)
    gen = torch.Generator().manual_seed(h)
    need = steps * batch
    perms = [torch.randperm(n, generator=gen) for _ in range(-(-need // n))]
    return torch.cat(perms)[:need].view(steps, batch)


class RunStore:
    """Memo of finished runs on disk: ``<root>/<key[:2]>/<key>.pt`` holds metrics and (if kept) parameters."""

    def __init__(self, root: str | os.PathLike | None):
        self.root = Path(root) if root is not None else None
        self._results: dict[str, RunResult] = {}
        self._states: dict[str, dict[str, torch.Tensor]] = {}

    def _path(self, key: str) -> Path:
        assert self.root is not None
        return self.root / key[:2] / f"{key}.pt"

    def get(self, key: str) -> RunResult | None:
        if key in self._results:
            return self._results[key]
        if self.root is not None and self._path(key).is_file():
            blob = torch.load(self._path(key), weights_only=True)
            self._results[key] = RunResult(**blob["result"])
            if blob.get("state") is not None:
                self._states[key] = blob["state"]
            return self._results[key]
        return None

    def state(self, key: str) -> dict[str, torch.Tensor]:
        if key not in self._states and self.get(key) is None:
            raise KeyError(f"no stored run {key}")
        if key not in self._states:
            raise KeyError(f"run {key} was a probe: its parameters were not kept")
        return self._states[key]

    def put(self, result: RunResult, state: dict[str, torch.Tensor] | None) -> None:
        self._results[result.key] = result
        if state is not None:
            self._states[result.key] = state
        if self.root is not None:
            with atomic_path(self._path(result.key)) as tmp:
                torch.save({"result": dataclasses.asdict(result), "state": state}, tmp)


class Engine:
    """Runs (and memoises) fine-tuning jobs for one model tier and one task suite.

    ``trainable`` selects the parameters that fine-tuning updates (all for Tier T; the top layers and the head
    for Tier M); the others stay at θ₀ and are shared, un-stacked, by every model in a batch.
    """

    def __init__(self, model: nn.Module, base_state: dict[str, torch.Tensor], base_digest: str,
                 tasks: dict[str, TaskTensors], budget: Budget, store: RunStore, *, max_parallel: int = 32,
                 device: str | torch.device = "cpu", trainable: Callable[[str], bool] = lambda name: True,
                 eval_chunk: int = 512, progress: Callable | None = None):
        self.device = torch.device(device)
        model.load_state_dict(base_state, strict=False)
        self.model = model.to(self.device).eval()
        self.tasks = tasks
        self.budget = budget
        self.store = store
        self.max_parallel = max_parallel
        self.eval_chunk = eval_chunk
        self.progress = progress
        names = [n for n, _ in model.named_parameters()]
        self.trainable_names = [n for n in names if trainable(n)]
        self.frozen = {n: base_state[n].to(self.device) for n in names if not trainable(n)}
        self.buffers = {n: b.to(self.device) for n, b in model.named_buffers()}
        self.base_state = {n: base_state[n] for n in self.trainable_names}
        self.base_digest = base_digest
        self.steps_executed = 0  # model-steps actually trained (after memoisation), for the benchmark
        self._centroids: dict[str, torch.Tensor] = {}

    # -- bookkeeping
    def full_steps(self, task: str) -> int:
        return self.budget.source_steps if self.tasks[task].source else self.budget.target_steps

    def _hparams(self, task: str) -> tuple[float, int]:
        b = self.budget
        return (b.source_lr, b.source_batch) if self.tasks[task].source else (b.target_lr, b.target_batch)

    def key(self, run: Run) -> str:
        lr, batch = self._hparams(run.task)
        blob = json.dumps({"v": ENGINE_VERSION, "init": run.init, "base": self.base_digest, "task": run.task,
                           "data": self.tasks[run.task].digest, "seed": run.seed, "steps": run.steps, "lr": lr,
                           "batch": batch, "keep": run.keep, "trainable": len(self.trainable_names)},
                          sort_keys=True)
        return hashlib.sha1(blob.encode()).hexdigest()[:20]

    def checkpoint(self, ckpt_id: str) -> dict[str, torch.Tensor]:
        """Trainable parameters of a checkpoint (``BASE_ID`` or the key of a kept run)."""
        return self.base_state if ckpt_id == BASE_ID else self.store.state(ckpt_id)

    # -- running
    def chunks(self, runs: Sequence[Run], done: Callable[[str], bool]
               ) -> list[tuple[tuple[int, float, int], list[tuple[str, Run]]]]:
        """The stacked groups that training ``runs`` takes: the runs whose key is not ``done`` (deduplicated),
        grouped by (steps, lr, batch) and cut into chunks of at most ``max_parallel`` runs."""
        todo: dict[str, Run] = {}
        for r in runs:
            k = self.key(r)
            if k not in todo and not done(k):
                todo[k] = r
        groups: dict[tuple, list[tuple[str, Run]]] = defaultdict(list)
        for k, r in todo.items():
            groups[(r.steps, *self._hparams(r.task))].append((k, r))
        return [(g, items[i:i + self.max_parallel]) for g, items in groups.items()
                for i in range(0, len(items), self.max_parallel)]

    def run(self, runs: Sequence[Run]) -> list[RunResult]:
        """Results for ``runs`` in order; missing ones are trained, grouped by (steps, lr, batch) and vmapped."""
        keys = [self.key(r) for r in runs]
        chunks = self.chunks(runs, lambda k: self.store.get(k) is not None)
        it: Iterable = chunks
        if self.progress is not None and len(chunks) > 1:
            n_runs = sum(len(c) for _, c in chunks)
            it = self.progress(chunks, desc=f"fine-tuning {n_runs} runs", total=len(chunks))
        for (steps, lr, batch), chunk in it:
            self._train_chunk(chunk, steps, lr, batch)
        return [self.store.get(k) for k in keys]  # type: ignore[misc]

    def _loss_fn(self):
        model, frozen, buffers = self.model, self.frozen, self.buffers

        def loss(params, x, y):
            logits = functional_call(model, {**params, **frozen, **buffers}, (x,))
            return F.cross_entropy(logits, y)

        return loss

    def _logits_fn(self):
        model, frozen, buffers = self.model, self.frozen, self.buffers
        return lambda params, x: functional_call(model, {**params, **frozen, **buffers}, (x,))

    def train_stacked(self, params: dict[str, torch.Tensor], xs: torch.Tensor, ys: torch.Tensor, lr: float
                      ) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """Train K stacked models; xs [steps, K, B, L], ys [steps, K, B]. Returns (params, losses [steps, K])."""
        leaves = {n: p.detach().clone().requires_grad_(True) for n, p in params.items()}
        steps, k = xs.shape[0], xs.shape[1]
        losses = torch.zeros(steps, k, device=self.device)
        if steps == 0:
            return {n: p.detach() for n, p in leaves.items()}, losses
        opt = torch.optim.Adam(list(leaves.values()), lr=lr)
        batched_loss = vmap(self._loss_fn())
        for s in range(steps):
            per_model = batched_loss(leaves, xs[s], ys[s])
            opt.zero_grad(set_to_none=True)
            per_model.sum().backward()
            opt.step()
            losses[s] = per_model.detach()
        self.steps_executed += steps * k
        return {n: p.detach() for n, p in leaves.items()}, losses

    @torch.no_grad()
    def evaluate_stacked(self, params: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor
                         ) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean loss and accuracy of K stacked models on one shared set (x [N, L]); tensors of shape [K]."""
        logits_fn = vmap(self._logits_fn(), in_dims=(0, None))
        loss_sum = acc_sum = 0
        for i in range(0, len(x), self.eval_chunk):
            xb, yb = x[i:i + self.eval_chunk], y[i:i + self.eval_chunk]
            logits = logits_fn(params, xb)  # [K, n, C]
            k = logits.shape[0]
            loss_sum = loss_sum + F.cross_entropy(logits.flatten(0, 1), yb.repeat(k), reduction="none"
                                                  ).view(k, -1).sum(1)
            acc_sum = acc_sum + (logits.argmax(-1) == yb).sum(1)
        return loss_sum / len(x), acc_sum.float() / len(x)

    @staticmethod
    def eval_plan(chunk: Sequence[tuple[str, Run]]) -> list[tuple[str, str, list[int]]]:
        """(task, split, indices into ``chunk``) evaluated after training a chunk: the models that share a task
        share its inputs; every run is scored on dev, kept runs also on test."""
        by_task: dict[str, list[int]] = defaultdict(list)
        for i, (_, r) in enumerate(chunk):
            by_task[r.task].append(i)
        plan = []
        for task, ids in by_task.items():
            plan.append((task, "dev", ids))
            keep_ids = [i for i in ids if chunk[i][1].keep]
            if keep_ids:
                plan.append((task, "test", keep_ids))
        return plan

    def _train_chunk(self, chunk: list[tuple[str, Run]], steps: int, lr: float, batch: int) -> None:
        dev = self.device
        inits = [self.checkpoint(r.init) for _, r in chunk]
        params = {n: torch.stack([s[n] for s in inits]).to(dev) for n in self.trainable_names}
        xs, ys = [], []
        for _, r in chunk:
            t = self.tasks[r.task]
            idx = stream_indices(len(t.train_y), steps, batch, task=r.task, seed=r.seed)
            xs.append(t.train_x[idx])
            ys.append(t.train_y[idx])
        x_stream = torch.stack(xs, 1).to(dev)  # [steps, K, B, L]
        y_stream = torch.stack(ys, 1).to(dev)
        params, losses = self.train_stacked(params, x_stream, y_stream, lr)
        dev_loss = torch.zeros(len(chunk))
        dev_acc = torch.zeros(len(chunk))
        test_acc = torch.full((len(chunk),), float("nan"))
        for task, split, ids in self.eval_plan(chunk):
            t = self.tasks[task]
            sub = {n: p[ids] for n, p in params.items()}
            if split == "dev":
                dl, da = self.evaluate_stacked(sub, t.dev_x.to(dev), t.dev_y.to(dev))
                dev_loss[ids], dev_acc[ids] = dl.cpu(), da.cpu()
            else:
                _, ta = self.evaluate_stacked(sub, t.test_x.to(dev), t.test_y.to(dev))
                test_acc[ids] = ta.cpu()
        final = losses[-1].cpu() if steps else torch.full((len(chunk),), float("nan"))
        for i, (key, r) in enumerate(chunk):
            result = RunResult(key, float(dev_loss[i]), float(dev_acc[i]), float(test_acc[i]), float(final[i]))
            state = {n: params[n][i].detach().cpu().clone() for n in self.trainable_names} if r.keep else None
            self.store.put(result, state)

    # -- zero-cost task similarity (a selection score)
    @torch.no_grad()
    def centroid(self, task: str) -> torch.Tensor:
        """Mean θ₀ encoder feature of a task's training inputs (train + dev)."""
        if task not in self._centroids:
            t = self.tasks[task]
            x = torch.cat([t.train_x, t.dev_x]).to(self.device)
            self._centroids[task] = self.model.features(x).mean(0).cpu()  # the template holds θ₀
        return self._centroids[task]

    def similarity(self, task_a: str, task_b: str) -> float:
        return float(F.cosine_similarity(self.centroid(task_a), self.centroid(task_b), dim=0))
