"""The common command line of every reproduce / bench entry point.

``--scale quick|full|gpu``, ``--seeds``, ``--out``, ``--device``, ``--only`` (experiments)
and ``--set field=value`` overrides of the scale's config. A bad value exits with code 2
and a message that names the field and the values it allows.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeVar

SCALES = ("quick", "full", "gpu")
DEVICES = ("auto", "cpu", "cuda", "gpu")
_DEVICE_RE = re.compile(r"^(auto|cpu|gpu|cuda(:\d+)?)$")

C = TypeVar("C")


class ConfigError(ValueError):
    """A bad configuration value: names the field, the value and what is allowed."""

    def __init__(self, field: str, value: Any, allowed: str | Sequence[Any]):
        self.field, self.value = field, value
        self.allowed = allowed if isinstance(allowed, str) else ", ".join(map(str, allowed))
        super().__init__(f"invalid value for '{field}': {value!r} (allowed: {self.allowed})")


def check_choice(field: str, value: Any, allowed: Sequence[Any]) -> Any:
    if value not in allowed:
        raise ConfigError(field, value, allowed)
    return value


def check_range(field: str, value: float, lo: float | None = None, hi: float | None = None) -> float:
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        lo_s = "-inf" if lo is None else f"{lo:g}"
        hi_s = "inf" if hi is None else f"{hi:g}"
        raise ConfigError(field, value, f"a number in [{lo_s}, {hi_s}]")
    return value


def parse_seeds(text: str) -> list[int]:
    """'3' -> [3]; '0,1,2' -> [0, 1, 2]; '0-4' -> [0, 1, 2, 3, 4]."""
    seeds: list[int] = []
    try:
        for part in text.split(","):
            part = part.strip()
            if "-" in part:
                lo, hi = (int(p) for p in part.split("-", 1))
                if hi < lo:
                    raise ValueError
                seeds.extend(range(lo, hi + 1))
            else:
                seeds.append(int(part))
    except ValueError:
        raise ConfigError("seeds", text, "non-negative ints as '0,1,2' or a range '0-4'") from None
    if not seeds or min(seeds) < 0 or len(set(seeds)) != len(seeds):
        raise ConfigError("seeds", text, "distinct non-negative ints as '0,1,2' or a range '0-4'")
    return seeds


def _seeds_type(text: str) -> list[int]:
    try:
        return parse_seeds(text)
    except ConfigError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _device_type(text: str) -> str:
    if not _DEVICE_RE.match(text):
        allowed = "auto, cpu, gpu, cuda, cuda:N"
        raise argparse.ArgumentTypeError(f"invalid value for 'device': {text!r} (allowed: {allowed})")
    return text


def resolve_device(text: str, accelerator_available: bool) -> str:
    """The concrete device for ``--device`` (``auto`` picks ``cuda`` when the caller's framework sees one).

    ``gpu`` means ``cuda``; asking for ``cuda``/``gpu`` where none is visible is a :class:`ConfigError`. Framework-free:
    the caller passes e.g. ``torch.cuda.is_available()``.
    """
    if not _DEVICE_RE.match(text):
        raise ConfigError("device", text, "auto, cpu, gpu, cuda, cuda:N")
    if text == "auto":
        return "cuda" if accelerator_available else "cpu"
    if text == "gpu":
        text = "cuda"
    if text.startswith("cuda") and not accelerator_available:
        raise ConfigError("device", text, "auto, cpu (no CUDA device is visible)")
    return text


def make_parser(prog: str, description: str, *, experiments: Sequence[str] = (),
                default_out: str | Path | None = None) -> argparse.ArgumentParser:
    """An argparse parser with the common flags; entry points add their own on top."""
    parser = argparse.ArgumentParser(prog=prog, description=description,
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--scale", choices=SCALES, default="quick",
                        help="quick: minutes on 2 CPU cores; full: about 1-2 h on 2 cores; gpu: about 10 GPU minutes")
    parser.add_argument("--seeds", type=_seeds_type, default=None,
                        help="seeds as '0,1,2' or '0-4' (default: the scale's config)")
    parser.add_argument("--out", type=Path, default=Path(default_out) if default_out else None,
                        help="folder for results/<experiment>.json, .md and plots")
    parser.add_argument("--device", type=_device_type, default="auto", help="auto, cpu, gpu, cuda or cuda:N")
    if experiments:
        parser.add_argument("--only", nargs="+", choices=list(experiments), default=None, metavar="EXPERIMENT",
                            help=f"run only these experiments (choices: {', '.join(experiments)})")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="FIELD=VALUE",
                        help="override a config field of the chosen scale, e.g. --set steps=100 (repeatable)")
    return parser


def _parse_list(text: str, current: Sequence[Any]) -> list[Any]:
    """A JSON list, or comma-separated items (what is left of one after ``make ARGS=...`` strips the quotes:
    ``[a,b]`` or ``a,b``), each item parsed like the field's current first element."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        inner = text.strip()
        if inner[:1] == "[" and inner[-1:] == "]":
            inner = inner[1:-1]
        items = [t.strip() for t in inner.split(",")] if inner.strip() else []
        value = [_coerce("item", t, current[0]) if current else t for t in items]
    if not isinstance(value, list):
        raise ValueError
    return value


def _coerce(field: str, text: str, current: Any) -> Any:
    """Parse ``text`` to the type of the field's current value."""
    try:
        if isinstance(current, bool):
            low = text.lower()
            if low not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError
            return low in ("true", "1", "yes")
        if isinstance(current, int):
            return int(text)
        if isinstance(current, float):
            return float(text)
        if isinstance(current, (tuple, list)):
            return type(current)(_parse_list(text, current))
        if current is None:
            return json.loads(text) if text[:1] in "[{0123456789-" or text in ("true", "false", "null") else text
        return type(current)(text)
    except (ValueError, TypeError, json.JSONDecodeError):
        kind = type(current).__name__
        allowed = f"a JSON list or comma-separated values ({kind})" if isinstance(current, (tuple, list)) else \
            f"a value of type {kind}"
        raise ConfigError(field, text, allowed) from None


def apply_overrides(config: C, overrides: Sequence[str]) -> C:
    """Return a copy of the dataclass ``config`` with ``field=value`` overrides applied."""
    if not overrides:
        return config
    names = [f.name for f in dataclasses.fields(config)]  # type: ignore[arg-type]
    changes: dict[str, Any] = {}
    for item in overrides:
        if "=" not in item:
            raise ConfigError("set", item, "FIELD=VALUE")
        field, text = item.split("=", 1)
        field = field.strip()
        if field not in names:
            raise ConfigError("set", field, names)
        changes[field] = _coerce(field, text, getattr(config, field))
    return dataclasses.replace(config, **changes)  # type: ignore[type-var]


def config_for_scale(configs: Mapping[str, C], scale: str) -> C:
    check_choice("scale", scale, list(configs))
    return configs[scale]


def fail(message: str, code: int = 2) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(code)


def run_main(main: Callable[[argparse.Namespace], int | None], parser: argparse.ArgumentParser,
             argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` and call ``main``; a :class:`ConfigError` exits 2 with its message."""
    args = parser.parse_args(argv)
    try:
        code = main(args)
    except ConfigError as e:
        fail(str(e))
    return int(code or 0)
