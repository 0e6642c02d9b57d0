"""Which job a free worker starts next: the longest expected first, learning each briefing's cost in a cold build."""

from __future__ import annotations

import math
from pathlib import Path

from rare_earth_lib.build.executor import JobOrder, LocalExecutor
from rare_earth_lib.build.jobs import Job, Staged
from rare_earth_lib.build.pipeline import LongestFirst, evaluation_env


def job(briefing: str, scenario: str, last_total_s: float | None = None) -> Job:
    previous = {"timings": {"total_s": last_total_s}} if last_total_s is not None else None
    return Job(briefing, scenario, Path(f"{briefing}.ipynb"), {}, ("html",), Path("reports"), previous=previous)


def built(j: Job, seconds: float) -> Staged:
    return Staged(j.briefing, j.scenario, "built", seconds=seconds)


def test_last_build_times_put_the_longest_first():
    order = LongestFirst()
    pending = [job("a", "s1", 5.0), job("b", "s1", 20.0), job("c", "s1", 12.0)]
    assert order.choose(pending) == 1


def test_a_cold_build_starts_each_briefing_once_then_the_longest():
    order = LongestFirst()
    pending = [job(b, s) for s in ("s1", "s2") for b in ("short", "long")]
    assert math.isinf(order.expected(pending[0]))
    first = pending.pop(order.choose(pending))
    assert (first.briefing, first.scenario) == ("short", "s1"), "unknown costs keep the given order"
    order.learn(first, built(first, 3.0))
    second = pending.pop(order.choose(pending))
    assert (second.briefing, second.scenario) == ("long", "s1"), "a briefing not yet measured goes before a known short one"
    order.learn(second, built(second, 30.0))
    third = pending.pop(order.choose(pending))
    assert (third.briefing, third.scenario) == ("long", "s2"), "then the longest measured"
    failed = Staged("short", "s2", "failed", seconds=0.1)
    order.learn(pending[0], failed)
    assert order.expected(pending[0]) == 3.0, "a failed job's time says nothing about its briefing's cost"


def _echo(x: str) -> str:
    return x


class Reversed(JobOrder):
    def __init__(self) -> None:
        self.learned: list[str] = []

    def choose(self, pending: list) -> int:
        return len(pending) - 1

    def learn(self, job, outcome) -> None:
        self.learned.append(outcome)


def test_local_pool_starts_jobs_one_at_a_time_in_the_order_chosen():
    executor = LocalExecutor(1)
    executor.order = Reversed()
    try:
        results = list(executor.run(_echo, ["a", "b", "c"]))
    finally:
        executor.close()
    assert results == [("c", "c"), ("b", "b"), ("a", "a")]
    assert executor.order.learned == ["c", "b", "a"]


def test_discovery_evaluates_in_the_kernel_only_when_the_workers_fill_the_cores():
    assert evaluation_env(2, cores=2) == {"RARE_EARTH_EVALUATE_IN_KERNEL": "1"}
    assert evaluation_env(1, cores=2) == {}, "a build of one job leaves the other core to the notebook's own cluster"


def test_the_last_jobs_to_start_start_no_spare_kernel():
    order = LongestFirst()
    assert order.starting(job("a", "s1"), remaining=2).warm_next
    last = order.starting(job("a", "s2"), remaining=0)
    assert not last.warm_next and (last.briefing, last.scenario) == ("a", "s2")
