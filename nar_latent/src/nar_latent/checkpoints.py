"""Trained parameters cached on disk (not committed), so the latent analysis can reuse experiment 1's models."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import jax
import numpy as np


def cache_dir() -> Path:
    env = os.environ.get("NAR_LATENT_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "nar_latent"


def key(**fields: Any) -> str:
    blob = json.dumps(fields, sort_keys=True, default=str)
    return hashlib.sha1(blob.encode()).hexdigest()[:12]


def save(path: Path, params: dict[str, dict[str, Any]], meta: dict[str, Any]) -> Path:
    """Save a haiku-style parameter tree (module -> name -> array) with JSON metadata, atomically."""
    arrays = {f"{module}|{name}": np.asarray(v) for module, d in params.items() for name, v in d.items()}
    arrays["__meta__"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)
    return path


def load(path: Path) -> tuple[dict[str, dict[str, jax.Array]], dict[str, Any]]:
    params: dict[str, dict[str, jax.Array]] = {}
    with np.load(path) as z:
        meta = json.loads(bytes(z["__meta__"]).decode())
        for k in z.files:
            if k == "__meta__":
                continue
            module, name = k.split("|")
            params.setdefault(module, {})[name] = jax.numpy.asarray(z[k])
    return params, meta
