"""E3, paper Fig. 6 (PTB LSTM): word-level language modelling; best validation perplexity and curves.

Offline substitute for PTB: the Python documentation topics that ship with CPython (``pydoc_data.topics``), a
word-level corpus of ~123k tokens (85/15 contiguous split). One-layer LSTM without dropout, truncated BPTT 35,
gradient clipping 0.25 (McRae et al.'s PTB defaults). Each optimizer runs on its own lr grid (``lm_lrs``) and is
compared at its best lr (lowest mean best-validation perplexity over seeds).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from memory_adam.configs import Config
from memory_adam.data import load_corpus
from memory_adam.experiments.common import fmt_mean_ci, new_record, not_worse_within_ci, optimizer_settings
from memory_adam.train import LMSettings, train_language_model
from repro_shared.claims import Claim, Verdict
from repro_shared.plots import new_figure, save_figure

NAME = "e3_language_model"
FIELDS = ("lm_max_tokens", "lm_emb", "lm_hidden", "lm_batch_size", "lm_epochs", "lm_seeds", "lm_lrs", "buffer_size",
          "decay", "rho")
RISE = 1.05  # Fig. 6 shape: CM's last-epoch perplexity at least 5% above its minimum


def best_lr(runs: dict, optimizer: str) -> float:
    lrs = sorted(lr for (o, lr) in runs if o == optimizer)
    return min(lrs, key=lambda lr: (np.mean([r["best_val_ppl"] for r in runs[(optimizer, lr)]]), lr))


def curve_claim(runs: dict, adam_lr: float) -> Claim:
    statement = ("At equal lr, CM's validation perplexity bottoms out no later than Adam's and then rises "
                 "(Fig. 6: 'initially drops very fast but gradually increases')")
    criterion = (f"at Adam's best lr: mean best epoch CM ≤ Adam AND CM's last-epoch ppl ≥ {RISE:g} × its best "
                 "(mean over seeds); INCONCLUSIVE if CM was not run at that lr")
    if ("Adam+CM", adam_lr) not in runs:
        return Claim("E3-curve-shape", statement, criterion, {"lr": adam_lr}, Verdict.INCONCLUSIVE)
    cm, adam = runs[("Adam+CM", adam_lr)], runs[("Adam", adam_lr)]
    cm_epoch = float(np.mean([r["best_epoch"] for r in cm]))
    adam_epoch = float(np.mean([r["best_epoch"] for r in adam]))
    rise = float(np.mean([r["val_ppl"][-1] / r["best_val_ppl"] for r in cm]))
    ok = cm_epoch <= adam_epoch and rise >= RISE
    return Claim("E3-curve-shape", statement, criterion,
                 {"lr": adam_lr, "best_epoch_CM": cm_epoch, "best_epoch_Adam": adam_epoch, "CM_last/best": rise},
                 Verdict.REPRODUCED if ok else Verdict.NOT_REPRODUCED)


def plot(runs: dict, out: Path) -> str:
    fig, axes = new_figure(1, 1, width=6.0, height=4.0)
    ax = axes[0][0]
    for (opt, lr), rs in sorted(runs.items()):
        curve = np.mean([r["val_ppl"] for r in rs], axis=0)
        ax.plot(np.arange(1, len(curve) + 1), curve, "o-" if "CM" in opt else "s--", ms=3, label=f"{opt} lr {lr:g}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation perplexity (mean over seeds)")
    ax.set_yscale("log")
    ax.legend(fontsize=7)
    name = f"{NAME}.png"
    save_figure(fig, out / name)
    return name


def run(cfg: Config, scale: str, out: Path):
    rec = new_record(NAME, scale, cfg, cfg.lm_seeds, FIELDS)
    corpus = load_corpus(max_tokens=cfg.lm_max_tokens)
    lm = LMSettings(emb=cfg.lm_emb, hidden=cfg.lm_hidden, epochs=cfg.lm_epochs, batch_size=cfg.lm_batch_size)
    settings = optimizer_settings(cfg)
    jobs = [(opt, lr, seed) for opt, lrs in cfg.lm_lrs for lr in lrs for seed in cfg.lm_seeds]
    runs: dict = {}
    for k, (opt, lr, seed) in enumerate(jobs, 1):
        r = train_language_model(corpus, opt, lr, seed, lm, settings, device=cfg.device,
                                 desc=f"E3 [{k}/{len(jobs)}] {opt} lr={lr:g} seed={seed}")
        runs.setdefault((opt, lr), []).append(r)
    rec.metrics["corpus"] = corpus.describe()
    rec.metrics["runs"] = [r for rs in runs.values() for r in rs]
    best = {opt: best_lr(runs, opt) for opt, _ in cfg.lm_lrs}
    rec.metrics["best_lr"] = best
    rows = []
    for (opt, lr), rs in runs.items():
        rows.append([opt + (" ★" if best[opt] == lr else ""), f"{lr:g}", fmt_mean_ci([r["best_val_ppl"] for r in rs]),
                     f"{np.mean([r['best_epoch'] for r in rs]):.1f}", fmt_mean_ci([r["val_ppl"][-1] for r in rs]),
                     f"{np.mean([r['seconds'] for r in rs]):.0f}"])
    rec.add_table("best validation perplexity (mean ± 95% CI over seeds)",
                  ["optimizer (★ best lr)", "lr", "best val ppl", "best epoch", "last-epoch val ppl", "s / run"], rows,
                  caption="Data differ from the paper: pydoc_data.topics word-level corpus "
                          f"({corpus.describe()['train_tokens']} train / {corpus.describe()['valid_tokens']} valid "
                          f"tokens, vocab {corpus.vocab_size}) instead of PTB; LSTM {cfg.lm_emb}/{cfg.lm_hidden}, "
                          f"{cfg.lm_epochs} epochs. The paper's PTB perplexities were not retrievable.")

    def at_best(opt: str) -> list[float]:
        return [r["best_val_ppl"] for r in runs[(opt, best[opt])]]

    pairs = [("E3-cm-vs-adam", "Adam+CM", "Adam", "Adam+CM reaches a validation perplexity at least as good as Adam's"),
             ("E3-cm-vs-cg", "Adam+CM", "Adam+CG", "Adam+CM is at least as good as Adam+CG (no gradient cancellation)"),
             ("E3-sam-cm-vs-sam", "Adam+SAM+CM", "Adam+SAM", "CM is complementary to SAM: Adam+SAM+CM ≤ Adam+SAM")]
    for cid, a, b, statement in pairs:
        if a in best and b in best:
            rec.add_claim(not_worse_within_ci(at_best(a), at_best(b), id=cid, statement=statement + " (each at its "
                                              "best lr; best-epoch val ppl)", names=(a, b), higher_is_better=False))
    rec.add_claim(curve_claim(runs, best["Adam"]))
    rec.plots.append(plot(runs, out))
    rec.notes = ("Data differ from the paper (PTB is not shipped offline): a word-level corpus built from CPython's "
                 f"pydoc_data.topics, sha256 {corpus.sha256[:16]}… (Python {corpus.describe()['python']}).")
    return rec
