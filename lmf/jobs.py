"""Independent runs side by side (reproduce.py --jobs, train.py --seeds N --jobs): a pool of worker processes,
each training one run at a time with its share of the CPU threads.

A model this small does not scale across threads (BENCHMARKS.md: per core, a run on one thread trains the most
samples per second), so the cores serve runs side by side instead. Workers are fresh processes (spawn: nothing of
the parent's Paddle state), set their threads once, and every run seeds itself: a run's numbers never depend on
what ran beside it, and with the same threads per run --jobs 1 and --jobs N give identical numbers (a test).
Workers ignore Ctrl-C (the parent stops them) and die with the parent (prctl PR_SET_PDEATHSIG on Linux), so a
killed command leaves no run training on: the same command trains again what had no record.
"""
import contextlib
import os
import signal
import sys

import utils
from lmf import parallel

THREADS_PER_JOB = 1  # the fastest per core for these models (BENCHMARKS.md, "Runs side by side")
JOB_MEMORY = 2 ** 30  # bytes a job may need beyond the shared, memory-mapped data (a process with paddle: ~0.3 GB)


def available_memory():
    """MemAvailable of /proc/meminfo in bytes, or None where there is none."""
    try:
        with open('/proc/meminfo') as f:
            for line in f:
                if line.startswith('MemAvailable:'):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def default_jobs(runs, cpu_threads=None, device='cpu'):
    """Runs side by side by default: the cores at `cpu_threads` per run (default THREADS_PER_JOB, or
    $LMF_CPU_THREADS), at most `runs`, at most one per JOB_MEMORY of available memory; 1 on a GPU and under
    paddle.distributed.launch (one device, one data-parallel run)."""
    if device == 'gpu' or parallel.world()[1] > 1:
        return 1
    threads = cpu_threads or (utils.default_cpu_threads() if os.environ.get('LMF_CPU_THREADS') else THREADS_PER_JOB)
    memory = available_memory()
    by_memory = memory // JOB_MEMORY if memory else runs
    return max(1, min(runs, utils.available_cores() // threads, by_memory))


def check(jobs):
    """A bad --jobs (None: the default) is a UserError."""
    if jobs is not None and jobs < 1:
        raise utils.UserError('--jobs must be >= 1, got {}'.format(jobs))
    if jobs is not None and jobs > 1 and parallel.world()[1] > 1:
        raise utils.UserError('--jobs {}: runs side by side do not mix with paddle.distributed.launch; '
                              'use --jobs 1 there'.format(jobs))


def settle(jobs, runs, cpu_threads, device):
    """(jobs, CPU threads per run) from --jobs and --cpu_threads (None: the defaults above)."""
    check(jobs)
    jobs = jobs or default_jobs(runs, cpu_threads, device)
    return jobs, cpu_threads or utils.default_cpu_threads(jobs)


def _die_with_parent(parent):
    """Linux: SIGKILL when the parent dies (a killed command leaves no worker training on)."""
    try:
        import ctypes
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent died before prctl
        os._exit(1)


def _start(parent, device, cpu_threads):
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which stops the pool
    _die_with_parent(parent)
    sys.stdout = open(os.devnull, 'w')  # the runs' logs are their files; the parent prints progress
    utils.setup_device(device, cpu_threads)


def _stop(executor):
    """Stop the workers now, the runs they were training too (shutdown alone would wait for those to finish)."""
    processes = list((executor._processes or {}).values())  # no public way before Python 3.14; gone after shutdown
    for process in processes:
        process.kill()
    executor.shutdown(wait=True, cancel_futures=True)


@contextlib.contextmanager
def pool(jobs, device, cpu_threads):
    """A function run(function, [args, ...]) that yields (index, function(*args)) as each finishes: in this
    process one after the other for jobs == 1, else in `jobs` workers (function: a module-level function,
    pickled by name). A worker's exception is raised here, and a worker killed by a signal (the out-of-memory
    killer, say) is a UserError, not a hang; leaving the block stops the workers."""
    if jobs == 1:
        yield lambda function, arguments: ((i, function(*args)) for i, args in enumerate(arguments))
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool
    executor = ProcessPoolExecutor(jobs, multiprocessing.get_context('spawn'), _start,
                                   (os.getpid(), device, cpu_threads))

    def run(function, arguments):
        futures = {executor.submit(function, *args): i for i, args in enumerate(arguments)}
        try:
            for future in as_completed(futures):
                yield futures[future], future.result()
        except BrokenProcessPool:
            raise utils.UserError('a --jobs worker process died (killed by a signal: out of memory?); what finished '
                                  'before is kept')

    try:
        yield run
    except BaseException:  # Ctrl-C, a run's error or a dead worker: stop the runs still training
        _stop(executor)
        raise
    executor.shutdown(wait=True)
