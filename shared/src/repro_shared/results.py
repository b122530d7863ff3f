"""Run records: what a reproduction measured, under which config, on which machine.

A run record is a plain JSON document written atomically to
``<package>/results/<experiment>.json``. Everything shown to a reader (the Markdown
table next to it, the top-level RESULTS.md) is rendered from that JSON alone, so every
number can be traced to the command that produced it (``record["command"]``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import importlib.metadata
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from repro_shared.claims import Claim, Verdict

SCHEMA_VERSION = 1
_FRAMEWORKS = ("numpy", "torch", "jax", "jaxlib", "flax", "optax", "dm-haiku", "dm-clrs", "transformers",
               "datasets", "gymnasium", "metaworld", "mujoco", "dm-control", "scikit-learn")


# --------------------------------------------------------------------------- provenance

def git_info(cwd: str | os.PathLike | None = None) -> dict[str, Any]:
    """Commit hash and dirty flag of the repository holding ``cwd`` (None where not a git checkout)."""
    cwd = os.fspath(cwd) if cwd is not None else os.getcwd()

    def _git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = _git("rev-parse", "HEAD")
    # results/ folders are the run's own outputs (a rerun rewrites tracked records): not "dirty" code
    status = _git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude,glob)**/results/**")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _gpus() -> list[str]:
    """GPU names from nvidia-smi, without importing a framework."""
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return []
    return [ln.strip() for ln in out.stdout.splitlines() if ln.strip()] if out.returncode == 0 else []


def machine_info() -> dict[str, Any]:
    """CPU model, core count, GPUs, OS and Python version."""
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "gpus": _gpus(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "hostname": platform.node(),
    }


def framework_versions(names: Iterable[str] = _FRAMEWORKS) -> dict[str, str]:
    """Installed versions of the frameworks (read from metadata; nothing is imported)."""
    versions = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def command_line() -> str:
    """The command as typed: ``python -m pkg.reproduce --scale quick`` (from ``sys.orig_argv``)."""
    argv = list(getattr(sys, "orig_argv", sys.argv))
    if argv and os.path.basename(argv[0]).startswith("python"):
        argv[0] = "python"
    return " ".join(shlex.quote(a) for a in argv)


# --------------------------------------------------------------------------- tables

@dataclasses.dataclass
class Table:
    """A results table, stored as data so that it can be re-rendered from the JSON."""

    title: str
    columns: list[str]
    rows: list[list[Any]]
    caption: str = ""

    def to_markdown(self, float_format: str = "{:.4g}") -> str:
        def cell(v: Any) -> str:
            if isinstance(v, float):
                return float_format.format(v)
            if v is None:
                return "—"
            return str(v).replace("|", "\\|").replace("\n", " ")

        lines = [f"| {' | '.join(self.columns)} |", "|" + "---|" * len(self.columns)]
        lines += [f"| {' | '.join(cell(v) for v in row)} |" for row in self.rows]
        out = [f"#### {self.title}", ""] if self.title else []
        out += lines
        if self.caption:
            out += ["", self.caption]
        return "\n".join(out)


# --------------------------------------------------------------------------- the record

@dataclasses.dataclass
class RunRecord:
    """Everything a reproduction run produced. Serialised with :meth:`to_dict`."""

    paper: str
    experiment: str
    scale: str
    config: dict[str, Any]
    seeds: list[int]
    metrics: dict[str, Any] = dataclasses.field(default_factory=dict)
    claims: list[Claim] = dataclasses.field(default_factory=list)
    tables: list[Table] = dataclasses.field(default_factory=list)
    plots: list[str] = dataclasses.field(default_factory=list)
    notes: str = ""
    git: dict[str, Any] = dataclasses.field(default_factory=git_info)
    machine: dict[str, Any] = dataclasses.field(default_factory=machine_info)
    versions: dict[str, str] = dataclasses.field(default_factory=framework_versions)
    command: str = dataclasses.field(default_factory=lambda: command_line())
    started_at: str = dataclasses.field(
        default_factory=lambda: _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"))
    wall_time_s: float | None = None
    schema_version: int = SCHEMA_VERSION
    _t0: float = dataclasses.field(default_factory=time.perf_counter, repr=False, compare=False)

    # -- building
    def add_claim(self, claim: Claim) -> Claim:
        self.claims.append(claim)
        return claim

    def add_table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]],
                  caption: str = "") -> Table:
        table = Table(title, list(columns), [list(r) for r in rows], caption)
        self.tables.append(table)
        return table

    def finish(self) -> RunRecord:
        """Stamp the wall time (seconds since the record was created)."""
        self.wall_time_s = round(time.perf_counter() - self._t0, 3)
        return self

    # -- (de)serialisation
    def to_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if not f.name.startswith("_")}
        d["claims"] = [c.to_dict() for c in self.claims]
        d["tables"] = [dataclasses.asdict(t) for t in self.tables]
        return _jsonable(d)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RunRecord:
        d = dict(d)
        d["claims"] = [Claim.from_dict(c) for c in d.get("claims", [])]
        d["tables"] = [Table(**t) for t in d.get("tables", [])]
        known = {f.name for f in dataclasses.fields(cls) if not f.name.startswith("_")}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown fields in run record: {sorted(unknown)}")
        return cls(**d)

    def verdict_counts(self) -> dict[str, int]:
        counts = {v.value: 0 for v in Verdict}
        for c in self.claims:
            counts[c.verdict.value] += 1
        return counts

    # -- writing
    def write(self, results_dir: str | os.PathLike) -> Path:
        """Write ``<experiment>.json`` and the rendered ``<experiment>.md`` atomically; return the JSON path."""
        if self.wall_time_s is None:
            self.finish()
        results_dir = Path(results_dir)
        path = results_dir / f"{self.experiment}.json"
        write_json_atomic(path, self.to_dict())
        write_text_atomic(results_dir / f"{self.experiment}.md", render_markdown(self.to_dict()))
        return path


def _jsonable(x: Any) -> Any:
    """Convert numpy / framework scalars and arrays, tuples and paths to plain JSON types."""
    if isinstance(x, Mapping):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, Path):
        return str(x)
    if isinstance(x, float) and (x != x or x in (float("inf"), float("-inf"))):
        return str(x)  # JSON has no NaN/inf; keep them visible as strings
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return _jsonable(dataclasses.asdict(x))
    if hasattr(x, "tolist"):  # numpy, torch and jax arrays and scalars
        return _jsonable(x.tolist())
    if hasattr(x, "item") and callable(x.item):
        return _jsonable(x.item())
    return x


# --------------------------------------------------------------------------- atomic I/O

@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it onto ``path`` atomically, on error delete it.

    For writers that take a file name (``torch.save``, ``np.savez``, ``fig.savefig``); ``suffix`` keeps the
    extension such writers infer a format from (``np.savez`` appends ``.npz`` unless the name ends in it).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600 files: give the result the usual permissions
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text_atomic(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` via a temporary file in the same folder and an atomic rename."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    return Path(path)


def write_json_atomic(path: str | os.PathLike, obj: Any) -> Path:
    return write_text_atomic(path, json.dumps(_jsonable(obj), indent=2, sort_keys=False) + "\n")


def load_record(path: str | os.PathLike) -> RunRecord:
    with open(path, encoding="utf-8") as f:
        return RunRecord.from_dict(json.load(f))


# --------------------------------------------------------------------------- rendering

def render_claims_table(claims: Sequence[Mapping[str, Any]]) -> str:
    rows = [[c["id"], c["statement"], c["criterion"], _fmt_measured(c.get("measured")), f"**{c['verdict']}**"]
            for c in claims]
    return Table("", ["claim", "statement", "criterion", "measured", "verdict"], rows).to_markdown()


def _fmt_measured(m: Any) -> str:
    if isinstance(m, Mapping):
        return ", ".join(f"{k}={_fmt_measured(v)}" for k, v in m.items())
    if isinstance(m, float):
        return f"{m:.4g}"
    if isinstance(m, (list, tuple)):
        return "[" + ", ".join(_fmt_measured(v) for v in m) + "]"
    return str(m)


def render_markdown(record: Mapping[str, Any]) -> str:
    """Render a run record (as loaded from JSON) to Markdown: header, claims, tables, plots, provenance."""
    r = record
    git = r.get("git") or {}
    machine = r.get("machine") or {}
    commit = (git.get("commit") or "unknown")[:12] + (" (dirty)" if git.get("dirty") else "")
    gpus = ", ".join(machine.get("gpus") or []) or "none"
    wall = r.get("wall_time_s")
    lines = [
        f"### {r['paper']}: {r['experiment']} ({r['scale']} scale)",
        "",
        f"Command: `{r.get('command', '')}`  ",
        f"Seeds: {r.get('seeds')} · wall time: {wall:.0f} s · commit {commit} · {r.get('started_at', '')}  "
        if isinstance(wall, (int, float)) else f"Seeds: {r.get('seeds')} · commit {commit}  ",
        f"Machine: {machine.get('cpu', '?')}, {machine.get('cores', '?')} cores, GPU: {gpus}",
        "",
    ]
    if r.get("notes"):
        lines += [r["notes"], ""]
    if r.get("claims"):
        lines += ["#### Claims", "", render_claims_table(r["claims"]), ""]
    for t in r.get("tables", []):
        lines += [Table(**t).to_markdown(), ""]
    for p in r.get("plots", []):
        lines += [f"![{Path(p).stem}]({p})", ""]
    return "\n".join(lines).rstrip() + "\n"


VERDICT_MARKS = {"REPRODUCED": "✔", "NOT REPRODUCED": "✘", "INCONCLUSIVE": "?"}


def print_record(rec: RunRecord) -> None:
    """A finished record on stdout: its tables as Markdown, then one line per claim with its verdict."""
    print(f"\n=== {rec.experiment} ({rec.wall_time_s:.0f} s) ===")
    for t in rec.tables:
        print()
        print(t.to_markdown())
    print()
    for c in rec.claims:
        print(f"  {VERDICT_MARKS[c.verdict.value]} {c.verdict.value:<15} {c.id}: {c.statement}")


def print_verdict_summary(records: Sequence[RunRecord], header: str) -> None:
    """One line per claim of ``records`` and the count per verdict, under ``header``."""
    claims = [c for r in records for c in r.claims]
    print(f"\n=== {header} ===")
    for c in claims:
        print(f"  {VERDICT_MARKS[c.verdict.value]} {c.verdict.value:<15} {c.id}")
    print("  " + ", ".join(f"{sum(c.verdict.value == v for c in claims)} {v}" for v in VERDICT_MARKS))


def write_claims_summary(out: str | os.PathLike, title: str, experiments: Sequence[str]) -> Path | None:
    """``<out>/SUMMARY.md``: every claim of every ``<out>/<experiment>.json`` present, rendered from the JSON alone
    (so records of earlier ``--only`` runs stay listed)."""
    out = Path(out)
    records = [load_record(out / f"{name}.json") for name in experiments if (out / f"{name}.json").is_file()]
    if not records:
        return None
    lines = [f"# {title}: claims at {records[0].scale} scale", ""]
    for r in records:
        lines += [f"## {r.experiment} (`{r.command}`, {r.wall_time_s:.0f} s, commit "
                  f"{(r.git.get('commit') or 'unknown')[:12]})", "",
                  render_claims_table([c.to_dict() for c in r.claims]), ""]
    return write_text_atomic(out / "SUMMARY.md", "\n".join(lines))


def default_results_dir(module_file: str | os.PathLike, scale: str) -> Path:
    """``<package>/results/<scale>`` for a package run from its checkout, else ``./results/<package>/<scale>``.

    ``module_file`` is any module's ``__file__`` inside ``<package>/src/<name>/``.
    """
    src_pkg = Path(module_file).resolve().parent
    while src_pkg.parent.name != "src" and src_pkg.parent != src_pkg:
        src_pkg = src_pkg.parent
    checkout = src_pkg.parent.parent
    if (checkout / "pyproject.toml").is_file():
        return checkout / "results" / scale
    return Path.cwd() / "results" / src_pkg.name / scale
