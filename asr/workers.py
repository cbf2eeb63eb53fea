"""Process pools for the stages' parallel work: a worker the OS kills fails the stage at once, never a hang.

multiprocessing.Pool replaces a worker that died (SIGKILL from the out-of-memory killer, a crash in native
code) and waits forever for the task it held; a ProcessPoolExecutor marks itself broken and raises instead.
"""

from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager

from asr.errors import UserError


@contextmanager
def worker_pool(workers: int, context, initializer=None, initargs=(), what: str = "worker", setting: str = "workers"):
    """Yield a ProcessPoolExecutor of `workers` processes started by `context` (a multiprocessing context).

    A dead worker becomes one UserError naming `what` died and the `setting` that lowers memory use; on any
    error the work not yet started is cancelled instead of being waited for.
    """
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=initializer, initargs=initargs)
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
