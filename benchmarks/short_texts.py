"""Short-text figures on a whole split: how the document model fares on
each document's first one to three sentences, clean and spun.

    .venv/bin/python benchmarks/short_texts.py [--split dev] [--fast] [--limit N]

The same figures as ``unspin bench``'s "short texts" rows
(:func:`unspin.bench.short_figures`), on any split: ``unspin bench`` reads
the held-out test split only, while engine settings are chosen on dev.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from unspin import bench  # noqa: E402
from unspin.config import Config  # noqa: E402
from unspin.lexicon import load_lexicon  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", default="dev", choices=("train", "dev", "test"))
    ap.add_argument("--fast", action="store_true")
    ap.add_argument("--limit", type=int, default=None, help="first N documents (news and wiki alternate)")
    args = ap.parse_args(argv)
    docs = bench._test_docs(args.limit, args.split)
    figures = bench.short_figures(Config(fast=args.fast), docs, load_lexicon())
    figures.update(split=args.split, mode="fast" if args.fast else "accurate")
    print(json.dumps(figures, indent=2))
    print(bench.format_table({"short": figures}).split("\n", 2)[2], file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
