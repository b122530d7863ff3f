"""Configurations per scale (one flat dataclass so that ``--set field=value`` reaches every knob).

quick: minutes on 2 CPU cores (``make reproduce-lru_universality``); full: about an hour on 2 cores; gpu: a bigger
grid for about 10-15 GPU minutes (untested: no GPU was available when this package was written).

Field prefixes name the experiment: ``cond_`` (1, conditioning), ``recon_`` (2, reconstruction), ``comp_``
(3, compression), ``univ_`` / ``ode_`` (4, universality), ``copy_`` / ``listops_`` / ``delay_`` (5, LRU tasks).
"""

from __future__ import annotations

import dataclasses

from repro_shared.cli import ConfigError


@dataclasses.dataclass(frozen=True)
class Config:
    seeds: tuple[int, ...] = (0, 1, 2)

    # 1. conditioning of the Vandermonde state map, N = L
    cond_sizes: tuple[int, ...] = (8, 16, 32, 64, 128)
    cond_draws: int = 5  # random eigenvalue draws per family and size (medians reported)

    # 2. reconstruction of past i.i.d. inputs from x_L by a linear readout
    recon_length: int = 64
    recon_sizes: tuple[int, ...] = (32, 64, 128)  # complex units N (real families get 2N)
    recon_sweep: tuple[int, ...] = (4, 8, 16, 24, 32, 48, 64)
    recon_noise: tuple[float, ...] = (1e-2, 1e-4, 1e-6)
    recon_sweep_noise: float = 1e-6
    recon_train: int = 4096
    recon_test: int = 1024

    # 3. compression of low-dimensional inputs (Legendre subspace, damped-oscillator bank)
    comp_length: int = 256
    comp_dim: int = 12
    comp_sizes: tuple[int, ...] = (4, 6, 8, 12, 16)
    comp_noise: float = 1e-4
    comp_train: int = 1024
    comp_test: int = 256

    # 4a. universality: frozen recurrence + MLP on y = u_L u_{L-4} + sin(2 u_{L-9})
    univ_length: int = 32
    univ_state: int = 32
    univ_widths: tuple[int, ...] = (16, 64, 256, 1024)
    univ_states: tuple[int, ...] = (8, 16, 32)
    univ_width: int = 256  # width of the state-size sweep and of the encoder comparison
    univ_train: int = 20000
    univ_test: int = 4000
    univ_steps: int = 4000
    univ_batch: int = 256
    univ_lr: float = 1e-3

    # 4b. universality on an ODE-driven map: smooth forcing -> forced damped pendulum angle, every step
    ode_length: int = 200
    ode_dt: float = 0.05
    ode_forcing: float = 0.2  # keeps |theta| < pi (no full turns): 0.5 made the pendulum spin (see README)
    ode_train_seqs: int = 400
    ode_test_seqs: int = 100
    ode_states: tuple[int, ...] = (16, 64)
    ode_widths: tuple[int, ...] = (64, 256)
    ode_steps: int = 3000

    lru_seeds: int = 1  # experiment 5 trains on the first lru_seeds of the seeds (it is the costly one)
    scan_method: str = "sequential"  # experiment 5's scan: lax.scan is faster on CPU, associative on accelerators

    # 5a. copy task (minimal-LRU's "copy-classification")
    copy_pattern: int = 20
    copy_delay: int = 8
    copy_symbols: int = 8
    copy_train: int = 10000
    copy_test: int = 1000
    copy_epochs: float = 4.0
    copy_batch: int = 64
    copy_layers: int = 2
    copy_d_model: int = 64
    copy_d_state: int = 64
    copy_lr: float = 2e-3

    # 5b. ListOps-style classification, r_min / gamma ablation and baselines
    listops_min_len: int = 32
    listops_max_len: int = 128
    listops_max_args: int = 5
    listops_train: int = 8000
    listops_test: int = 1000
    listops_steps: int = 600
    listops_batch: int = 32
    listops_layers: int = 2
    listops_d_model: int = 64
    listops_d_state: int = 32
    listops_lr: float = 2e-3
    listops_variants: tuple[str, ...] = ("lru r[0,.99]", "lru r[.9,.999]", "lru r[.9,.999] no-gamma", "real",
                                         "s4d")

    # 5c. long-delay copy: the r_min / gamma ablation where memory length matters (PathX analogue)
    delay_pattern: int = 10
    delay_delay: int = 60
    delay_train: int = 4000
    delay_test: int = 500
    delay_steps: int = 400
    delay_batch: int = 32
    delay_layers: int = 2
    delay_d_model: int = 64
    delay_d_state: int = 64
    delay_lr: float = 2e-3
    delay_variants: tuple[str, ...] = ("lru r[0,.999]", "lru r[.9,.999]", "lru r[.9,.999] no-gamma")

    def validate(self) -> Config:
        from lru_universality.experiments.lru_tasks import VARIANTS

        for field in ("listops_variants", "delay_variants"):
            for v in getattr(self, field):
                if v not in VARIANTS:
                    raise ConfigError(field, v, list(VARIANTS))
        if self.scan_method not in ("sequential", "associative"):
            raise ConfigError("scan_method", self.scan_method, ["sequential", "associative"])
        for field in ("cond_draws", "recon_train", "recon_test", "comp_train", "comp_test", "univ_train",
                      "univ_test", "univ_steps", "ode_steps", "listops_steps", "delay_steps"):
            if getattr(self, field) < 1:
                raise ConfigError(field, getattr(self, field), "a positive integer")
        if self.recon_length < 2 or any(n < 1 for n in self.recon_sizes + self.recon_sweep):
            raise ConfigError("recon_sizes", self.recon_sizes, "positive integers (and recon_length >= 2)")
        if self.comp_dim % 2:
            raise ConfigError("comp_dim", self.comp_dim, "an even number (the oscillator bank has d/2 modes)")
        if self.univ_length < 10:
            raise ConfigError("univ_length", self.univ_length, "an integer >= 10 (the target reads lag 9)")
        if not 3 <= self.listops_min_len <= self.listops_max_len:
            raise ConfigError("listops_min_len", self.listops_min_len, f"3 <= min_len <= {self.listops_max_len}")
        return self


CONFIGS: dict[str, Config] = {
    "quick": Config(
        seeds=(0, 1, 2), cond_draws=5, recon_sizes=(32, 64), recon_train=4096, recon_test=1024,
        univ_widths=(16, 64, 256), univ_train=8000, univ_test=2000, univ_steps=1500,
        ode_train_seqs=200, ode_test_seqs=50, ode_states=(16, 64), ode_widths=(64, 256), ode_steps=1500,
        copy_train=10000, copy_epochs=3.0,
        listops_train=4000, listops_test=500, listops_steps=300,
        listops_variants=("lru r[0,.99]", "lru r[.9,.999]", "lru r[.9,.999] no-gamma"),
        delay_delay=60, delay_train=3000, delay_test=300, delay_steps=300,
    ),
    "full": Config(
        seeds=(0, 1, 2), cond_draws=25,
        univ_widths=(16, 64, 256, 1024), univ_train=20000, univ_test=4000, univ_steps=4000,
        ode_train_seqs=400, ode_test_seqs=100, ode_steps=3000,
        lru_seeds=2, copy_train=40000, copy_epochs=4.0,
        listops_train=16000, listops_test=2000, listops_steps=3000,
        listops_variants=("lru r[0,.99]", "lru r[.9,.999]", "lru r[.9,.999] no-gamma", "s4d"),
        delay_delay=120, delay_train=10000, delay_test=1000, delay_steps=1500,
    ),
    "gpu": Config(
        seeds=(0, 1, 2, 3, 4), cond_draws=100, lru_seeds=2, scan_method="associative",
        univ_widths=(16, 64, 256, 1024, 4096), univ_train=50000, univ_test=10000, univ_steps=8000,
        ode_train_seqs=2000, ode_test_seqs=400, ode_states=(16, 32, 64, 128), ode_widths=(64, 256, 1024),
        ode_steps=8000,
        copy_train=100000, copy_epochs=4.0, copy_layers=4, copy_d_model=256, copy_d_state=128,
        listops_min_len=500, listops_max_len=2000, listops_max_args=10, listops_train=50000, listops_test=5000,
        listops_steps=4000, listops_layers=4, listops_d_model=128, listops_d_state=64,
        listops_variants=("lru r[0,.99]", "lru r[.9,.999]", "lru r[.9,.999] no-gamma", "s4d", "real"),
        delay_delay=1000, delay_train=50000, delay_test=2000, delay_steps=4000, delay_layers=4,
        delay_d_model=128,
        delay_variants=("lru r[0,.999]", "lru r[.9,.999]", "lru r[.9,.999] no-gamma", "lru r[.99,.9999]"),
    ),
}
