"""The stall rule of tests/loop_stalls.py on synthetic readings, and its control process for
real: a stall the machine explains is excused, one it does not explain is counted."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from tests.loop_stalls import (
    FUTEX,
    RUNNABLE,
    MachineObserver,
    Observation,
    Sample,
    Ticker,
    assert_no_stalls,
    judge,
    machine_delay,
)

pytestmark = pytest.mark.timeout(60)
LIMIT = 0.25
STEP = 0.01
SLEEP = 230  # clock_nanosleep on x86_64; any system call but a futex would do
STALL = Sample(2.0, 2.41, 0.01)  # a 10 ms sleep that woke 400 ms late


def readings(*spans: tuple[float, float, str], until: float = 5.0) -> list[Observation]:
    """A reading every 10 ms. Outside `spans` the loop thread runs; within a (start, end,
    what) span it is "waiting" for a CPU, blocked in a "sleep", or waiting for the GIL while
    its holder is kept off the CPUs ("gil, holder waiting") or runs ("gil, holder running")."""
    out: list[Observation] = []
    loop_ran = others_ran = others_waited = 0.0
    for n in range(round(until / STEP) + 1):
        at = n * STEP
        what = next((w for start, end, w in spans if start < at <= end), "running")
        futex = FUTEX if FUTEX is not None else SLEEP + 1  # any other call stands for it
        syscall = {"sleep": SLEEP}.get(what, futex if what.startswith("gil") else RUNNABLE)
        loop_ran += STEP if what == "running" else 0.0
        others_ran += STEP if what == "gil, holder running" else 0.0
        others_waited += STEP if what == "gil, holder waiting" else 0.0
        out.append(Observation(at, 0.0, loop_ran, syscall, others_ran, others_waited))
    return out


def counted(spans: list[tuple[float, float, str]], stall: Sample = STALL) -> list[Sample]:
    return [sample for sample, _ in judge([stall], readings(*spans), limit=LIMIT).counted]


def test_a_stall_the_machine_explains_is_excused() -> None:
    verdict = judge([STALL], readings((2.0, 2.3, "waiting")), limit=LIMIT)
    assert verdict.counted == [] and [s for s, _ in verdict.excused] == [STALL]


def test_a_stall_only_the_loop_saw_is_counted() -> None:
    """The loop ran throughout (newsdesk computing on it): nothing to excuse."""
    [(stall, delay)] = judge([STALL], readings(), limit=LIMIT).counted
    assert stall == STALL and delay == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(AssertionError, match="the loop blocked:\n1 stalls counted"):
        assert_no_stalls(judge([STALL], readings(), limit=LIMIT), "the loop")


def test_a_machine_delay_elsewhere_in_time_excuses_nothing() -> None:
    assert counted([(0.5, 1.99, "waiting"), (2.42, 4.0, "waiting")]) == [STALL]


def test_the_machine_must_explain_all_of_the_excess() -> None:
    """400 ms late needs 150 ms explained: 100 ms of waiting for a CPU is not enough."""
    [(_, delay)] = judge([STALL], readings((2.1, 2.2, "waiting")), limit=LIMIT).counted
    assert delay == pytest.approx(0.1)
    assert counted([(2.1, 2.3, "waiting")]) == []


def test_a_loop_blocked_in_a_system_call_is_never_excused() -> None:
    """time.sleep or I/O on the loop: newsdesk's, however busy the machine is meanwhile."""
    assert counted([(2.0, 2.4, "sleep")]) == [STALL]


def test_waiting_for_the_gil_is_excused_only_while_its_holder_waits_for_a_cpu() -> None:
    assert counted([(2.0, 2.35, "gil, holder waiting")]) == []
    assert counted([(2.0, 2.35, "gil, holder running")]) == [STALL]  # a worker hogs the GIL


def test_samples_within_the_limit_are_not_judged() -> None:
    within = [Sample(1.0, 1.2), Sample(3.0, 3.25)]
    verdict = judge(within, readings(), limit=LIMIT)
    assert verdict.counted == [] and verdict.excused == []


def test_machine_delay_is_prorated_at_the_window_edges() -> None:
    observations = readings((1.0, 2.0, "waiting"))
    assert machine_delay(observations, 1.5, 2.5) == pytest.approx(0.5)
    assert machine_delay(observations, 1.505, 1.515) == pytest.approx(0.01)
    assert machine_delay(observations, 3.0, 4.0) == pytest.approx(0.0, abs=1e-9)
    assert machine_delay([], 0.0, 1.0) == 0.0


async def test_the_control_process_counts_a_blocked_loop_as_newsdesks() -> None:
    """For real: a 400 ms time.sleep on the loop is counted, busy machine or not (the loop
    thread sleeps; it does not wait for a CPU)."""
    observer = MachineObserver(threading.get_native_id())
    with observer.running():
        async with Ticker().running() as lag:
            await asyncio.sleep(0.1)
            blocked = time.monotonic()
            time.sleep(0.4)  # noqa: ASYNC251 - the stall under test
            await asyncio.sleep(0.1)
        observations = observer.window(lag.start, lag.end)
    assert observations[0].at <= lag.start and observations[-1].at >= lag.end
    assert any(o.loop_syscall not in (RUNNABLE, FUTEX) for o in observations)  # saw it sleep
    [(stall, delay)] = judge(lag.samples, observations, limit=LIMIT).counted
    assert stall.start <= blocked and stall.end >= blocked + 0.4
    assert delay < stall.late - LIMIT
