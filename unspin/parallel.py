"""Restoring batches of documents on several processes (``scan --jobs N``).

One process in ``--fast`` mode leaves the second core of a 2-core machine
idle (``unspin bench`` times one process and the workers); in accurate mode
the language model's matrix products use both cores but the Python around
them (slot search, decisions, rounds) runs on one.  :func:`restore_batches` hands
whole batches to worker processes and gives the results back in input order.

Workers are forked (where the platform forks) after the parent has loaded
the lexicon, the word statistics and, in accurate mode, the language model,
so they share those pages instead of loading their own.  In accurate mode
each worker's torch gets its share of the cores, so ``jobs`` workers run no
more compute threads than one process would.

Every batch's results come back exactly once, in order.  A document that
fails is reported with its error instead of stopping the run (see
:func:`restore_batch`).  A worker that dies (killed, out of memory) is a
:class:`WorkerDied` error: the batches before it have been given back, the
rest are not.
"""
from __future__ import annotations

import multiprocessing
import signal
import sys
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Callable, Iterable, Iterator, TypeVar

from .config import Config
from .records import Restoration

T = TypeVar("T")

#: (restoration, None) for a document restored, (None, error message) for one that failed.
Outcome = tuple[Restoration | None, str | None]


class WorkerDied(RuntimeError):
    """A worker process ended without giving its batch back."""


def restore_batch(texts: list[str], config: Config) -> list[Outcome]:
    """Restore ``texts`` together; one outcome per text, in order.

    The batch goes through ``restore_many`` in one call; if that raises, the
    texts are redone one by one so that only the failing one is lost.
    """
    from .restore import restore_and_explain, restore_many

    try:
        results = list(restore_many(texts, config))
        if len(results) != len(texts):  # a broken contract: redo one by one
            raise RuntimeError("restore_many returned the wrong number of results")
        return [(r, None) for r in results]
    except (KeyboardInterrupt, MemoryError):
        raise
    except Exception:
        pass
    out: list[Outcome] = []
    for text in texts:
        try:
            out.append((restore_and_explain(text, config), None))
        except (KeyboardInterrupt, MemoryError):
            raise
        except Exception as e:  # one bad document must not stop the run
            out.append((None, f"{type(e).__name__}: {e}" if str(e) else type(e).__name__))
    return out


def warm(config: Config) -> None:
    """Load what restoring with ``config`` reads (lexicon, word statistics,
    and the language model unless ``--fast``), so that forked workers share it."""
    from .lexicon import lexicon_for
    from .text import english_share

    lexicon_for(config)
    english_share("the word list for the language check")
    if config.fast:
        from . import ngram

        ngram.load()
    else:
        from .lm import get_scorer

        get_scorer()


def _start_worker(threads: int | None) -> None:
    # Ctrl-C reaches the whole process group: the parent stops the workers,
    # which would otherwise each print a KeyboardInterrupt traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if threads is not None:
        import torch

        torch.set_num_threads(threads)


def restore_batches(
    batches: Iterable[T], texts_of: Callable[[T], list[str]], config: Config, jobs: int = 1
) -> Iterator[tuple[T, list[Outcome]]]:
    """(batch, its outcomes) for each of ``batches``, in order.

    ``texts_of(batch)`` gives the texts to restore in a batch.  With
    ``jobs`` > 1, up to ``2 * jobs`` batches are in flight at once, so memory
    stays bounded however long ``batches`` is.  If iterating ``batches``
    raises, the batches already taken are given back first, then the error
    is raised.
    """
    if jobs < 1:
        raise ValueError(f"jobs must be at least 1, not {jobs}")
    if jobs == 1:
        for b in batches:
            yield b, restore_batch(texts_of(b), config)
        return
    warm(config)
    threads = None
    if not config.fast:
        import torch

        threads = max(1, torch.get_num_threads() // jobs)
    # Fork shares the loaded resources; where fork is unsafe or missing
    # (macOS, Windows), workers start fresh and load their own.
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    ctx = multiprocessing.get_context(method)
    pool = ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_start_worker, initargs=(threads,))
    flight: deque[tuple[T, Future]] = deque()
    failure: BaseException | None = None
    finished = False
    try:
        it = iter(batches)
        while True:
            while failure is None and len(flight) < 2 * jobs:
                try:
                    b = next(it)
                except StopIteration:
                    break
                except Exception as e:  # give back what was taken, then raise
                    failure = e
                    break
                flight.append((b, pool.submit(restore_batch, texts_of(b), config)))
            if not flight:
                break
            b, fut = flight.popleft()
            try:
                outcomes = fut.result()
            except BrokenProcessPool as e:
                raise WorkerDied(
                    "a worker process died without finishing its batch (out of memory? try fewer --jobs)"
                ) from e
            yield b, outcomes
        finished = True
        if failure is not None:
            raise failure
    finally:
        if finished:
            pool.shutdown(wait=True)
        else:  # interrupted, a worker died, or the consumer stopped early
            _stop(pool)


def _stop(pool: ProcessPoolExecutor) -> None:
    """Stop ``pool``'s workers now, mid-batch if need be."""
    stop = getattr(pool, "terminate_workers", None)  # Python >= 3.14
    if stop is not None:
        stop()
        return
    # Before shutdown, which forgets them.
    procs = list((getattr(pool, "_processes", None) or {}).values())
    for p in procs:
        if p.is_alive():
            p.terminate()
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        p.join(timeout=5)
