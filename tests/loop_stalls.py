"""Telling newsdesk's event-loop stalls from the machine's.

On a shared machine a wall-clock check measures the other jobs too: while they keep the cores
busy, the bot's loop thread waits for a CPU, and so does any thread of the bot holding the GIL
the loop needs. A test that promises "newsdesk never blocks its event loop for more than
`limit`" therefore records two series on one clock (time.monotonic, CLOCK_MONOTONIC, which is
system-wide on Linux, so two processes' readings compare):

- the bot's loop: how late it got round to something due (`Ticker`, heartbeats) and how long
  each callback ran (`Callbacks`, or asyncio's slow-callback reports), each a `Sample`;
- a control process (`MachineObserver`): a separate OS process that every 10 ms notes how
  late it woke itself and reads the kernel's account of the bot's threads under
  /proc/<pid>/task: each one's CPU time and time spent runnable but waiting for a CPU
  (schedstat), and what the loop thread is blocked in, if anything (syscall).

The rule (`judge`), for every sample more than `limit` late:

    it counts against newsdesk unless `machine_delay` over its window covers the excess
    (lateness - limit), where machine_delay adds up, over the control process's readings:
    - while the loop thread was runnable (not blocked in a system call): the time it did not
      get on a CPU;
    - while it was blocked on a futex (waiting for the GIL, or a lock) and another of the
      bot's threads waited for a CPU meanwhile: the time no other thread got on a CPU either
      (the GIL's holder was kept off the CPUs);
    - while it was blocked in any other system call (a sleep, disk or socket I/O): nothing.

So a loop that newsdesk blocks (sleeping, waiting on I/O, or computing) always counts, busy
machine or not, and a machine delay outside a sample's window excuses nothing. Where /proc
cannot be read, nothing is excused.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

TICK = 0.01
# The control process stops on its own after this long, whatever happens to the test.
OBSERVER_MAX_SECONDS = 3600.0
FUTEX = {"x86_64": 202, "aarch64": 98}.get(platform.machine())
RUNNABLE = -1  # Observation.loop_syscall when the loop thread is on a CPU or waiting for one


@dataclass(frozen=True)
class Sample:
    """Something due at `start` + `expected` that happened at `end` (monotonic seconds)."""

    start: float
    end: float
    expected: float = 0.0

    @property
    def late(self) -> float:
        return self.end - self.start - self.expected


@dataclass(frozen=True)
class Observation:
    """One reading of the control process: when, how late it woke for it, and the kernel's
    cumulative counters of the bot's threads at that moment (seconds)."""

    at: float
    late: float
    loop_ran: float  # the loop thread's CPU time
    loop_syscall: int  # the system call it is blocked in, or RUNNABLE
    others_ran: float  # the other threads' CPU time, summed
    others_waited: float  # the other threads' time waiting for a CPU, summed


def _kept_off(before: Observation, after: Observation) -> float:
    """Seconds between two readings that the machine kept the loop from running."""
    span = after.at - before.at
    states = {before.loop_syscall, after.loop_syscall}
    if span <= 0 or states - {RUNNABLE, FUTEX}:
        return 0.0  # blocked in a system call of its own for some of it: newsdesk's
    ran = after.loop_ran - before.loop_ran
    if states == {RUNNABLE}:
        return max(span - ran, 0.0)
    if after.others_waited <= before.others_waited:
        return 0.0  # waited for the GIL (or a lock) while nobody waited for a CPU: newsdesk's
    others = after.others_ran - before.others_ran
    return max(span - ran - others, 0.0)


def machine_delay(
    observations: Sequence[Observation],
    start: float,
    end: float,
    times: Sequence[float] | None = None,
) -> float:
    """Seconds of [start, end] the machine kept the bot's loop from running (the rule in the
    module docstring); readings' intervals across an edge count pro rata. `times`: the
    readings' `at`, if the caller has them already."""
    times = times if times is not None else [o.at for o in observations]
    first = max(bisect.bisect_right(times, start), 1)
    total = 0.0
    for index in range(first, len(observations)):
        before, after = observations[index - 1], observations[index]
        if before.at >= end:
            break
        overlap = min(end, after.at) - max(start, before.at)
        if overlap > 0:
            total += _kept_off(before, after) * overlap / (after.at - before.at)
    return total


@dataclass(frozen=True)
class Verdict:
    """Every sample over the limit, with the machine delay over its window."""

    counted: list[tuple[Sample, float]]  # newsdesk's own
    excused: list[tuple[Sample, float]]  # explained by the machine

    def describe(self) -> str:
        def line(kind: str, sample: Sample, delay: float) -> str:
            return (
                f"  {kind}: {sample.late * 1000:.0f} ms late at {sample.end:.3f}, "
                f"machine delay {delay * 1000:.0f} ms"
            )

        lines = [f"{len(self.counted)} stalls counted, {len(self.excused)} excused by the machine"]
        lines += [line("counted", s, d) for s, d in self.counted]
        lines += [line("excused", s, d) for s, d in self.excused[:20]]
        return "\n".join(lines)


def judge(
    samples: Sequence[Sample],
    observations: Sequence[Observation],
    *,
    limit: float,
    excuse: float | None = None,
) -> Verdict:
    """Samples more than `limit` late, counted unless the machine delay over the sample's
    window covers the excess (late - limit), or, given `excuse`, is at least `excuse`."""
    counted: list[tuple[Sample, float]] = []
    excused: list[tuple[Sample, float]] = []
    times = [o.at for o in observations]
    for sample in samples:
        if sample.late <= limit:
            continue
        delay = machine_delay(observations, sample.start, sample.end, times)
        needed = sample.late - limit if excuse is None else min(excuse, sample.late - limit)
        (excused if delay >= needed else counted).append((sample, delay))
    return Verdict(counted, excused)


def assert_no_stalls(verdict: Verdict, what: str) -> None:
    assert not verdict.counted, f"{what} blocked:\n{verdict.describe()}"


def spread(name: str, values: Sequence[float]) -> str:
    """`name: max X ms, p99 Y ms (n values)`, for a test's log."""
    if len(values) < 2:
        return f"{name}: {len(values)} values"
    p99 = statistics.quantiles(values, n=100, method="inclusive")[98]
    return f"{name}: max {max(values) * 1000:.0f} ms, p99 {p99 * 1000:.1f} ms ({len(values)})"


@dataclass
class Lag:
    """The ticker's samples, and the window they cover."""

    samples: list[Sample] = field(default_factory=list)
    start: float = 0.0
    end: float = 0.0


class Ticker:
    """How late a `tick` sleep on the running loop wakes, sample after sample."""

    def __init__(self, tick: float = TICK) -> None:
        self.tick = tick
        self.lag = Lag()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            await asyncio.sleep(self.tick)
            self.lag.samples.append(Sample(started, loop.time(), self.tick))

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Lag]:
        """Samples on loop.time(), which is time.monotonic() like every other series."""
        self.lag.start = time.monotonic()
        task = asyncio.create_task(self._run(), name="loop-stall-ticker")
        try:
            yield self.lag
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            self.lag.end = time.monotonic()


class Callbacks:
    """Every callback (a task's step included) that a loop in this process runs for longer
    than `threshold`, as a sample of its duration, named by its task's coroutine."""

    def __init__(self, threshold: float = 0.05) -> None:
        self.threshold = threshold
        self.samples: list[Sample] = []
        self.names: list[str] = []

    @contextlib.contextmanager
    def recording(self) -> Iterator[Callbacks]:
        run = asyncio.events.Handle._run
        threshold, samples, names = self.threshold, self.samples, self.names

        def timed(handle: asyncio.Handle) -> None:
            started = time.monotonic()
            try:
                run(handle)
            finally:
                ended = time.monotonic()
                if ended - started > threshold:
                    samples.append(Sample(started, ended))
                    names.append(_name(handle))

        asyncio.events.Handle._run = timed  # type: ignore[method-assign, assignment]
        try:
            yield self
        finally:
            asyncio.events.Handle._run = run  # type: ignore[method-assign]


def _name(handle: asyncio.Handle) -> str:
    task = getattr(getattr(handle, "_callback", None), "__self__", None)
    if isinstance(task, asyncio.Task):
        return getattr(task.get_coro(), "__qualname__", task.get_name())
    return repr(handle)[:120]


class MachineObserver:
    """The control process, watching one thread of this process as the loop thread; its
    readings stream back and collect in `observations`."""

    def __init__(self, loop_thread: int, interval: float = TICK) -> None:
        self.loop_thread = loop_thread
        self.interval = interval
        self.observations: list[Observation] = []
        self._arrived = threading.Condition()
        self._process: subprocess.Popen[str] | None = None

    @contextlib.contextmanager
    def running(self) -> Iterator[MachineObserver]:
        from tests.environment import child_env  # not in the control process: it stays light

        assert time.get_clock_info("monotonic").implementation == (
            "clock_gettime(CLOCK_MONOTONIC)"
        ), "the series need one system-wide clock"
        threads = {thread.native_id for thread in threading.enumerate()}
        assert self.loop_thread in threads, "the loop thread is not a thread of this process"
        command = [sys.executable, "-m", "tests.loop_stalls", str(os.getpid())]
        command += [str(self.loop_thread), str(self.interval), str(OBSERVER_MAX_SECONDS)]
        process = subprocess.Popen(command, env=child_env(), stdout=subprocess.PIPE, text=True)
        assert process.stdout is not None
        self._process = process
        reader = threading.Thread(target=self._read, args=(process,), daemon=True)
        reader.start()
        try:
            self.wait_until(time.monotonic() + self.interval, timeout=30)
            yield self
        finally:
            process.terminate()
            process.wait(timeout=30)
            reader.join(timeout=30)
            process.stdout.close()

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            at, late, loop_ran, loop_syscall, others_ran, others_waited = line.split()
            reading = Observation(
                float(at),
                float(late),
                float(loop_ran),
                int(loop_syscall),
                float(others_ran),
                float(others_waited),
            )
            with self._arrived:
                self.observations.append(reading)
                self._arrived.notify_all()

    def wait_until(self, moment: float, *, timeout: float = 10.0) -> None:
        """Until a reading at or after `moment` has arrived (the window is then covered)."""
        with self._arrived:
            covered = self._arrived.wait_for(
                lambda: bool(self.observations) and self.observations[-1].at >= moment,
                timeout=timeout,
            )
        assert covered, "the control process stopped reporting"

    def window(self, start: float, end: float) -> list[Observation]:
        """The readings from the last one before `start` to the first one after `end`."""
        self.wait_until(end)
        with self._arrived:
            readings = list(self.observations)
        times = [o.at for o in readings]
        first = max(bisect.bisect_left(times, start) - 1, 0)
        return readings[first : bisect.bisect_right(times, end) + 1]


# -- the control process ------------------------------------------------------------------


def _schedstat(handle: int) -> tuple[float, float]:
    """A thread's CPU time and its time waiting for a CPU, in seconds (schedstat)."""
    ran, waited, _ = os.pread(handle, 100, 0).split()
    return int(ran) / 1e9, int(waited) / 1e9


def _observe(pid: int, loop_thread: int, interval: float, max_seconds: float) -> None:
    """Every `interval` until stdout or the observed process goes away (or `max_seconds`
    pass): print `at late loop_ran loop_syscall others_ran others_waited`."""
    tasks = Path(f"/proc/{pid}/task")
    handles: dict[int, int] = {}
    last: dict[int, tuple[float, float]] = {}
    others_ran = others_waited = 0.0
    syscall: int | None
    try:
        syscall = os.open(tasks / str(loop_thread) / "syscall", os.O_RDONLY)
        os.pread(syscall, 100, 0)
    except OSError:
        syscall = None  # not allowed to look: the loop counts as blocked, nothing is excused
    started = due = time.monotonic()
    while due - started < max_seconds:
        due += interval
        time.sleep(max(due - time.monotonic(), 0.0))
        at = time.monotonic()
        late, due = at - due, max(due, at - interval)
        state = 0  # "in a system call" unless seen otherwise
        if syscall is not None:
            with contextlib.suppress(OSError, ValueError):
                word = os.pread(syscall, 100, 0).split()[0]
                state = RUNNABLE if word == b"running" else int(word)
        try:
            threads = [int(path.name) for path in tasks.iterdir()]
        except OSError:
            threads = []  # no /proc here (or the process is gone): nothing to excuse with
        for gone in set(handles) - set(threads):
            os.close(handles.pop(gone))
        for thread in threads:
            try:
                if thread not in handles:
                    handles[thread] = os.open(tasks / str(thread) / "schedstat", os.O_RDONLY)
                ran, waited = _schedstat(handles[thread])
            except OSError:
                continue  # it just ended
            if thread != loop_thread and thread in last:
                others_ran += ran - last[thread][0]
                others_waited += waited - last[thread][1]
            last[thread] = ran, waited
        loop_ran = last.get(loop_thread, (0.0, 0.0))[0]
        line = f"{at:.6f} {late:.6f} {loop_ran:.6f} {state} {others_ran:.6f} {others_waited:.6f}"
        try:
            print(line, flush=True)
        except BrokenPipeError:
            return


if __name__ == "__main__":
    _observe(int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]))
