"""E6 (beyond the synthetic tasks; the paper's Pile experiment, Figs. 26/27, as a CPU-sized substitute).

Character-level language models of equal size on Python's own documentation text (``pydoc_data.topics``), with
every attention layer of one kind: linear attention, mesa-layer (both with L2-normalised queries and keys, as in
the paper's language models) or softmax attention. Pre-LN blocks with MLPs, learned positions, context
``e6_context``. We compare the held-out loss (nats per character) and an in-context-learning score (the loss late in
the context minus the loss early in it; more negative = more use of the context).
"""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from mesa_optimization import text as text_lib
from mesa_optimization import training as tr
from mesa_optimization import zoo
from mesa_optimization.configs import Config
from mesa_optimization.experiments import common
from repro_shared import claims as C
from repro_shared.plots import new_figure, save_figure
from repro_shared.results import RunRecord

NAME = "e6_charlm"
KINDS = ("linear", "mesa", "softmax")


def run(cfg: Config, scale: str, out_dir: Path) -> RunRecord:
    corpus = text_lib.load_corpus()
    rec = RunRecord(paper=common.PAPER, experiment=NAME, scale=scale, config=common.config_dict(cfg, "e6_"),
                    seeds=list(cfg.seeds))
    train_ids = jnp.asarray(corpus.train)
    task = lambda key: text_lib.random_windows(train_ids, key, cfg.e6_batch, cfg.e6_context)
    xe, ye = text_lib.fixed_windows(corpus.heldout, cfg.e6_eval_batches * cfg.e6_batch, cfg.e6_context)
    tc = tr.TrainConfig(steps=cfg.e6_steps, batch=cfg.e6_batch, lr=cfg.e6_lr, warmup=min(200, cfg.e6_steps // 5),
                        grad_clip="global", b2=0.95, weight_decay=0.05)
    per_pos, loss, n_params, curves = {}, {}, {}, {}
    for kind in KINDS:
        model = zoo.char_lm(kind, vocab_size=corpus.vocab_size, context=cfg.e6_context, width=cfg.e6_width,
                            heads=cfg.e6_heads, key_size=cfg.e6_key, layers=cfg.e6_layers)
        res = tr.train(model, task, tc, cfg.seeds, loss_fn=tr.cross_entropy_loss, desc=f"char-LM {kind}")

        def eval_one(p, model=model):
            def chunk(xy):
                logits = model.apply({"params": p}, xy[0])
                return jax.vmap(jax.vmap(lambda lg, t: -jax.nn.log_softmax(lg)[t]))(logits, xy[1])

            xb = jnp.asarray(xe).reshape(cfg.e6_eval_batches, cfg.e6_batch, -1)
            yb = jnp.asarray(ye).reshape(cfg.e6_eval_batches, cfg.e6_batch, -1)
            return jax.lax.map(chunk, (xb, yb)).mean(axis=(0, 1))  # (context,)

        per_pos[kind] = np.asarray(jax.jit(jax.vmap(eval_one))(res.params))  # (seeds, context)
        loss[kind] = per_pos[kind].mean(axis=1)
        n_params[kind] = int(sum(np.prod(a.shape[1:]) for a in jax.tree_util.tree_leaves(res.params)))
        curves[kind] = np.asarray(res.loss_curve).mean(axis=0).tolist()
    ctx = cfg.e6_context
    early, late = (5, 15), (int(0.8 * ctx), ctx)
    icl = {k: (per_pos[k][:, late[0] - 1: late[1]].mean(axis=1) - per_pos[k][:, early[0] - 1: early[1]].mean(axis=1))
           for k in KINDS}
    mean = {k: float(v.mean()) for k, v in loss.items()}
    rec.metrics.update(heldout_loss=mean, heldout_loss_per_seed={k: v.tolist() for k, v in loss.items()},
                       icl_score={k: v.tolist() for k, v in icl.items()}, parameters=n_params,
                       per_position={k: v.mean(0).tolist() for k, v in per_pos.items()}, train_curves=curves,
                       corpus={"source": corpus.source, "sha256": corpus.sha256, "python": corpus.python_version,
                               "characters": int(len(corpus.train) + len(corpus.heldout)),
                               "vocab_size": corpus.vocab_size, "heldout_characters": int(len(corpus.heldout))})
    rec.add_claim(C.margin(mean["mesa"], mean["linear"], 0.01, higher_is_better=False, names=("mesa", "linear"),
                           id="E6a", statement="The mesa-layer beats linear attention in language modelling "
                                               "(Figs. 26/27; held-out nats/char)"))
    rec.add_claim(C.threshold(mean["mesa"], 0.5 * (mean["linear"] + mean["softmax"]), id="E6b",
                              name="L(mesa) vs midpoint of L(linear) and L(softmax)",
                              statement="... and closes at least half of the gap to softmax attention"))
    icl_mean = {k: float(v.mean()) for k, v in icl.items()}
    rec.add_claim(C.ordering({"mesa": icl_mean["mesa"], "linear": icl_mean["linear"]}, ["mesa", "linear"],
                             higher_is_better=False, id="E6c",
                             statement=f"The mesa-layer uses the context more than linear attention (ICL score: loss "
                                       f"at t={late[0]}..{late[1]} minus loss at t={early[0]}..{early[1]})"))
    rec.add_table("Character-level LM on Python's pydoc topics (held-out)",
                  ["attention", "parameters", "held-out nats/char", "std over seeds", "ICL score"],
                  [[k, n_params[k], mean[k], float(loss[k].std()) if len(cfg.seeds) > 1 else None, icl_mean[k]]
                   for k in KINDS],
                  caption=f"Data differs from the paper (The Pile, GPT-2 tokens, context 1024, 12 heads): here "
                          f"{len(corpus.train) + len(corpus.heldout)} characters of {corpus.source} from Python "
                          f"{corpus.python_version} (sha256 {corpus.sha256[:16]}...), last 10% held out, context "
                          f"{ctx}, {cfg.e6_layers} layers of width {cfg.e6_width}, {cfg.e6_steps} steps of batch "
                          f"{cfg.e6_batch}. Paper: Figs. 26/27 (figures only: mesa < linear, approaching softmax).")
    _plot(per_pos, out_dir / f"{NAME}.png")
    rec.plots.append(f"{NAME}.png")
    return rec


def _plot(per_pos: dict[str, np.ndarray], path: Path) -> None:
    fig, axes = new_figure(1, width=5.5)
    ax = axes[0][0]
    for k, v in per_pos.items():
        ax.plot(np.arange(1, v.shape[1] + 1), v.mean(axis=0), label=k)
    ax.set_xscale("log")
    ax.set_xlabel("position in context")
    ax.set_ylabel("held-out loss (nats/char)")
    ax.set_title("Char-LM loss over the context")
    ax.legend()
    save_figure(fig, path)
