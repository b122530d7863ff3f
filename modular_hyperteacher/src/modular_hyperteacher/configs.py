"""Configurations per scale (one flat dataclass, so that ``--set field=value`` reaches every knob).

* quick: minutes on 2 CPU cores (``make reproduce-modular_hyperteacher``);
* full: designed for about an hour on 2 CPU cores (not run by the helper; see the README for the estimate);
* gpu: the reference's sizes as far as about 10 GPU minutes allow (untested: no GPU in this session).

Prefixes: ``theory_`` (experiment 0), ``ht_`` (hyperteacher: experiments 1 and 3), ``ts_`` (task support and
over-parameterization: experiment 2). Reference values are noted where a scale departs from them.
"""

from __future__ import annotations

import dataclasses

from modular_hyperteacher.students import STUDENTS
from repro_shared.cli import ConfigError, check_choice, check_range


@dataclasses.dataclass(frozen=True)
class Config:
    seeds: tuple[int, ...] = (0,)

    # -- experiment 0: theory (reference run_theory.py: T 300, inner lr 3e-3, lr 1e-3, B 64, N 256, 60k steps)
    theory_kinds: str = "discrete"  # discrete | continuous | all
    theory_steps: int = 1500
    theory_inner_steps: int = 100
    theory_inner_lr: float = 1e-2
    theory_lr: float = 3e-3
    theory_meta_batch: int = 16
    theory_batch: int = 64
    theory_eval_tasks: int = 256
    theory_eval_batch: int = 512
    theory_log_every: int = 100

    # -- experiment 1: hyperteacher, modular vs monolithic (reference: E 8, B 128, shots 256 + 256, 200k steps)
    ht_experts: int = 4
    ht_hot: int = 2
    ht_students: tuple[str, ...] = ("hnet_linear", "hnet_deepmlp", "anil", "learned_init")
    ht_hnet_hidden: int = 32  # reference 128
    ht_anil_hidden: int = 128  # reference 512
    ht_maml_hidden: int = 96  # reference 384
    ht_num_hidden: int = 3
    ht_module_ratio: int = 4  # M = ratio x E (reference ratio_templates_experts = 4)
    ht_steps: int = 1000
    ht_meta_batch: int = 16
    ht_shots: int = 64
    ht_eval_every: int = 250
    ht_eval_tasks: int = 256
    ht_eval_chunk: int = 64
    ht_first_order: bool = False
    ht_non_compositional: tuple[str, ...] = ("hnet_linear",)  # students also trained on the non_compositional split

    # -- experiment 2: connected vs disconnected support (E 8, K 2) and over-parameterization (E 4)
    ts_students: tuple[str, ...] = ("hnet_linear",)
    ts_experts: int = 8
    ts_steps: int = 1000
    ts_overparam_ratios: tuple[int, ...] = (1, 4, 16)

    # -- experiment 4: compositional preference grid world (reference: B 128, 16 + 16 demos, 100k steps)
    grid_students: tuple[str, ...] = ("hnet_linear", "anil", "learned_init")
    grid_hnet_hidden: int = 64
    grid_anil_hidden: int = 128  # reference 512 (4 hidden layers)
    grid_maml_hidden: int = 96  # reference 368
    grid_modules: int = 32  # reference num_templates
    grid_steps: int = 500
    grid_meta_batch: int = 16
    grid_shots: int = 8
    grid_eval_every: int = 250
    grid_eval_tasks: int = 128

    # -- experiment 4b: compositional goals grid world (reference: B 128, 1 + 1 demos, 200k steps, 2 hidden layers)
    goals_students: tuple[str, ...] = ("hnet_linear", "anil", "learned_init")
    goals_hnet_hidden: int = 32  # reference 32
    goals_anil_hidden: int = 128  # reference 512
    goals_maml_hidden: int = 96  # reference 384
    goals_modules: int = 8  # reference num_templates
    goals_steps: int = 800
    goals_meta_batch: int = 16
    goals_shots: int = 1
    goals_eval_every: int = 200
    goals_eval_tasks: int = 128
    goals_rollouts: int = 4  # fresh episodes per evaluated goal

    def validate(self) -> Config:
        check_choice("theory_kinds", self.theory_kinds, ("discrete", "continuous", "all"))
        for name in ("theory_steps", "theory_inner_steps", "theory_meta_batch", "theory_batch", "theory_eval_tasks",
                     "theory_log_every", "ht_steps", "ht_meta_batch", "ht_shots", "ht_eval_every", "ht_eval_tasks",
                     "ts_steps", "grid_steps", "grid_meta_batch", "grid_shots", "grid_eval_every", "grid_eval_tasks",
                     "goals_steps", "goals_meta_batch", "goals_shots", "goals_eval_every", "goals_eval_tasks",
                     "goals_rollouts", "goals_modules"):
            check_range(name, getattr(self, name), lo=1)
        if self.theory_steps % self.theory_log_every:
            raise ConfigError("theory_steps", self.theory_steps, f"a multiple of theory_log_every "
                              f"({self.theory_log_every})")
        for name in ("ht_steps", "ts_steps"):
            if getattr(self, name) % self.ht_eval_every:
                raise ConfigError(name, getattr(self, name), f"a multiple of ht_eval_every ({self.ht_eval_every})")
        if self.ht_eval_tasks % min(self.ht_eval_chunk, self.ht_eval_tasks):
            raise ConfigError("ht_eval_tasks", self.ht_eval_tasks,
                              f"a multiple of ht_eval_chunk ({self.ht_eval_chunk})")
        for prefix in ("grid", "goals"):
            steps, every = getattr(self, f"{prefix}_steps"), getattr(self, f"{prefix}_eval_every")
            if steps % every:
                raise ConfigError(f"{prefix}_steps", steps, f"a multiple of {prefix}_eval_every ({every})")
        if self.goals_eval_tasks % min(self.goals_eval_tasks, 32):
            raise ConfigError("goals_eval_tasks", self.goals_eval_tasks, "a multiple of 32 (evaluation chunks)")
        for name in ("ht_students", "ht_non_compositional", "ts_students", "grid_students", "goals_students"):
            for s in getattr(self, name):
                check_choice(name, s, STUDENTS)
        check_range("ht_experts", self.ht_experts, lo=self.ht_hot)
        if self.ts_experts <= 4 or self.ts_experts % 2:
            raise ConfigError("ts_experts", self.ts_experts, "an even number > 4 (connected/disconnected supports)")
        if not self.seeds:
            raise ConfigError("seeds", self.seeds, "at least one seed")
        return self


CONFIGS: dict[str, Config] = {
    # ~15-18 min on 2 free cores: 11 discrete theory supports; 4 students + 1 non-compositional on E 4;
    # connected / disconnected on E 8; over-parameterization ratios 1 and 16; 3 students on each grid world.
    "quick": Config(),
    # ~75-90 min on 2 free cores (estimate from the quick timings; grid_goals ~12-15 of it): all 19 theory
    # supports x 2 seeds for longer; hyperteacher students 4x longer; both hypernetworks on the task-support
    # experiment; all four students on both grid worlds.
    "full": Config(
        seeds=(0, 1),
        theory_kinds="all", theory_steps=3000,
        ht_steps=4000, ht_eval_every=500, ht_eval_tasks=512, ht_non_compositional=("hnet_linear", "anil"),
        ts_students=("hnet_linear", "hnet_deepmlp"), ts_steps=3000,
        grid_students=("hnet_linear", "hnet_deepmlp", "anil", "learned_init"), grid_steps=1500, grid_eval_every=500,
        grid_eval_tasks=256,
        goals_students=("hnet_linear", "hnet_deepmlp", "anil", "learned_init"), goals_steps=2000,
        goals_eval_every=500, goals_eval_tasks=256,
    ),
    # the reference's sizes (E 8, widths 128 / 512 / 384, B 128, shots 256 + 256) for as many steps as about 10
    # GPU minutes per experiment allow (estimated from the reference's ~95 hnet steps/s on one H200; untested here)
    "gpu": Config(
        seeds=(0, 1, 2),
        theory_kinds="all", theory_steps=3000, theory_inner_steps=300, theory_inner_lr=3e-3, theory_lr=1e-3,
        theory_meta_batch=64, theory_batch=256, theory_eval_tasks=512, theory_eval_batch=1024, theory_log_every=1000,
        ht_experts=8, ht_hnet_hidden=128, ht_anil_hidden=512, ht_maml_hidden=384, ht_steps=10_000,
        ht_meta_batch=128, ht_shots=256, ht_eval_every=1000, ht_eval_tasks=1024, ht_eval_chunk=128,
        ht_non_compositional=("hnet_linear", "anil"),
        ts_students=("hnet_linear", "hnet_deepmlp"), ts_steps=10_000,
        grid_students=("hnet_linear", "hnet_deepmlp", "anil", "learned_init"), grid_anil_hidden=512,
        grid_maml_hidden=368, grid_steps=5000, grid_meta_batch=128, grid_shots=16, grid_eval_every=1000,
        grid_eval_tasks=1024,
        goals_students=("hnet_linear", "hnet_deepmlp", "anil", "learned_init"), goals_anil_hidden=512,
        goals_maml_hidden=384, goals_steps=5000, goals_meta_batch=128, goals_eval_every=1000, goals_eval_tasks=1024,
    ),
}
