"""Executors: where the datasets of a batch are fitted.

One interface, :class:`Executor` -- ``map_unordered(func, tasks)`` yields
``func(task)`` for every task, in the order the results arrive -- with two
kinds behind it:

* :class:`LocalExecutor` (``--jobs N``): worker processes on this machine.
* :class:`DaskExecutor` (``--cluster ADDRESS``): the workers of a Dask
  cluster (optional extra ``fitcli[dask]``).

Why not ``multiprocessing.Pool``: its workers share one task queue guarded
by a lock that a worker holds while it waits for the next task.
``Pool.terminate()`` (what an interrupted batch must call) takes that lock
first, so a Ctrl-C or SIGTERM that arrives while every task has been handed
out and a worker is idle hangs the batch for ever (seen in the test suite
under load).  Here every worker has its own pipe and nothing is shared: the
parent hands a task to a worker only when that worker is idle, and stopping
is sending SIGTERM to the worker processes and reaping them.
"""
from __future__ import annotations

import os
import signal
import traceback

from .errors import FitcliError

__all__ = ["Executor", "LocalExecutor", "DaskExecutor", "WorkerError",
           "DaskError"]


class WorkerError(RuntimeError):
    """A task raised in a worker (the message holds its traceback): a bug,
    since fitting functions report a dataset's own failures as results."""


class Executor:
    """Runs ``func(task)`` for many tasks; see the module docstring."""

    def map_unordered(self, func, tasks):
        raise NotImplementedError

    def close(self, cancel=False):
        """Stop the workers (``cancel``: at once, dropping unfinished
        tasks)."""

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        self.close(cancel=exc is not None)
        return False


# --------------------------------------------------------------------------
# local worker processes
_STOP = None                     # the message that ends a worker


def _worker_main(conn, initializer, initargs):
    """A worker's loop: receive a (func, task), send back ('ok', result) or
    ('error', traceback text); end on the stop message or a closed pipe."""
    if initializer is not None:
        initializer(*initargs)
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            break
        if message is _STOP:
            break
        func, task = message
        try:
            reply = ("ok", func(task))
        except Exception:
            reply = ("error", traceback.format_exc())
        try:
            conn.send(reply)
        except (BrokenPipeError, OSError):
            break
    conn.close()


def _context():
    import multiprocessing as mp
    methods = mp.get_all_start_methods()
    return mp.get_context("fork" if "fork" in methods else "spawn")


class LocalExecutor(Executor):
    """``njobs`` worker processes, each with its own duplex pipe.

    Parameters
    ----------
    njobs : int
        Number of worker processes (>= 1).
    initializer : callable, optional
        Called in each worker with ``initargs`` before its first task
        (signal handlers, shared read-only state).
    initargs : tuple
    """

    def __init__(self, njobs, initializer=None, initargs=()):
        if njobs < 1:
            raise ValueError("njobs must be at least 1")
        ctx = _context()
        self._workers = []
        try:
            for _ in range(njobs):
                parent, child = ctx.Pipe(duplex=True)
                proc = ctx.Process(target=_worker_main,
                                   args=(child, initializer, initargs),
                                   daemon=True)
                proc.start()
                child.close()
                self._workers.append((proc, parent))
        except BaseException:
            self.close(cancel=True)
            raise

    def map_unordered(self, func, tasks):
        """Yield ``func(task)`` for each of ``tasks`` as results arrive.
        A worker that dies (killed) ends the iteration with a
        :class:`WorkerError`; a task that raises, too."""
        from multiprocessing.connection import wait

        pending = iter(tasks)
        busy = {}                                  # conn -> process
        idle = list(self._workers)
        exhausted = False
        while True:
            while idle and not exhausted:
                proc, conn = idle.pop()
                try:
                    task = next(pending)
                except StopIteration:
                    exhausted = True
                    idle.append((proc, conn))
                    break
                conn.send((func, task))
                busy[conn] = proc
            if not busy:
                return
            sentinels = {proc.sentinel: conn for conn, proc in busy.items()}
            for ready in wait(list(busy) + list(sentinels)):
                conn = sentinels.get(ready, ready)
                proc = busy.pop(conn, None)
                if proc is None:
                    continue
                try:
                    kind, value = conn.recv()
                except (EOFError, OSError):
                    raise WorkerError(f"worker process {proc.pid} ended "
                                      f"(exit code {proc.exitcode})") from None
                if kind == "error":
                    raise WorkerError(value)
                idle.append((proc, conn))
                yield value

    def close(self, cancel=False):
        """End the workers: politely (the stop message, then wait) or, with
        ``cancel``, by SIGTERM at once (workers unwind the file they are
        writing), SIGKILL for any still alive after 5 s."""
        workers, self._workers = self._workers, []
        for proc, conn in workers:
            if cancel:
                if proc.is_alive():
                    try:
                        os.kill(proc.pid, signal.SIGTERM)
                    except ProcessLookupError:
                        pass
            else:
                try:
                    conn.send(_STOP)
                except (BrokenPipeError, OSError):
                    pass
        for proc, conn in workers:
            proc.join(5.0)
            if proc.is_alive():
                proc.kill()
                proc.join()
            conn.close()


# --------------------------------------------------------------------------
# Dask
class DaskError(FitcliError):
    """The Dask cluster could not be reached or used, or Dask is not
    installed: an input error (one line, exit 2)."""


#: How long to wait for a Dask scheduler to answer.
CONNECT_TIMEOUT = "10s"


def _dask_client(address, njobs=None):
    """A ``distributed.Client`` for ``address``: a scheduler address
    (``tcp://host:8786``), or ``local`` / ``local:N`` for a LocalCluster of
    N worker processes (default: the usable CPUs) on this machine.

    Returns (client, cluster or None)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise DaskError("--cluster needs Dask: pip install 'fitcli[dask]'",
                        key="--cluster") from None
    text = str(address).strip()
    if text == "local" or text.startswith("local:"):
        count = text.partition(":")[2]
        if count and not (count.isdigit() and int(count) >= 1):
            raise DaskError(f"cluster {text!r}: expected local or local:N with "
                            "N a whole number >= 1", key="--cluster")
        workers = int(count) if count else (njobs or None)
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1,
                               processes=True, dashboard_address=":0")
        return Client(cluster), cluster
    try:
        return Client(text, timeout=CONNECT_TIMEOUT), None
    except (OSError, TimeoutError, ValueError) as exc:
        detail = " ".join(str(exc).split())[:200]
        raise DaskError(f"cannot connect to the Dask scheduler {text!r}: "
                        f"{detail}", key="--cluster") from None


class DaskExecutor(Executor):
    """Tasks sent to the workers of a Dask cluster (``fitcli[dask]``).

    Each task is a Dask future; a worker that dies has its tasks run again
    elsewhere (Dask's own rescheduling, up to ``allowed-failures``), results
    come back as they finish.  ``close(cancel=True)`` cancels the futures
    still running.  The functions and their arguments must be importable /
    picklable on the workers (fitcli installed there)."""

    def __init__(self, address, njobs=None):
        self.client, self.cluster = _dask_client(address, njobs)
        self._futures = []

    def n_workers(self):
        """The number of workers the cluster has now."""
        try:
            return len(self.client.scheduler_info().get("workers", {}))
        except Exception:  # noqa: BLE001 - informational only
            return 1

    def map_unordered(self, func, tasks):
        from distributed import as_completed

        futures = self.client.map(func, list(tasks), pure=False)
        self._futures = futures
        for future in as_completed(futures):
            try:
                yield future.result()
            except Exception as exc:
                raise WorkerError(f"a task failed on the cluster: "
                                  f"{type(exc).__name__}: {exc}") from None

    def close(self, cancel=False):
        client, self.client = getattr(self, "client", None), None
        if client is None:
            return
        try:
            if cancel and self._futures:
                client.cancel(self._futures)
        finally:
            client.close()
            if self.cluster is not None:
                self.cluster.close()
