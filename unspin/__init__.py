"""unspin: find, undo and trace article spinning.

The verbs:

* :func:`detect` — calibrated probability that a text is spun, and its
  suspicious spans with character offsets and confidences;
* :func:`restore_text` / :func:`restore_and_explain` — the original wording,
  edit by edit, each edit with its evidence; :func:`apply_plan` replays them;
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


def spin(text: str, *, seed: int = 0, style: str = "word", rate: float = 0.3, lexicon=None):
    """Spin ``text`` reproducibly, with ground truth; see :func:`unspin.spin.spin`."""
    from .spin import spin as _spin

    return _spin(text, seed=seed, style=style, rate=rate, lexicon=lexicon)


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
    "__version__",
]
