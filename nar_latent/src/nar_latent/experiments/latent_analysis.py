"""Experiment 2: the latent space of Bellman-Ford reasoners (Mirjanić et al. 2023, Sec. 3, Figs. 2-5).

On the first seed's four Bellman-Ford models of experiment 1 (trained here when not cached):

* PCA of graph-embedding trajectories, trajectory-wise and step-wise (Fig. 2);
* symmetry probes: copies of a graph with weights scaled by c in [0.5, 1], Johnson-reweighted
  copies (cluster per base graph), node-relabelled copies (a tight blob);
* loss of resolution: pointer errors against the gap between the best and second-best candidate
  distance (Fig. 5), baseline vs softmax;
* out-of-range values: accuracy when all weights are multiplied by c, baseline vs decay;
* the attractor: accuracy when the output is read k steps before / after the true end (Fig. 3).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import jax
import numpy as np

from nar_latent import checkpoints, data, latent, model, paper_numbers, train
from nar_latent.configs import Config
from nar_latent.experiments import ood_scores
from repro_shared.claims import Claim, Verdict, all_of, margin, ordering, threshold
from repro_shared.plots import new_figure, save_figure
from repro_shared.results import RunRecord

NAME = "latent_analysis"
ALGORITHM = "bellman_ford"


@dataclasses.dataclass
class Models:
    params: dict[str, Any]  # variant -> params
    task: data.Task
    config: model.ModelConfig
    variants: list[str]

    def variant(self, name: str, *, eval_softmax: bool = False) -> model.Variant:
        return model.Variant(decay=train.VARIANTS[name][1], softmax=eval_softmax)


def load_models(config: Config, seeds: list[int]) -> Models:
    """Experiment 1's Bellman-Ford models of the first seed (best validation, max evaluation)."""
    path = ood_scores.checkpoint_path(config, ALGORITHM)
    if not path.exists():
        tc = config.train_config(ALGORITHM)
        result = train.Trainer(tc, seeds[:1], list(config.variants)).run(desc=f"{ALGORITHM} (for the analysis)")
        first = {m: {k: np.asarray(v)[0] for k, v in d.items()} for m, d in result.best_params["max"].items()}
        meta = {"variants": list(config.variants), "seed": seeds[0], "train": train.describe(tc)}
        checkpoints.save(path, first, meta)
    stacked, meta = checkpoints.load(path)
    example = data.generate(ALGORITHM, num_samples=1, length=4, seed=0)
    task = data.make_task(ALGORITHM, example)
    params = {v: jax.tree_util.tree_map(lambda x, i=i: x[i], stacked) for i, v in enumerate(meta["variants"])}
    return Models(params, task, config.train_config(ALGORITHM).model, meta["variants"])


def _accuracy(outputs: dict[str, np.ndarray], feedback) -> np.ndarray:
    """Per-graph pointer accuracy of ``pi`` (dm-clrs's score for Bellman-Ford, per graph)."""
    truth = np.asarray(feedback.outputs[0].data)
    return np.mean(np.argmax(outputs["pi"], -1) == truth, axis=-1)


def _embed(models: Models, name: str, feedback):
    return latent.graph_embeddings(models.params[name], models.task, feedback, models.config, models.variant(name))


# --------------------------------------------------------------------------- analyses

def pca_trajectories(models: Models, config: Config, ax_steps, ax_traj) -> dict[str, Any]:
    fb = data.generate(ALGORITHM, num_samples=config.latent_graphs, length=config.latent_nodes, seed=101,
                       **data.train_sampler_kwargs(ALGORITHM))
    embs, steps, _ = _embed(models, "baseline", fb)
    values, counts = np.unique(steps, return_counts=True)
    length = int(values[np.argmax(counts)])
    traj = latent.trajectory_matrix(embs, steps, length)
    stepwise = latent.stepwise_matrix(embs, steps)
    evr_traj, evr_step = latent.top_evr(traj), latent.top_evr(stepwise)
    evr, _ = latent.pca(stepwise, 2)
    mean = stepwise.mean(0)
    basis = np.linalg.svd(stepwise - mean, full_matrices=False)[2][:2]
    for b in range(min(24, embs.shape[1])):
        path = (embs[: steps[b], b] - mean) @ basis.T
        ax_traj.plot(path[:, 0], path[:, 1], "-", lw=0.8, alpha=0.6)
        ax_traj.plot(path[-1, 0], path[-1, 1], "k.", ms=3)
    ax_traj.set_title("24 trajectories in the step-wise PC plane (dot: last step)", fontsize=8)
    per_step = [(embs[t, steps > t] - mean) @ basis.T for t in range(int(steps.max()))]
    for t, pts in enumerate(per_step):
        ax_steps.scatter(pts[:, 0], pts[:, 1], s=3, label=f"t={t + 1}" if t < 10 else None, alpha=0.5)
    ax_steps.legend(fontsize=6, markerscale=3, ncol=2)
    ax_steps.set_title(f"step-wise top-3 EVR {evr_step:.1%} (paper {paper_numbers.PCA_TOP3_EVR['step_wise']:.1%})\n"
                       f"trajectory-wise (T={length}) {evr_traj:.1%} (paper "
                       f"{paper_numbers.PCA_TOP3_EVR['trajectory_wise']:.1%})", fontsize=8)
    for ax in (ax_steps, ax_traj):
        ax.set_xlabel(f"PC1 ({evr[0]:.0%})")
        ax.set_ylabel(f"PC2 ({evr[1]:.0%})")
    return {"graphs": int(embs.shape[1]), "trajectory_length": length, "graphs_of_that_length": int(len(traj)),
            "evr_top3_trajectory_wise": evr_traj, "evr_top3_step_wise": evr_step,
            "global_final_std": float(np.sqrt(latent.final_embeddings(embs, steps).var(0).sum())),
            "embeddings_final": latent.final_embeddings(embs, steps)}


def scaling_probe(models: Models, config: Config, ax) -> dict[str, Any]:
    graphs, sources = latent.random_graphs(config.latent_bases, config.latent_nodes, seed=202,
                                           **data.train_sampler_kwargs(ALGORITHM))
    factors = np.linspace(0.5, 1.0, config.latent_copies)
    pc1 = []
    for b, (g, s) in enumerate(zip(graphs, sources)):
        fb = latent.bellman_ford_feedback(latent.scale_weights(g, factors), np.full(len(factors), s))
        embs, steps, _ = _embed(models, "baseline", fb)
        length = int(np.bincount(steps).argmax())
        traj = latent.trajectory_matrix(embs, steps, length)
        evr, proj = latent.pca(traj, 2)
        pc1.append(float(evr[0]))
        if b < 4:
            ax.scatter(proj[:, 0], proj[:, 1], c=factors[steps == length], s=6, cmap="viridis")
    ax.set_title(f"scaled copies (c in [0.5, 1]), PC1 EVR median {np.median(pc1):.1%}", fontsize=8)
    return {"pc1_evr_per_base": pc1, "pc1_evr_median": float(np.median(pc1))}


def johnson_probe(models: Models, config: Config, ax, seed: int = 303, delta: float = 0.25) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    graphs, sources = latent.random_graphs(config.latent_bases, config.latent_nodes, seed=seed,
                                           **data.train_sampler_kwargs(ALGORITHM))
    finals, labels, unchanged = [], [], []
    for b, (g, s) in enumerate(zip(graphs, sources)):
        base = np.where(g != 0, rng.uniform(0.5 - delta, 0.5 + delta, g.shape), 0.0)
        base = np.triu(base, 1) + np.triu(base, 1).T  # symmetric, like the training graphs
        pots = rng.uniform(0.0, 0.5 - delta, (config.latent_copies, g.shape[0]))
        fb = latent.bellman_ford_feedback(latent.johnson_reweight(base, pots), np.full(len(pots), s))
        embs, steps, _ = _embed(models, "baseline", fb)
        finals.append(latent.final_embeddings(embs, steps))
        labels += [b] * len(pots)
        truth = np.asarray(fb.outputs[0].data)
        unchanged.append(bool(np.all(truth == truth[0])))
    x, labels = np.concatenate(finals), np.asarray(labels)
    ari = latent.adjusted_rand_index(latent.kmeans(x, config.latent_bases), labels)
    ratio = latent.between_within_ratio(x, labels)
    _, proj = latent.pca(x, 2)
    ax.scatter(proj[:, 0], proj[:, 1], c=labels, s=4, cmap="tab20")
    ax.set_title(f"Johnson reweightings: ARI {ari:.2f}, between/within {ratio:.1f}", fontsize=8)
    return {"ari": ari, "between_within": ratio, "outputs_unchanged_per_base": unchanged}


def permutation_probe(models: Models, config: Config, global_std: float, ax, seed: int = 404) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    graphs, sources = latent.random_graphs(config.latent_bases, config.latent_nodes, seed=seed,
                                           **data.train_sampler_kwargs(ALGORITHM))
    ratios = []
    for g, s in zip(graphs, sources):
        perms = [rng.permutation(g.shape[0]) for _ in range(config.latent_copies)]
        pairs = [latent.permute_nodes(g, s, p) for p in perms]
        fb = latent.bellman_ford_feedback(np.stack([p[0] for p in pairs]), np.asarray([p[1] for p in pairs]))
        embs, steps, _ = _embed(models, "baseline", fb)
        f = latent.final_embeddings(embs, steps)
        ratios.append(float(np.sqrt(f.var(0).sum()) / global_std))
    ax.bar(np.arange(len(ratios)), ratios)
    ax.axhline(0.1, color="k", ls="--", lw=0.8)
    ax.set_title("node relabellings: spread / global spread", fontsize=8)
    ax.set_xlabel("base graph")
    return {"spread_ratio_per_base": ratios, "spread_ratio_median": float(np.median(ratios))}


def out_of_range(models: Models, config: Config, ax) -> dict[str, Any]:
    graphs, sources = latent.random_graphs(config.resolution_graphs, config.latent_nodes, seed=505,
                                           **data.train_sampler_kwargs(ALGORITHM))
    acc = {v: [] for v in models.variants}
    for c in config.scales:
        fb = latent.bellman_ford_feedback(graphs * c, sources)
        for v in models.variants:
            _, _, outs = _embed(models, v, fb)
            acc[v].append(float(_accuracy(outs, fb).mean()))
    for v in models.variants:
        ax.plot(config.scales, acc[v], "o-", label=v)
    ax.set_xscale("log", base=2)
    ax.axvline(1.0, color="k", lw=0.5)
    ax.set_xlabel("edge weights x c (training range: c <= 1)")
    ax.set_ylabel("pointer accuracy")
    ax.legend(fontsize=7)
    ax.set_title("out-of-range weights", fontsize=8)
    return {"scales": list(config.scales), "accuracy": acc}


def loss_of_resolution(models: Models, config: Config, ax, bins: int = 5) -> dict[str, Any]:
    graphs, sources = latent.random_graphs(config.resolution_graphs, config.latent_nodes, seed=606,
                                           **data.train_sampler_kwargs(ALGORITHM))
    fb = latent.bellman_ford_feedback(graphs, sources)
    truth = np.asarray(fb.outputs[0].data).astype(int)
    gaps = np.stack([latent.candidate_gaps(g, s)[1] for g, s in zip(graphs, sources)])
    finite = np.isfinite(gaps)
    edges = np.quantile(gaps[finite], np.linspace(0, 1, bins + 1))
    which = np.clip(np.searchsorted(edges, gaps, side="right") - 1, 0, bins - 1)
    out = {"gap_quantile_edges": edges.tolist(), "nodes_with_two_or_more_candidates": int(finite.sum())}
    for v in ("baseline", "softmax"):
        if v not in models.variants:
            continue
        _, _, outs = _embed(models, v, fb)
        wrong = np.argmax(outs["pi"], -1) != truth
        rates = [float(wrong[finite & (which == k)].mean()) for k in range(bins)]
        single = np.isinf(gaps)
        out[v] = {"error_by_gap_quantile": rates, "error_single_candidate": float(wrong[single].mean())
                  if single.any() else None, "error_overall": float(wrong[~np.isnan(gaps)].mean())}
        ax.plot(np.arange(1, bins + 1), rates, "o-", label=v)
    ax.set_xlabel("quantile of best - second-best candidate distance (1 = smallest)")
    ax.set_ylabel("pointer error rate")
    ax.legend(fontsize=7)
    ax.set_title("loss of resolution", fontsize=8)
    return out


def attractor(models: Models, config: Config, ax) -> dict[str, Any]:
    fb = data.generate(ALGORITHM, num_samples=config.resolution_graphs, length=config.latent_nodes, seed=707,
                       **data.train_sampler_kwargs(ALGORITHM))
    offsets = list(config.offsets)
    lengths = np.asarray(fb.features.lengths, int)
    acc = {v: [] for v in models.variants}
    extra = max(0, max(offsets))
    fn = train.make_predict(models.task, models.config, extra_steps=extra)
    for k in offsets:
        out_step = np.maximum(lengths - 2 + k, 0)
        for v in models.variants:
            params = {m: {n: x[None] for n, x in d.items()} for m, d in models.params[v].items()}
            var = models.variant(v)
            preds = fn(params, fb.features, np.asarray([var.decay], np.float32), np.asarray([False]), out_step)
            acc[v].append(float(_accuracy({"pi": np.asarray(preds.outputs["pi"])[0]}, fb).mean()))
    for v in models.variants:
        ax.plot(offsets, acc[v], "o-", label=v)
    ax.plot(list(paper_numbers.ATTRACTOR_OFFSETS), list(paper_numbers.ATTRACTOR_OFFSETS.values()), "k--",
            lw=0.8, label="paper (n=64)")
    ax.set_xlabel("steps after the true end (output read at length - 1 + k)")
    ax.set_ylabel("pointer accuracy")
    ax.legend(fontsize=7)
    ax.set_title("attractor: extra vs fewer steps", fontsize=8)
    return {"offsets": offsets, "accuracy": acc}


# --------------------------------------------------------------------------- claims and the run

def claims(m: dict[str, Any]) -> list[Claim]:
    out = [
        ordering({"step_wise": m["pca"]["evr_top3_step_wise"], "trajectory_wise": m["pca"]["evr_top3_trajectory_wise"]},
                 ["step_wise", "trajectory_wise"], id="2.1",
                 statement="Trajectories are low-dimensional, most of all step-wise: the top-3 PCA explained "
                           "variance of step-wise embeddings exceeds the trajectory-wise one (paper 95.5% > 62.6%)"),
        threshold(m["scaling"]["pc1_evr_median"], 0.95, at_most=False, id="2.2", name="median PC1 EVR",
                  statement="Scaling a graph's weights by c in [0.5, 1] moves its trajectory along one direction "
                            "(paper: top-3 EVR 99.8%, a 1-D curve)"),
        all_of([threshold(m["johnson"]["between_within"], 10.0, at_most=False, id="2.3a", name="between/within",
                          statement=""),
                threshold(m["johnson"]["ari"], 0.9, at_most=False, id="2.3b", name="k-means ARI", statement="")],
               id="2.3", statement="Johnson-reweighted copies cluster by base graph (paper: one cluster per base)"),
        threshold(m["permutation"]["spread_ratio_median"], 0.1, id="2.4", name="median spread ratio",
                  statement="Relabelling the nodes of a graph barely moves its embedding (paper: a blob of about "
                            "+-0.2 in a cloud of +-5; our `pos` input is index-based, as in the paper)"),
    ]
    acc = m["out_of_range"]["accuracy"]
    scales = m["out_of_range"]["scales"]
    one, top = scales.index(1.0), len(scales) - 1
    drops = {v: acc[v][one] - acc[v][top] for v in acc}
    out.append(margin(100 * acc["baseline"][one], 100 * acc["baseline"][top], 5.0, id="2.5a",
                      names=("acc(c=1)", f"acc(c={scales[top]:g})"),
                      statement="Out-of-range values: weights beyond the training range hurt the baseline "
                                "(hypothesis of Sec. 3.2; no paper number)"))
    if "decay" in drops:
        out.append(ordering({"baseline_drop": drops["baseline"], "decay_drop": drops["decay"]},
                            ["baseline_drop", "decay_drop"], id="2.5b",
                            statement="Latent decay reduces the accuracy lost on out-of-range weights (Sec. 4.2 "
                                      "motivation; no paper number)"))
    res = m["resolution"]
    if "baseline" in res:
        rates = res["baseline"]["error_by_gap_quantile"]
        out.append(Claim("2.6a", "Loss of resolution: pointer errors concentrate where the best and second-best "
                         "candidates are close (Fig. 5)",
                         "error(closest quintile) >= 2 x error(widest quintile), and > 0",
                         {"error_closest_quintile": rates[0], "error_widest_quintile": rates[-1]},
                         Verdict.REPRODUCED if rates[0] > 0 and rates[0] >= 2 * rates[-1] else Verdict.NOT_REPRODUCED))
    if "baseline" in res and "softmax" in res:
        out.append(margin(res["baseline"]["error_by_gap_quantile"][0], res["softmax"]["error_by_gap_quantile"][0],
                          0.0, id="2.6b", names=("baseline", "softmax"),
                          statement="Softmax aggregation makes fewer errors on the closest candidates (Sec. 4.1 "
                                    "motivation; no paper number)"))
    att = m["attractor"]
    offs, base_acc = att["offsets"], att["accuracy"]["baseline"]
    if -3 in offs and 3 in offs and 0 in offs:
        zero = base_acc[offs.index(0)]
        out.append(ordering({"drop_3_fewer": zero - base_acc[offs.index(-3)],
                             "drop_3_extra": zero - base_acc[offs.index(3)]},
                            ["drop_3_fewer", "drop_3_extra"], id="2.7",
                            statement="Attractor: reading the output 3 steps early costs more accuracy than 3 steps "
                                      "late (paper Fig. 3: -11.7 vs -2.2 points)"))
    return out


def run(config: Config, scale: str, seeds: list[int], out_dir: Path) -> RunRecord:
    record = RunRecord(paper=ood_scores.PAPER, experiment=NAME, scale=scale, config=dataclasses.asdict(config),
                       seeds=seeds[:1])
    models = load_models(config, seeds)
    metrics: dict[str, Any] = {}
    fig, axes = new_figure(2, 1)
    metrics["pca"] = pca_trajectories(models, config, axes[0, 0], axes[0, 1])
    global_std = metrics["pca"].pop("global_final_std")
    metrics["pca"].pop("embeddings_final")
    save_figure(fig, out_dir / "pca_trajectories.png")
    fig, axes = new_figure(3, 1)
    metrics["scaling"] = scaling_probe(models, config, axes[0, 0])
    metrics["johnson"] = johnson_probe(models, config, axes[0, 1])
    metrics["permutation"] = permutation_probe(models, config, global_std, axes[0, 2])
    metrics["permutation"]["global_final_std"] = global_std
    save_figure(fig, out_dir / "symmetry_probes.png")
    fig, axes = new_figure(3, 1)
    metrics["resolution"] = loss_of_resolution(models, config, axes[0, 0])
    metrics["out_of_range"] = out_of_range(models, config, axes[0, 1])
    metrics["attractor"] = attractor(models, config, axes[0, 2])
    save_figure(fig, out_dir / "failure_modes.png")
    record.plots += ["pca_trajectories.png", "symmetry_probes.png", "failure_modes.png"]
    record.metrics = metrics
    for claim in claims(metrics):
        record.add_claim(claim)
    _tables(record, metrics)
    record.notes = (
        f"Bellman-Ford models of experiment 1 (seed {seeds[0]}, best validation, max aggregation at evaluation), "
        f"analysed on graphs of {config.latent_nodes} nodes (the paper: 64) drawn from dm-clrs 2.0.3's sampler "
        "(undirected; Johnson-reweighted copies are directed). Claims 2.5-2.7b test the paper's hypotheses where it "
        "gives no number.")
    return record


def _tables(record: RunRecord, m: dict[str, Any]) -> None:
    p = paper_numbers.PCA_TOP3_EVR
    record.add_table("PCA of the baseline's graph embeddings (top-3 explained variance unless noted)",
                     ["analysis", "ours", "paper"],
                     [["step-wise", f"{m['pca']['evr_top3_step_wise']:.1%}", f"{p['step_wise']:.1%}"],
                      ["trajectory-wise", f"{m['pca']['evr_top3_trajectory_wise']:.1%}", f"{p['trajectory_wise']:.1%}"],
                      ["scaled copies of one graph (PC1, median)", f"{m['scaling']['pc1_evr_median']:.1%}",
                       f"{p['scaling_one_graph']:.1%} (top-3)"],
                      ["Johnson reweightings: ARI / between-within", f"{m['johnson']['ari']:.2f} / "
                       f"{m['johnson']['between_within']:.1f}", "one cluster per base"],
                      ["relabellings: spread / global spread (median)",
                       f"{m['permutation']['spread_ratio_median']:.3f}", "≈ 0.04 (blob ±0.2 vs cloud ±5)"]])
    att = m["attractor"]
    rows = [[v, *[f"{a:.3f}" for a in accs]] for v, accs in att["accuracy"].items()]
    rows.append(["paper (baseline, n=64)", *[f"{paper_numbers.ATTRACTOR_OFFSETS.get(k, float('nan')):.3f}"
                                             for k in att["offsets"]]])
    record.add_table("Attractor: accuracy when reading the output k steps after the true end",
                     ["variant", *[f"k={k:+d}" for k in att["offsets"]]], rows)
    oor = m["out_of_range"]
    record.add_table("Out-of-range weights: accuracy when every weight is multiplied by c",
                     ["variant", *[f"c={c:g}" for c in oor["scales"]]],
                     [[v, *[f"{a:.3f}" for a in accs]] for v, accs in oor["accuracy"].items()])
    res = m["resolution"]
    rows = [[v, *[f"{r:.3f}" for r in res[v]["error_by_gap_quantile"]], f"{res[v]['error_overall']:.3f}"]
            for v in ("baseline", "softmax") if v in res]
    record.add_table("Loss of resolution: pointer error rate by quintile of the best / second-best candidate gap",
                     ["variant", "Q1 (closest)", "Q2", "Q3", "Q4", "Q5 (widest)", "all nodes"], rows,
                     caption=f"Paper (softmax model, 4096 graphs of 64 nodes): "
                             f"{paper_numbers.POINTER_MISPREDICTION_SOFTMAX:.2%} pointers mispredicted overall.")
