"""Configurations per scale (every knob the experiments vary; override with ``--set field=value``).

quick: minutes on 2 CPU cores (a few tasks, d 64); full: about 60-75 min alone on 2 cores (MT40 + DMC4
pre-training, CW10); gpu: a paper-width config for about 10 GPU minutes (untested: no GPU in our runs).
"""

from __future__ import annotations

import dataclasses

from l2m import tasks as T
from l2m.methods import METHODS, MethodConfig
from repro_shared.cli import ConfigError, check_choice

# quick: 6 MT40 tasks that the scripted experts solve reliably, and 3 CW10 tasks
_QUICK_MW = ("reach-v3", "button-press-v3", "drawer-close-v3", "door-open-v3", "plate-slide-v3", "coffee-button-v3")


@dataclasses.dataclass(frozen=True)
class Config:
    # tasks
    mw_pretrain: tuple[str, ...] = _QUICK_MW
    dmc_pretrain: tuple[str, ...] = ("point_mass-easy", "cartpole-balance")
    # continual sequence (quick: three of the easier CW10 tasks, in CW10 order) and single-task FT tasks
    cw_tasks: tuple[str, ...] = ("faucet-close-v3", "handle-press-side-v3", "window-close-v3")
    st_tasks: tuple[str, ...] = ("faucet-close-v3", "window-close-v3")
    # data (episodes per task store)
    episodes_mw: int = 100
    episodes_dmc: int = 4
    data_workers: int = 2
    # model (MDDT)
    d_model: int = 64
    n_layer: int = 3
    n_head: int = 4
    context: int = 5
    dropout: float = 0.0
    # pre-training (paper: 1M updates, batch 2x256, lr 1e-4, warm-up 4000, cosine)
    pretrain_steps: int = 2000
    pretrain_batch: int = 64
    pretrain_lr: float = 1e-3
    warmup: int = 100
    dmc_weight: float = 0.2      # share of pre-training sequences from DMControl (paper: alternating, 1/2)
    # fine-tuning (paper: 100K updates per task, batch 256, lr 1e-4 constant)
    st_steps: int = 400
    cl_steps: int = 400
    ft_batch: int = 64
    ft_lr: float = 3e-4          # full fine-tuning, EWC, L2
    peft_lr: float = 1e-3        # frozen-backbone methods
    st_methods: tuple[str, ...] = ("ft", "lora", "ia3", "prompt")
    cl_methods: tuple[str, ...] = ("ft", "l2m", "l2m_id", "l2m_oracle")
    # method hyper-parameters (see l2m.methods.MethodConfig)
    lora_rank: int = 8
    l2m_pool: int = 9
    l2m_identity_keys: int = 3
    l2m_id_steps: int = 100      # l2m_id: steps that fit the identity keys on pre-training data
    l2p_pool: int = 9
    l2p_top_k: int = 3
    ewc_lambda: float = 400.0
    # evaluation
    eval_episodes: int = 5       # per CW task and evaluation point
    pretrain_eval_episodes: int = 3
    dmc_eval_episodes: int = 1
    max_envs: int = 30           # episodes stepped in one batch
    # compute
    workers: int = 2             # parallel fine-tuning jobs (1 torch thread each)
    pretrain_threads: int = 1    # torch threads for pre-training (evaluation always uses 1: tiny ops)
    device: str = "cpu"          # set from --device
    seeds: tuple[int, ...] = (0,)

    def method_config(self) -> MethodConfig:
        return MethodConfig(lora_rank=self.lora_rank, l2m_pool=self.l2m_pool,
                            l2m_identity_keys=self.l2m_identity_keys, l2p_pool=self.l2p_pool,
                            l2p_top_k=min(self.l2p_top_k, self.l2p_pool), ewc_lambda=self.ewc_lambda)

    def validate(self) -> Config:
        for field in ("mw_pretrain", "cw_tasks", "st_tasks"):
            for t in getattr(self, field):
                check_choice(field, t, T.MT50)
        for t in self.dmc_pretrain:
            check_choice("dmc_pretrain", t, T.DMC_SCRIPTED)
        for field in ("st_methods", "cl_methods"):
            for m in getattr(self, field):
                check_choice(field, m, METHODS)
        overlap = set(self.mw_pretrain) & (set(self.cw_tasks) | set(self.st_tasks))
        if overlap:
            raise ConfigError("mw_pretrain", sorted(overlap), "tasks disjoint from cw_tasks and st_tasks")
        if self.d_model % self.n_head:
            raise ConfigError("d_model", self.d_model, f"a multiple of n_head={self.n_head}")
        for field in ("episodes_mw", "pretrain_steps", "st_steps", "cl_steps", "eval_episodes", "workers",
                      "context", "n_layer"):
            if getattr(self, field) < 1:
                raise ConfigError(field, getattr(self, field), "an integer >= 1")
        if not 0.0 <= self.dmc_weight < 1.0:
            raise ConfigError("dmc_weight", self.dmc_weight, "a number in [0, 1)")
        return self


CONFIGS: dict[str, Config] = {
    "quick": Config(),
    "full": Config(
        mw_pretrain=T.MT40, dmc_pretrain=T.DMC_SCRIPTED, cw_tasks=T.CW10,
        st_tasks=("faucet-close-v3", "handle-press-side-v3", "window-close-v3"),
        episodes_mw=100, episodes_dmc=20,
        d_model=64, n_layer=3, n_head=4,
        pretrain_steps=16000, pretrain_batch=64, pretrain_lr=1e-3, warmup=500, pretrain_threads=2,
        st_steps=800, cl_steps=600, ft_batch=64,
        st_methods=("ft", "ft_last", "adapter", "lora", "ia3", "prompt", "prefix"),
        cl_methods=("ft", "l2", "ewc", "l2p", "l2m", "l2m_id", "l2m_oracle"),
        l2m_pool=30, l2m_identity_keys=5, l2m_id_steps=300, l2p_pool=30, l2p_top_k=5,
        eval_episodes=5, pretrain_eval_episodes=3, dmc_eval_episodes=2, max_envs=50,
    ),
    "gpu": Config(
        mw_pretrain=T.MT40, dmc_pretrain=T.DMC_SCRIPTED, cw_tasks=T.CW10,
        st_tasks=("hammer-v3", "push-wall-v3", "shelf-place-v3"),
        episodes_mw=200, episodes_dmc=50,
        d_model=512, n_layer=4, n_head=8, dropout=0.1,
        pretrain_steps=30000, pretrain_batch=256, pretrain_lr=3e-4, warmup=2000,
        st_steps=5000, cl_steps=5000, ft_batch=256, ft_lr=1e-4, peft_lr=1e-3,
        st_methods=("ft", "ft_last", "adapter", "lora", "ia3", "prompt", "prefix"),
        cl_methods=("ft", "l2", "ewc", "l2p", "l2m", "l2m_id", "l2m_oracle", "multitask"),
        l2m_pool=30, l2m_identity_keys=5, l2m_id_steps=1000, l2p_pool=100, l2p_top_k=5,
        eval_episodes=10, pretrain_eval_episodes=5, dmc_eval_episodes=3, max_envs=100, seeds=(0, 1, 2),
    ),
}
