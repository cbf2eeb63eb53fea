"""Process pools for the stages' parallel work: a worker the OS kills fails the stage at once, never a hang.

multiprocessing.Pool replaces a worker that died (SIGKILL from the out-of-memory killer, a crash in native
code) and waits forever for the task it held; a ProcessPoolExecutor marks itself broken and raises instead.
"""

import os
import threading
import time
from collections import deque
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from itertools import islice

from asr.errors import UserError


@contextmanager
def worker_pool(workers: int, context, initializer=None, initargs=(), what: str = "worker", setting: str = "workers"):
    """Yield a ProcessPoolExecutor of `workers` processes started by `context` (a multiprocessing context).

    A dead worker becomes one UserError naming `what` died and the `setting` that lowers memory use; on any
    error the work not yet started is cancelled instead of being waited for. A worker whose parent is gone
    (killed, so no shutdown reached the pool) exits by itself instead of waiting for work forever.
    """
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_start_orphan_proof_worker,
                               initargs=(os.getpid(), initializer, initargs))
    try:
        yield pool
    except BrokenProcessPool as exc:
        pool.shutdown(wait=False, cancel_futures=True)
        raise UserError(f"a {what} process died ({exc}) - the operating system kills a process that runs out of "
                        f"memory: lower {setting} or free memory") from None
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def bounded_map(pool: Executor, fn, items, chunksize: int = 16, window: int = 8):
    """Yield fn(item) for each of `items` in input order, with at most `window` chunks of `chunksize` items
    submitted and not yet consumed.

    Executor.map submits every item at once and keeps each finished result until it is read: if the consumer
    falls behind (writing a shard, a slow disk), results pile up in memory in proportion to the corpus. Here the
    results held are bounded by window * chunksize, whatever the number of items.
    """
    items, pending = iter(items), deque()
    while chunk := list(islice(items, chunksize)):
        if len(pending) == window:
            yield from pending.popleft().result()
        pending.append(pool.submit(_call_on_chunk, fn, chunk))
    while pending:
        yield from pending.popleft().result()


PARENT_CHECK_SECONDS = 0.5


def _start_orphan_proof_worker(parent_pid: int, initializer, initargs) -> None:
    """Exit when the pool's process dies (the worker is then re-parented), then run the pool's own initializer."""
    def watch():
        while os.getppid() == parent_pid:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(1)  # nobody is left to read a result: no cleanup to wait for

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
    if initializer is not None:
        initializer(*initargs)


def _call_on_chunk(fn, chunk: list) -> list:
    return [fn(item) for item in chunk]
