"""Progress bars (tqdm) for every long loop; silenced with REPRO_NO_PROGRESS=1."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")


def progress_enabled() -> bool:
    return os.environ.get("REPRO_NO_PROGRESS", "") in ("", "0")


def progress(iterable: Iterable[T] | None = None, *, desc: str = "", total: int | None = None,
             leave: bool = False, **kwargs) -> Iterator[T]:
    """A tqdm bar over ``iterable`` (or a manual bar when ``iterable`` is None)."""
    return tqdm(iterable, desc=desc, total=total, leave=leave, disable=not progress_enabled(),
                dynamic_ncols=True, mininterval=1.0, **kwargs)


def prange(n: int, *, desc: str = "", **kwargs) -> Iterator[int]:
    return progress(range(n), desc=desc, total=n, **kwargs)
