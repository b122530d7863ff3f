"""The task suite: generated text-classification tasks as ``datasets.Dataset`` splits, and the sequences.

Each task is binary with a shared label space (one shared 2-way head, Sec. 3 of the notes: a fresh head per task
would hide label conflicts). Roles are declared by construction and confirmed by the measured transfer matrix
(``transfer_matrix.py``): ``positive`` (the same polarity rule on another vocabulary domain), ``negative``
(a spurious marker whose sentences' polarity contradicts the label; inverted labels on the same rule), ``neutral``
(easy rules on a disjoint digit vocabulary), ``target`` (few-shot polarity tasks that end every sequence) and
``explored`` (in the matrix only: random labels, harder digit rules, topic, negation; their role did not hold
consistently in the calibration on seeds 100-101, see README).

Datasets are built by ``datasets.Dataset.from_generator`` (cached under the cache folder, never downloaded).
Splits: ``train`` (what fine-tuning sees), ``dev`` (carved from the same training budget, used only for selection)
and ``test``; all three are disjoint (no sentence occurs twice in a task).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

import numpy as np

from cl_transfer import language as lang

GENERATOR_VERSION = 2
SPLITS = ("train", "dev", "test")
ROLES = ("positive", "negative", "neutral", "target", "explored")


@dataclasses.dataclass(frozen=True)
class TaskSpec:
    """A generated task: how to draw a sentence for a label, and the rule that labels it."""

    name: str
    family: str
    role: str
    make: Callable[[np.random.Generator, int], list[str]]
    rule: Callable[[list[str]], int] | None  # None: labels are random (RAND)
    seed: int
    source: bool = True  # sources get the large split sizes and the source fine-tuning budget


def _pol(rng, label, *, domain, negation=False, flip=False):
    marker = str(rng.choice(lang.MARKERS)) if rng.random() < lang.MARKER_NOISE_RATE else None
    return lang.polarity_sentence(rng, 1 - label if flip else label, domain, negation=negation, marker=marker)


def _spur(rng, label, *, domain, marker, present_means):
    noise = [m for m in lang.MARKERS if m != marker]
    has_marker = label == present_means
    polarity = 1 - label if rng.random() < lang.SPUR_CONFLICT else label
    words = lang.polarity_sentence(rng, polarity, domain, marker=marker if has_marker else None)
    if rng.random() < lang.MARKER_NOISE_RATE:  # the other marker stays label-free noise
        i = int(rng.integers(lang.SENT_LEN))
        if words[i] in lang.FILLERS:
            words[i] = noise[0]
    return words


def _digits(rng, label, *, rule):
    while True:
        words = lang.digit_sentence(rng)
        if rule(words) == label:
            return words


def _topic(rng, label, *, a, b):
    return lang.topic_sentence(rng, label, a, b)


def _spec_list() -> list[TaskSpec]:
    s = []
    s.append(TaskSpec("POL-d0", "POL", "target", partial(_pol, domain=0), lang.rule_polarity, 10, source=False))
    s.append(TaskSpec("POL-d4", "POL", "target", partial(_pol, domain=4), lang.rule_polarity, 12, source=False))
    s.append(TaskSpec("POLNEG-d0", "POLNEG", "explored", partial(_pol, domain=0, negation=True),
                      lang.rule_polarity, 11, source=False))
    for d in (1, 2, 3):
        s.append(TaskSpec(f"POL-d{d}", "POL", "positive", partial(_pol, domain=d), lang.rule_polarity, 20 + d))
    s.append(TaskSpec("SPUR-a", "SPUR", "negative", partial(_spur, domain=0, marker="basically", present_means=1),
                      partial(lang.rule_marker, marker="basically"), 30))
    s.append(TaskSpec("SPUR-b", "SPUR", "negative", partial(_spur, domain=1, marker="actually", present_means=0),
                      lambda w: 1 - lang.rule_marker(w, "actually"), 31))
    s.append(TaskSpec("RAND", "RAND", "explored", partial(_pol, domain=0), None, 32))
    s.append(TaskSpec("DIG-first", "DIG", "neutral", partial(_digits, rule=lang.rule_digit_first),
                      lang.rule_digit_first, 40))
    s.append(TaskSpec("DIG-last", "DIG", "explored", partial(_digits, rule=lang.rule_digit_last),
                      lang.rule_digit_last, 41))
    s.append(TaskSpec("DIG-seven", "DIG", "neutral", partial(_digits, rule=partial(lang.rule_digit_present,
                                                                                     digit="seven")),
                      partial(lang.rule_digit_present, digit="seven"), 44))
    s.append(TaskSpec("DIG-count", "DIG", "neutral", partial(_digits, rule=lang.rule_digit_count),
                      lang.rule_digit_count, 42))
    s.append(TaskSpec("TOPIC", "TOPIC", "explored", partial(_topic, a=1, b=3), partial(lang.rule_topic, domain_a=1,
                                                                                       domain_b=3), 43))
    s.append(TaskSpec("FLIP-d3", "FLIP", "negative", partial(_pol, domain=3, flip=True),
                      lambda w: 1 - lang.rule_polarity(w), 50))
    return s


TASKS: dict[str, TaskSpec] = {t.name: t for t in _spec_list()}


@dataclasses.dataclass(frozen=True)
class SplitSizes:
    """Examples per split; ``dev`` is carved from the training budget (train + dev)."""

    train: int
    dev: int
    test: int


def get_task(name: str) -> TaskSpec:
    if name not in TASKS:
        from repro_shared.cli import ConfigError

        raise ConfigError("task", name, list(TASKS))
    return TASKS[name]


# --------------------------------------------------------------------------- generation

def generate_rows(spec: TaskSpec, sizes: SplitSizes) -> dict[str, list[dict]]:
    """All rows of a task, split and label-balanced; sentences are unique across the three splits."""
    rng = np.random.default_rng([GENERATOR_VERSION, spec.seed])
    label_rng = np.random.default_rng([GENERATOR_VERSION, spec.seed, 1])
    seen: set[str] = set()
    out: dict[str, list[dict]] = {}
    for split in SPLITS:
        n = getattr(sizes, split)
        labels = rng.permutation(np.arange(n) % 2)
        rows = []
        for i, y in enumerate(labels):
            for _ in range(1000):
                words = spec.make(rng, int(y))
                text = " ".join(words)
                if text not in seen:
                    break
            else:  # pragma: no cover - the language is far larger than any split
                raise RuntimeError(f"{spec.name}: could not draw a new sentence")
            seen.add(text)
            label = int(y) if spec.rule is not None else int(label_rng.integers(2))
            rows.append({"text": text, "label": label, "uid": f"{spec.name}/{split}/{i}"})
        out[split] = rows
    return out


def _split_generator(task: str, split: str, train: int, dev: int, test: int, version: int):
    """Generator for ``datasets.Dataset.from_generator`` (its arguments key the cache)."""
    rows = generate_rows(TASKS[task], SplitSizes(train, dev, test))[split]
    yield from rows


def cache_root() -> Path:
    """Where datasets, the pretrained base and memoised runs live (``$CL_TRANSFER_CACHE``, default ~/.cache)."""
    root = os.environ.get("CL_TRANSFER_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "cl_transfer")
    return Path(root)


def build_datasets(task: str, sizes: SplitSizes, cache_dir: str | os.PathLike | None = None):
    """The task's ``datasets.DatasetDict`` (train / dev / test), generated once and cached on disk."""
    import datasets

    datasets.disable_progress_bars()
    get_task(task)
    cache_dir = Path(cache_dir) if cache_dir is not None else cache_root() / "datasets"
    parts = {}
    for split in SPLITS:
        kwargs = dict(task=task, split=split, train=sizes.train, dev=sizes.dev, test=sizes.test,
                      version=GENERATOR_VERSION)
        parts[split] = datasets.Dataset.from_generator(_split_generator, gen_kwargs=kwargs,
                                                       cache_dir=str(cache_dir))
    return datasets.DatasetDict(parts)


def dataset_digest(ds) -> str:
    """A content hash of a DatasetDict (text and labels of every split, in order)."""
    h = hashlib.sha1()
    for split in SPLITS:
        for text, label in zip(ds[split]["text"], ds[split]["label"]):
            h.update(f"{split}\t{text}\t{label}\n".encode())
    return h.hexdigest()[:16]


# --------------------------------------------------------------------------- sequences

SEQUENCE_NAMES = ("positive", "negative", "neutral", "mixed", "long")
TARGETS: tuple[str, ...] = ("POL-d0", "POL-d4")
_SOURCES = {
    "positive": ("POL-d1", "POL-d2", "POL-d3"),
    "negative": ("SPUR-a", "FLIP-d3", "SPUR-b"),
    "neutral": ("DIG-first", "DIG-seven", "DIG-count"),
}
MIXED_POSITIVE = ("POL-d1", "POL-d2")
MIXED_DISTRACTORS = ("SPUR-a", "FLIP-d3")
LONG_SOURCES = ("POL-d1", "POL-d2", "POL-d3", "SPUR-a", "SPUR-b", "FLIP-d3", "RAND", "DIG-first", "DIG-seven",
                "DIG-count", "DIG-last", "TOPIC")


def sequence_tasks(name: str, seed: int) -> tuple[str, ...]:
    """The task order of a sequence for one seed; every sequence ends with the two target tasks.

    ``mixed`` shuffles its sources per seed with one constraint: the source right before the targets is a
    distractor, so that recency alone carries no information (targets keep fixed positions).
    ``long`` (full scale only) shuffles twelve sources of all roles per seed.
    """
    if name in _SOURCES:
        return _SOURCES[name] + TARGETS
    rng = np.random.default_rng([7, seed, SEQUENCE_NAMES.index(name)])
    if name == "mixed":
        last = MIXED_DISTRACTORS[int(rng.integers(len(MIXED_DISTRACTORS)))]
        rest = [t for t in MIXED_POSITIVE + MIXED_DISTRACTORS if t != last]
        return tuple(rest[i] for i in rng.permutation(len(rest))) + (last,) + TARGETS
    if name == "long":
        return tuple(LONG_SOURCES[i] for i in rng.permutation(len(LONG_SOURCES))) + TARGETS
    from repro_shared.cli import ConfigError

    raise ConfigError("sequences", name, SEQUENCE_NAMES)


def all_task_names(sequences: Sequence[str], seeds: Sequence[int]) -> list[str]:
    names: list[str] = []
    for s in sequences:
        for seed in seeds:
            names += [t for t in sequence_tasks(s, seed) if t not in names]
    return names
