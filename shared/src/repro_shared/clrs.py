"""CLRS-30 offline: dm-clrs's samplers without TensorFlow, the CLRS-30 splits, an on-disk cache.

The CLRS-30 benchmark's splits are defined by sampler seeds (dm-clrs ``samplers.CLRS30``):
train seed 1, n = 16, 1000 samples; val seed 2, n = 16, 32 samples; test seed 3, n = 64,
32 samples; val/test sizes multiplied by ``specs.CLRS_30_ALGS_SETTINGS`` (x32 Kadane, x64
for the searches and string matchers). Regenerating them locally needs no download.

``import clrs`` would pull TensorFlow and tfds (only its ``dataset`` module uses them), so
this module registers a bare ``clrs`` package whose ``__init__`` is skipped and imports the
submodules it needs. ``probing`` refers to ``tf.Tensor`` once (in an ``isinstance`` check);
when TensorFlow is absent a stand-in module with a dummy ``Tensor`` class is visible only
while ``probing`` is imported.

Install: ``pip install 'repro-shared[clrs]'`` then ``pip install --no-deps dm-clrs==2.0.3``.
Digests of generated splits are pinned in the packages' tests, so a change in the samplers
(dm-clrs's RNG use has changed before) is noticed.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import importlib.util
import json
import os
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np

from repro_shared.results import atomic_path

SPLITS = ("train", "val", "test")
SUPPORTED_VERSION = "2.0.3"
_SUBMODULES = ("specs", "probing", "algorithms", "samplers", "evaluation")


class CLRSUnavailable(ImportError):
    pass


def clrs_version() -> str | None:
    try:
        return importlib.metadata.version("dm-clrs")
    except importlib.metadata.PackageNotFoundError:
        return None


def _register_bare_package() -> None:
    """Make ``clrs`` and ``clrs._src`` importable without executing ``clrs/__init__.py``."""
    if "clrs" in sys.modules:
        return
    spec = importlib.util.find_spec("clrs")
    if spec is None or not spec.submodule_search_locations:
        raise CLRSUnavailable(
            "dm-clrs is not installed: pip install 'repro-shared[clrs]' && pip install --no-deps dm-clrs==2.0.3")
    root = list(spec.submodule_search_locations)
    pkg = types.ModuleType("clrs")
    pkg.__path__ = root
    pkg.__file__ = None
    pkg.__version__ = clrs_version()
    sys.modules["clrs"] = pkg
    src = types.ModuleType("clrs._src")
    src.__path__ = [os.path.join(p, "_src") for p in root]
    sys.modules["clrs._src"] = src
    pkg._src = src


def _import_probing() -> None:
    """Import ``clrs._src.probing`` with a stand-in ``tensorflow`` visible only during the import."""
    if "clrs._src.probing" in sys.modules:
        return
    stub = None
    if "tensorflow" not in sys.modules and importlib.util.find_spec("tensorflow") is None:
        stub = types.ModuleType("tensorflow")
        stub.Tensor = type("Tensor", (), {})  # probing uses tf.Tensor in one isinstance check only
        sys.modules["tensorflow"] = stub
    try:
        importlib.import_module("clrs._src.probing")
    finally:
        if stub is not None and sys.modules.get("tensorflow") is stub:
            del sys.modules["tensorflow"]


def module(name: str) -> types.ModuleType:
    """Import ``clrs._src.<name>`` (specs, probing, algorithms, samplers, evaluation, processors, ...)."""
    _register_bare_package()
    _import_probing()  # every other module imports probing
    return importlib.import_module(f"clrs._src.{name}")


def load() -> types.SimpleNamespace:
    """The dm-clrs modules needed for data and evaluation: specs, probing, algorithms, samplers, evaluation."""
    return types.SimpleNamespace(**{name: module(name) for name in _SUBMODULES})


# --------------------------------------------------------------------------- splits

def split_config(algorithm: str, split: str) -> dict[str, int]:
    """Seed, graph size and number of samples of a CLRS-30 split."""
    if split not in SPLITS:
        raise ValueError(f"invalid value for 'split': {split!r} (allowed: {', '.join(SPLITS)})")
    clrs = load()
    if algorithm not in clrs.specs.CLRS_30_ALGS_SETTINGS:
        raise ValueError(f"invalid value for 'algorithm': {algorithm!r} "
                         f"(allowed: {', '.join(sorted(clrs.specs.CLRS_30_ALGS_SETTINGS))})")
    cfg = dict(clrs.samplers.CLRS30[split])
    if split != "train":
        cfg["num_samples"] *= clrs.specs.CLRS_30_ALGS_SETTINGS[algorithm]["num_samples_multiplier"]
    return cfg


def generate(algorithm: str, *, num_samples: int, length: int, seed: int, **sampler_kwargs: Any):
    """All ``num_samples`` samples of a dm-clrs sampler as one ``Feedback`` (batch axis = samples)."""
    clrs = load()
    sampler, _ = clrs.samplers.build_sampler(algorithm, num_samples=num_samples, length=length, seed=seed,
                                             **sampler_kwargs)
    return sampler.next(batch_size=None) if num_samples > 0 else sampler.next(batch_size=1)


def _cache_dir(cache_dir: str | os.PathLike | None) -> Path:
    if cache_dir is not None:
        return Path(cache_dir)
    env = os.environ.get("REPRO_CLRS_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "repro_shared" / "clrs"


def _cache_key(algorithm: str, split: str, cfg: dict[str, int], sampler_kwargs: dict[str, Any]) -> str:
    blob = json.dumps({"algorithm": algorithm, "split": split, **cfg, "kwargs": sampler_kwargs,
                       "dm-clrs": clrs_version()}, sort_keys=True)
    return f"{algorithm}_{split}_n{cfg['length']}_s{cfg['seed']}_{hashlib.sha1(blob.encode()).hexdigest()[:10]}"


def save_feedback(feedback, path: str | os.PathLike) -> Path:
    """Write a ``Feedback`` as ``.npz`` (arrays) with its data-point metadata (atomic rename)."""
    path = Path(path)
    arrays: dict[str, np.ndarray] = {"lengths": np.asarray(feedback.features.lengths)}
    meta = []
    for group, points in (("input", feedback.features.inputs), ("hint", feedback.features.hints),
                          ("output", feedback.outputs)):
        for dp in points:
            key = f"{group}/{dp.name}"
            arrays[key] = np.asarray(dp.data)
            meta.append([group, dp.name, dp.location, dp.type_])
    arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez_compressed(tmp, **arrays)
    return path


def load_feedback(path: str | os.PathLike):
    clrs = load()
    with np.load(path) as z:
        meta = json.loads(bytes(z["__meta__"]).decode())
        groups: dict[str, list] = {"input": [], "hint": [], "output": []}
        for group, name, location, type_ in meta:
            groups[group].append(clrs.probing.DataPoint(name=name, location=location, type_=type_,
                                                        data=z[f"{group}/{name}"]))
        lengths = z["lengths"]
    features = clrs.samplers.Features(inputs=tuple(groups["input"]), hints=tuple(groups["hint"]), lengths=lengths)
    return clrs.samplers.Feedback(features=features, outputs=tuple(groups["output"]))


def load_split(algorithm: str, split: str, *, cache_dir: str | os.PathLike | None = None,
               num_samples: int | None = None, length: int | None = None, seed: int | None = None,
               **sampler_kwargs: Any):
    """A CLRS-30 split (or a variant with overridden size/seed), generated once and cached as ``.npz``."""
    cfg = split_config(algorithm, split)
    cfg.update({k: v for k, v in (("num_samples", num_samples), ("length", length), ("seed", seed)) if v is not None})
    path = _cache_dir(cache_dir) / f"{_cache_key(algorithm, split, cfg, sampler_kwargs)}.npz"
    if path.exists():
        return load_feedback(path)
    feedback = generate(algorithm, **cfg, **sampler_kwargs)
    save_feedback(feedback, path)
    return feedback


def digest(feedback) -> str:
    """SHA-1 over every array of a ``Feedback`` (names, dtypes, shapes and bytes, in spec order)."""
    h = hashlib.sha1()

    def add(tag: str, arr: Any) -> None:
        a = np.ascontiguousarray(np.asarray(arr))
        h.update(f"{tag}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())

    for group, points in (("input", feedback.features.inputs), ("hint", feedback.features.hints),
                          ("output", feedback.outputs)):
        for dp in points:
            add(f"{group}/{dp.name}/{dp.location}/{dp.type_}", dp.data)
    add("lengths", feedback.features.lengths)
    return h.hexdigest()
