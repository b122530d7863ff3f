"""repro_shared: the thin, framework-free utilities every paper package uses.

Modules: ``results`` (run records, atomic writes, Markdown), ``claims`` (pre-registered
criteria and verdicts), ``seeding``, ``cli``, ``progress``, ``timing``, ``plots``, ``report``
(RESULTS.md). No torch or jax import happens at import time.
"""

from repro_shared.claims import Claim, Verdict
from repro_shared.results import RunRecord, Table, default_results_dir, load_record

__all__ = ["Claim", "Verdict", "RunRecord", "Table", "default_results_dir", "load_record"]
__version__ = "0.1.0"
