"""One immutable configuration object.

The field names are also the CLI flags (``--doc-threshold`` for
``doc_threshold``) and the web request fields.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace


@dataclass(frozen=True)
class Config:
    #: Lexicon and frequency evidence only, no language model.  For screening
    #: large corpora: about 100x faster, lower recall.
    fast: bool = False
    #: A document is called spun when its calibrated probability reaches this.
    doc_threshold: float = 0.5
    #: A document called spun is restored (its wording edited) only when its
    #: probability also reaches this: precision first.  Between the two
    #: thresholds its spans are reported but its words are left alone.  On
    #: the dev split's 558 clean documents, 0.7 instead of 0.5 changes 6
    #: instead of 11 (accurate mode), at a cost of 0.025 recovery on lightly
    #: spun documents (rate 0.05; 0.002 at rate 0.1).
    restore_threshold: float = 0.7
    #: A span is reported (and, in a document restored, edited) when its
    #: confidence reaches this.
    span_threshold: float = 0.5
    #: Remove page boilerplate ([ad_1], "Source link", spintax braces).
    clean_boilerplate: bool = True
    #: Extra phrase tables (the project's TSV format) and tortured-phrase
    #: lists (CSV or JSON, spun -> expected), added as lexicon sources.
    tables: tuple[str, ...] = ()
    #: The most sentences the language model scores together (batches are
    #: cut, by length, to waste the least padding).
    batch_size: int = 32
    #: Sentences longer than this many words are scored in windows of this
    #: many words (bounds the language model's cost per sequence).
    max_words: int = 60
    #: Use the thesaurus-derived lexicon (Moby) beside the phrase table.
    thesaurus: bool = True
    #: Tables whose pairs are left out of the built-in lexicon (phrase table
    #: and thesaurus): for benchmarks that hide a spinner's table.
    withhold: tuple[str, ...] = ()

    def with_(self, **changes) -> "Config":
        return replace(self, **changes)


DEFAULT = Config()
