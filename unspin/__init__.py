"""unspin: find, undo and trace article spinning.

The verbs:

* :func:`detect` — calibrated probability that a text is spun, and its
  suspicious spans with character offsets and confidences;
* :func:`restore_text` / :func:`restore_and_explain` — the original wording,
  edit by edit, each edit with its evidence; :func:`apply_plan` replays them;
* :func:`trace` — the indexed source a spun copy was made from;
* :func:`spin` — a seeded benchmark spinner with ground truth.

Every result is a small record (``unspin.records``) with ``to_dict()``; the
CLI's JSONL and the web API carry the same fields.
"""
from __future__ import annotations

from .config import DEFAULT, Config
from .detect import detect, detect_many
from .records import Detection, Edit, Restoration, Span
from .restore import apply_plan, restore_and_explain, restore_many, restore_text

__version__ = "0.1.0"

# Imported eagerly on purpose: the submodule ``unspin.spin`` and the verb
# ``unspin.spin`` share a name, and binding the function here, after the
# submodule has loaded, keeps a later ``import unspin.spin`` from replacing
# the verb with the module.
from .spin import spin  # noqa: E402

# Eager for the same reason: ``unspin.trace`` is both a verb and a module.
from .trace import TraceResult, trace  # noqa: E402


__all__ = [
    "Config",
    "DEFAULT",
    "Detection",
    "Edit",
    "Restoration",
    "Span",
    "apply_plan",
    "detect",
    "detect_many",
    "restore_and_explain",
    "restore_many",
    "restore_text",
    "spin",
    "trace",
    "TraceResult",
    "__version__",
]
