"""fitcli.executors.LocalExecutor: results complete and unordered, dead
workers and raising tasks reported, and stopping never hangs -- the case
where multiprocessing.Pool.terminate() deadlocks (every task handed out, a
worker idle and waiting) included."""
import os
import signal
import time

import pytest

from fitcli.executors import LocalExecutor, WorkerError


def square(n):
    return n * n


def slow(n):
    time.sleep(0.05 * n)
    return n


def boom(n):
    if n == 3:
        raise ValueError("task 3 broke")
    return n


def suicide(n):
    if n == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return n


def pid_of(_):
    return os.getpid()


def test_every_result_once_whatever_the_order():
    with LocalExecutor(2) as ex:
        got = list(ex.map_unordered(square, range(200)))
    assert sorted(got) == [n * n for n in range(200)]


def test_work_is_spread_over_the_workers():
    with LocalExecutor(2) as ex:
        pids = set(ex.map_unordered(pid_of, range(40)))
    assert len(pids) == 2 and os.getpid() not in pids


def test_a_raising_task_is_a_worker_error_with_its_traceback():
    with LocalExecutor(2) as ex:
        with pytest.raises(WorkerError, match="task 3 broke"):
            list(ex.map_unordered(boom, range(10)))


def test_a_killed_worker_is_reported_not_waited_for():
    start = time.monotonic()
    with LocalExecutor(2) as ex:
        with pytest.raises(WorkerError, match="ended"):
            list(ex.map_unordered(suicide, range(10)))
    assert time.monotonic() - start < 30     # reported, not hung


@pytest.mark.parametrize("taken", [0, 1, 3])
def test_cancel_with_idle_workers_does_not_hang(taken):
    """Two tasks for three workers: one worker is idle, all tasks are out;
    cancelling (what an interrupted batch does) ends every process."""
    ex = LocalExecutor(3)
    procs = [p for p, _ in ex._workers]
    it = ex.map_unordered(slow, [1, 2])
    for _ in range(min(taken, 2)):
        next(it)
    start = time.monotonic()
    ex.close(cancel=True)
    assert time.monotonic() - start < 30     # ended, not hung
    assert all(not p.is_alive() for p in procs)


def test_close_without_tasks_and_twice():
    ex = LocalExecutor(2)
    ex.close()
    ex.close()
    with pytest.raises(ValueError):
        LocalExecutor(0)


# --------------------------------------------------------------------------
# Dask (the test extras install it: these run in CI)
def test_dask_local_cluster_runs_every_task(tmp_path):
    pytest.importorskip("distributed")  # only absent outside '.[test]'
    from fitcli.executors import DaskExecutor

    with DaskExecutor("local:2") as ex:
        got = sorted(ex.map_unordered(square, range(50)))
    assert got == [n * n for n in range(50)]


@pytest.mark.parametrize("address, message", [
    ("local:0", "expected local or local:N with N a whole number >= 1"),
    ("local:x", "expected local or local:N"),
    ("tcp://127.0.0.1:9", "cannot connect to the Dask scheduler"),
])
def test_dask_bad_cluster_addresses_are_one_line(address, message,
                                                monkeypatch):
    pytest.importorskip("distributed")
    from fitcli import executors
    from fitcli.executors import DaskError, DaskExecutor

    monkeypatch.setattr(executors, "CONNECT_TIMEOUT", "1s")
    with pytest.raises(DaskError, match=message) as info:
        DaskExecutor(address)
    assert "\n" not in str(info.value)


def test_dask_raising_task_is_a_worker_error():
    pytest.importorskip("distributed")
    from fitcli.executors import DaskExecutor

    with DaskExecutor("local:1") as ex:
        with pytest.raises(WorkerError, match="task 3 broke"):
            list(ex.map_unordered(boom, range(6)))
