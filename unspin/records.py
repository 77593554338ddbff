"""Result records: small, plain, JSON-ready.

The Python API, the CLI's JSONL and the web API all return these same fields.
Offsets are character offsets (Python ``str`` indices) into the caller's
original string, ``end`` exclusive.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Edit:
    """One replayable change: ``text[start:end] == before`` becomes ``after``.

    ``kind`` is ``"substitution"`` (a spun word or phrase put back) or
    ``"boilerplate"`` (page debris such as ``[ad_1]`` removed).  ``evidence``
    says why: the lexicon source of the pair, the language-model score gain in
    context (nats), the channel prior, and the alternatives that were weighed.
    """

    start: int
    end: int
    before: str
    after: str
    kind: str = "substitution"
    confidence: float = 1.0
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Edit":
        try:
            return cls(
                start=int(d["start"]),
                end=int(d["end"]),
                before=str(d["before"]),
                after=str(d["after"]),
                kind=str(d.get("kind", "substitution")),
                confidence=float(d.get("confidence", 1.0)),
                evidence=dict(d.get("evidence") or {}),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"not an edit record: {d!r} ({e})") from None


@dataclass(frozen=True)
class Span:
    """A suspicious span: ``text == doc[start:end]``, likely spun from ``suggestion``."""

    start: int
    end: int
    text: str
    suggestion: str
    confidence: float
    alternatives: list[str] = field(default_factory=list)
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Detection:
    """The verdict on one document.

    ``spun_probability`` is calibrated (see ``unspin.detect``); ``is_spun`` is
    ``spun_probability >= config.doc_threshold``.  ``language`` is ``"en"``
    or ``"non-en"``: non-English text gets no spans and probability 0.
    """

    spun_probability: float
    is_spun: bool
    spans: list[Span]
    words: int
    language: str = "en"
    features: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Restoration:
    """Restored text plus the plan that produced it from the input."""

    text: str
    edits: list[Edit]
    detection: Detection

    def to_dict(self) -> dict[str, Any]:
        return {
            "restored": self.text,
            "edits": [e.to_dict() for e in self.edits],
            "detection": self.detection.to_dict(),
        }
