"""Experiment 4: universality, a linear recurrence followed by an MLP (universality paper, Sec. 3-4).

(a) A static nonlinear function of past inputs, y = u_L u_{L-4} + sin(2 u_{L-9}) with i.i.d. N(0, 1) inputs of
length L = 32, read from the final state x_L of a *frozen* diagonal recurrence (B = 1) by a linear readout or by a
2-hidden-layer ReLU MLP of width D (Adam, cosine decay; one vmapped program trains all seeds). We sweep D and N and
compare eigenvalue families at equal state memory (complex N units vs real 2N units), with the raw input window as
an oracle encoder.

(b) An ODE-driven sequence-to-sequence map: smooth random forcing u(t) drives a damped pendulum
theta'' = -sin(theta) - 0.3 theta' + u(t) (RK4, dt 0.05, from rest); a frozen recurrence runs over u and a
position-wise MLP maps every state x_t to theta_t.
"""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import NullFormatter

from lru_universality import compressor as C
from lru_universality.data import forced_pendulum, iid_gaussian, product_sine_target, smooth_forcing
from lru_universality.experiments.common import Context, median
from lru_universality.train import fit_mlp_regression, standardize
from repro_shared import claims
from repro_shared.plots import new_figure, save_figure
from repro_shared.progress import progress
from repro_shared.results import RunRecord

COMPLEX = "ring[.9,.999]x2pi"
ENCODERS = (COMPLEX, "ring[0,1]x2pi", "real U[0,1]", "real ring[.9,.999]", "window (oracle)")
ODE_COMPLEX, ODE_REAL = "ring[.99,1]xpi/10", "real ring[.99,1]"


def _linear_rel_mse(f_tr: np.ndarray, y_tr: np.ndarray, f_te: np.ndarray, y_te: np.ndarray) -> float:
    ones_tr, ones_te = np.ones((len(f_tr), 1)), np.ones((len(f_te), 1))
    w = C.fit_linear_readout(np.hstack([f_tr, ones_tr]), y_tr)
    return float(np.mean((np.hstack([f_te, ones_te]) @ w - y_te) ** 2) / np.var(y_te))


def _features(encoder: str, n: int, u_tr: np.ndarray, u_te: np.ndarray, rng: np.random.Generator):
    if encoder == "window (oracle)":
        f_tr, f_te = u_tr, u_te
    else:
        lam = C.family(encoder).sample(rng, n)
        f_tr, f_te = C.real_features(C.final_states(lam, u_tr)), C.real_features(C.final_states(lam, u_te))
    return standardize(f_tr, f_te)


def static_map(ctx: Context) -> dict:
    """Part (a): relative test MSE per (encoder, N, readout), per seed."""
    cfg = ctx.cfg
    L = cfg.univ_length
    data = []
    for seed in ctx.seeds:
        rng = np.random.default_rng([seed, 4])
        u_tr, u_te = iid_gaussian(rng, cfg.univ_train, L), iid_gaussian(rng, cfg.univ_test, L)
        data.append((u_tr, u_te, product_sine_target(u_tr)[:, None], product_sine_target(u_te)[:, None]))

    settings = [(e, cfg.univ_state) for e in ENCODERS] + [(COMPLEX, n) for n in cfg.univ_states if n != cfg.univ_state]
    results: dict = {"linear": {}, "mlp": {}}
    runs = [(e, n, D) for e, n in settings for D in ([cfg.univ_width] if (e, n) != (COMPLEX, cfg.univ_state)
                                                      else sorted(set(cfg.univ_widths) | {cfg.univ_width}))]
    feats = {}
    for e, n in settings:
        per_seed = []
        for s, (u_tr, u_te, _, _) in zip(ctx.seeds, data):
            rng = np.random.default_rng([s, n, ENCODERS.index(e), 41])
            f_tr, f_te = _features(e, n, u_tr, u_te, rng)
            per_seed.append((f_tr.astype(np.float32), f_te.astype(np.float32)))
        feats[e, n] = per_seed
        results["linear"][f"{e} | N={n}"] = [_linear_rel_mse(f_tr, d[2], f_te, d[3])
                                             for (f_tr, f_te), d in zip(per_seed, data)]
    for e, n, D in progress(runs, desc="universality MLPs"):
        x_tr = np.stack([f[0] for f in feats[e, n]])
        x_te = np.stack([f[1] for f in feats[e, n]])
        y_tr = np.stack([d[2] for d in data]).astype(np.float32)
        y_te = np.stack([d[3] for d in data]).astype(np.float32)
        rel = fit_mlp_regression(D, x_tr, y_tr, x_te, y_te, seeds=ctx.seeds, steps=cfg.univ_steps,
                                 batch_size=cfg.univ_batch, lr=cfg.univ_lr, desc=f"MLP {e} N={n} D={D}")
        results["mlp"][f"{e} | N={n} | D={D}"] = rel.tolist()
    return results


def ode_map(ctx: Context) -> dict:
    """Part (b): relative test MSE of theta_t over every step, per (encoder, N, readout), per seed."""
    cfg = ctx.cfg
    L = cfg.ode_length
    data = []
    for seed in ctx.seeds:
        rng = np.random.default_rng([seed, 44])
        u = smooth_forcing(rng, cfg.ode_train_seqs + cfg.ode_test_seqs, L, cfg.ode_dt, amplitude=cfg.ode_forcing)
        theta = forced_pendulum(u, cfg.ode_dt)
        data.append((u[: cfg.ode_train_seqs], u[cfg.ode_train_seqs:], theta[: cfg.ode_train_seqs],
                     theta[cfg.ode_train_seqs:]))
    results: dict = {"linear": {}, "mlp": {}, "theta_abs_max": float(max(np.abs(d[2]).max() for d in data))}
    n_max = max(cfg.ode_states)
    runs = [(ODE_COMPLEX, n, D) for n in cfg.ode_states for D in cfg.ode_widths]
    runs += [(ODE_REAL, n_max, D) for D in cfg.ode_widths]
    feats = {}
    for e, n in sorted({(e, n) for e, n, _ in runs}):
        per_seed = []
        for s, (u_tr, u_te, _, _) in zip(ctx.seeds, data):
            lam = C.family(e).sample(np.random.default_rng([s, n, 45, int(e == ODE_REAL)]), n)
            f_tr = C.real_features(C.all_states(lam, u_tr)).reshape(-1, C.real_features(lam).size)
            f_te = C.real_features(C.all_states(lam, u_te)).reshape(-1, f_tr.shape[1])
            f_tr, f_te = standardize(f_tr, f_te)
            per_seed.append((f_tr.astype(np.float32), f_te.astype(np.float32)))
        feats[e, n] = per_seed
        results["linear"][f"{e} | N={n}"] = [
            _linear_rel_mse(f_tr, d[2].reshape(-1, 1), f_te, d[3].reshape(-1, 1))
            for (f_tr, f_te), d in zip(per_seed, data)]
    for e, n, D in progress(runs, desc="pendulum MLPs"):
        x_tr, x_te = np.stack([f[0] for f in feats[e, n]]), np.stack([f[1] for f in feats[e, n]])
        y_tr = np.stack([d[2].reshape(-1, 1) for d in data]).astype(np.float32)
        y_te = np.stack([d[3].reshape(-1, 1) for d in data]).astype(np.float32)
        rel = fit_mlp_regression(D, x_tr, y_tr, x_te, y_te, seeds=ctx.seeds, steps=cfg.ode_steps,
                                 batch_size=cfg.univ_batch, lr=cfg.univ_lr, desc=f"pendulum {e} N={n} D={D}")
        results["mlp"][f"{e} | N={n} | D={D}"] = rel.tolist()
    return results


def run(ctx: Context) -> RunRecord:
    cfg = ctx.cfg
    rec = ctx.record("universality", notes=(
        f"Data (generated from the seed): (a) i.i.d. N(0,1) inputs, L = {cfg.univ_length}, {cfg.univ_train} train / "
        f"{cfg.univ_test} test sequences, target y = u_L u_(L-4) + sin(2 u_(L-9)); (b) {cfg.ode_train_seqs} train / "
        f"{cfg.ode_test_seqs} test forcings (4 random sinusoids up to 1 rad/time, amplitude {cfg.ode_forcing}) of a "
        f"damped pendulum, L = {cfg.ode_length} steps of dt = {cfg.ode_dt}. Frozen encoders, B = 1, standardized "
        f"features; MLP = 2 hidden ReLU layers, Adam lr {cfg.univ_lr} with cosine decay, batch {cfg.univ_batch}, "
        f"{cfg.univ_steps} / {cfg.ode_steps} steps. Relative MSE = test MSE / Var(target). Medians over seeds. The "
        "paper's exact targets and figures could not be verified; these targets follow the issue."))
    a = static_map(ctx)
    b = ode_map(ctx)
    rec.metrics["static_map"], rec.metrics["ode_map"] = a, b
    med_a = {k: median(v) for k, v in a["mlp"].items()}
    lin_a = {k: median(v) for k, v in a["linear"].items()}
    N0, D0 = cfg.univ_state, cfg.univ_width

    rec.add_table(f"(a) y = u_L u_(L-4) + sin(2 u_(L-9)): relative test MSE, N = {N0}, D = {D0}",
                  ["encoder", "state", "linear readout", f"MLP D={D0}"],
                  [[e, "window of 32 inputs" if e.startswith("window") else
                    (f"{N0} complex" if C.family(e).is_complex else f"{2 * N0} real"),
                    lin_a[f"{e} | N={N0}"], med_a[f"{e} | N={N0} | D={D0}"]] for e in ENCODERS])
    widths = sorted(set(cfg.univ_widths) | {D0})
    states = sorted(set(cfg.univ_states) | {N0})
    rec.add_table(f"(a) MLP width and state size, encoder {COMPLEX}", ["sweep", "value", "relative test MSE"],
                  [[f"width D (N = {N0})", D, med_a[f"{COMPLEX} | N={N0} | D={D}"]] for D in widths]
                  + [[f"state N (D = {D0})", n, med_a[f"{COMPLEX} | N={n} | D={D0}"]] for n in states])
    med_b = {k: median(v) for k, v in b["mlp"].items()}
    lin_b = {k: median(v) for k, v in b["linear"].items()}
    n_max, d_max = max(cfg.ode_states), max(cfg.ode_widths)
    rows = [[e, n, lin_b[f"{e} | N={n}"], *[med_b.get(f"{e} | N={n} | D={D}") for D in cfg.ode_widths]]
            for e, n in [(ODE_COMPLEX, n) for n in cfg.ode_states] + [(ODE_REAL, n_max)]]
    rec.add_table("(b) forced pendulum theta_t from x_t: relative test MSE",
                  ["encoder", "N (real: 2N units)", "linear readout", *[f"MLP D={D}" for D in cfg.ode_widths]], rows,
                  caption=f"max |theta| in the training data: {b['theta_abs_max']:.2f} rad.")

    fig, axes = new_figure(ncols=2)
    ax = axes[0, 0]
    ax.loglog(widths, [med_a[f"{COMPLEX} | N={N0} | D={D}"] for D in widths], marker="o", label=f"{COMPLEX}, N={N0}")
    for e in ENCODERS[1:]:
        ax.scatter([D0], [med_a[f"{e} | N={N0} | D={D0}"]], label=e, marker="x")
    ax.set_xlabel("MLP width D")
    ax.set_ylabel("relative test MSE")
    ax.set_title("(a) error vs MLP width", fontsize=9)
    ax.legend(fontsize=7)
    ax = axes[0, 1]
    for n in cfg.ode_states:
        ax.loglog(cfg.ode_widths, [med_b[f"{ODE_COMPLEX} | N={n} | D={D}"] for D in cfg.ode_widths], marker="o",
                  label=f"{ODE_COMPLEX}, N={n}")
    ax.loglog(cfg.ode_widths, [med_b[f"{ODE_REAL} | N={n_max} | D={D}"] for D in cfg.ode_widths], marker="s",
              label=f"{ODE_REAL}, {2 * n_max} units")
    ax.axhline(lin_b[f"{ODE_COMPLEX} | N={n_max}"], color="k", ls="--", lw=0.8,
               label=f"linear readout, {ODE_COMPLEX} N={n_max}")
    ax.set_xlabel("MLP width D")
    ax.set_title("(b) forced pendulum", fontsize=9)
    ax.legend(fontsize=7)
    for a, ticks in ((axes[0, 0], widths), (ax, list(cfg.ode_widths))):
        a.set_xticks(ticks, [str(t) for t in ticks])
        a.xaxis.set_minor_formatter(NullFormatter())
    save_figure(fig, ctx.out_dir / "universality_width.png")
    rec.plots.append("universality_width.png")

    # --- claims (README, experiment 4)
    rec.add_claim(claims.all_of([
        claims.threshold(lin_a[f"{e} | N={N0}"], 0.9, id=f"4a.{e}", statement="", name=f"linear {e}", at_most=False)
        for e in ENCODERS], id="4a", statement="A linear readout cannot represent the nonlinear target (relative MSE "
                                               ">= 0.9 for every encoder)."))
    rec.add_claim(claims.all_of([
        claims.threshold(med_a[f"{COMPLEX} | N={N0} | D={D0}"], 0.05, id="4b.complex", statement="",
                         name=f"MLP on {COMPLEX} N={N0}"),
        claims.threshold(med_a[f"real U[0,1] | N={N0} | D={D0}"], 0.5, id="4b.real", statement="",
                         name=f"MLP on real U[0,1] {2 * N0} units", at_most=False),
    ], id="4b", statement="Linear recurrence + MLP approximates the map with complex eigenvalues near the circle; "
                          "real eigenvalues at equal state memory do not."))
    parts = [claims.threshold(med_a[f"{COMPLEX} | N={N0} | D={D2}"] / med_a[f"{COMPLEX} | N={N0} | D={D1}"], 1.2,
                              id=f"4c.D{D1}->{D2}", statement="", name=f"err(D={D2}) / err(D={D1})")
             for D1, D2 in zip(widths, widths[1:])]
    parts.append(claims.threshold(med_a[f"{COMPLEX} | N={N0} | D={widths[0]}"]
                                  / med_a[f"{COMPLEX} | N={N0} | D={widths[-1]}"], 2.0, id="4c.overall",
                                  statement="", name=f"err(D={widths[0]}) / err(D={widths[-1]})", at_most=False))
    parts += [claims.threshold(med_a[f"{COMPLEX} | N={n2} | D={D0}"] / med_a[f"{COMPLEX} | N={n1} | D={D0}"], 1.2,
                               id=f"4c.N{n1}->{n2}", statement="", name=f"err(N={n2}) / err(N={n1})")
              for n1, n2 in zip(states, states[1:])]
    parts.append(claims.threshold(med_a[f"{COMPLEX} | N={states[0]} | D={D0}"]
                                  / med_a[f"{COMPLEX} | N={states[-1]} | D={D0}"], 2.0, id="4c.N-overall",
                                  statement="", name=f"err(N={states[0]}) / err(N={states[-1]})", at_most=False))
    rec.add_claim(claims.all_of(parts, id="4c", statement=(
        "The error falls with MLP width and with state size (each step non-increasing within 20%, "
        "first / last >= 2).")))
    k_c, k_r = f"{ODE_COMPLEX} | N={n_max}", f"{ODE_REAL} | N={n_max}"
    rec.add_claim(claims.all_of([
        claims.threshold(lin_b[k_c] / med_b[f"{k_c} | D={d_max}"], 2.0, id="4d.mlp-vs-linear", statement="",
                         name=f"linear / MLP (D={d_max}) error, {ODE_COMPLEX} N={n_max}", at_most=False),
        claims.margin(med_b[f"{k_c} | D={d_max}"], med_b[f"{k_r} | D={d_max}"], 0.0, id="4d.complex-vs-real",
                      statement="", names=(f"{ODE_COMPLEX} N={n_max}", f"{ODE_REAL} {2 * n_max} units"),
                      higher_is_better=False),
        claims.margin(med_b[f"{ODE_COMPLEX} | N={n_max} | D={d_max}"],
                      med_b[f"{ODE_COMPLEX} | N={min(cfg.ode_states)} | D={min(cfg.ode_widths)}"], 0.0,
                      id="4d.scaling", statement="", names=(f"N={n_max} D={d_max}",
                                                             f"N={min(cfg.ode_states)} D={min(cfg.ode_widths)}"),
                      higher_is_better=False),
    ], id="4d", statement=("ODE-driven map (forced pendulum, exploratory): recurrence + MLP is >= 2x better than the "
                           "linear readout, complex beats real at equal memory, and a bigger N and D help.")))
    return rec
