"""The supervisor of `up` with real child processes: a death is noticed, the restart waits the backoff and is
reported, a child that keeps dying is given up on, and stopping cancels a restart that was due."""

from __future__ import annotations

import sys
from pathlib import Path

from pipeline_queue.supervisor import Backoff, Event, Supervisor
from tests.polling import wait_for

DIES = [sys.executable, "-c", "print('dying'); raise SystemExit(3)"]
LIVES = [sys.executable, "-c", "import time; time.sleep(60)"]


class Clock:
    """A clock the test moves, so backoff delays are checked without waiting for them."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _events(supervisor: Supervisor) -> list[Event]:
    return list(wait_for(supervisor.check, what="an event", timeout=20))


def test_backoff_grows_to_its_maximum_and_gives_up_after_quick_deaths() -> None:
    backoff = Backoff(initial=1, factor=2, maximum=5, give_up_after=4)
    assert [backoff.delay(n) for n in (1, 2, 3, 4, 5)] == [1, 2, 4, 5, 5]
    assert (backoff.gives_up(3), backoff.gives_up(4)) == (False, True)
    assert not Backoff(give_up_after=0).gives_up(1000)


def test_a_dead_child_is_restarted_after_its_delay_and_its_log_keeps_the_death(tmp_path: Path) -> None:
    clock = Clock()
    supervisor = Supervisor(log_dir=tmp_path, backoff=Backoff(initial=1, factor=2, give_up_after=3), clock=clock)
    first = supervisor.start("job", DIES, env={})
    try:
        [died] = _events(supervisor)
        assert (died.kind, died.child.pid, died.delay, died.restarts) == ("exited", first.pid, 1, 1)
        assert died.child.process.returncode == 3
        assert supervisor.check() == []  # the delay is not over
        clock.now += 1
        [restarted] = supervisor.check()
        assert restarted.kind == "restarted" and restarted.child.pid != first.pid
        assert supervisor.children == [restarted.child]

        [again] = _events(supervisor)
        assert (again.kind, again.delay) == ("exited", 2)  # a quick death in a row doubles the delay
        clock.now += 2
        assert [event.kind for event in supervisor.check()] == ["restarted"]
        [fatal] = _events(supervisor)
        assert fatal.fatal and fatal.restarts == 2
        log = (tmp_path / "job.log").read_text()
        assert log.count("dying") == 3 and "--- restart 2 of job ---" in log
    finally:
        supervisor.stop(timeout=5)


def test_a_child_that_ran_steadily_restarts_after_the_initial_delay(tmp_path: Path) -> None:
    clock = Clock()
    supervisor = Supervisor(log_dir=tmp_path, backoff=Backoff(initial=1, factor=2, steady=30), clock=clock)
    supervisor.start("job", DIES, env={})
    try:
        clock.now += 31  # it "ran" longer than `steady` before it died
        [died] = _events(supervisor)
        assert died.delay == 1
    finally:
        supervisor.stop(timeout=5)


def test_a_child_not_to_be_restarted_is_fatal_at_its_first_death(tmp_path: Path) -> None:
    supervisor = Supervisor(log_dir=tmp_path)
    supervisor.start("cluster", DIES, env={}, restart=False)
    try:
        [event] = _events(supervisor)
        assert event.fatal
    finally:
        supervisor.stop(timeout=5)


def test_stop_cancels_a_due_restart_and_stops_the_living(tmp_path: Path) -> None:
    clock = Clock()
    supervisor = Supervisor(log_dir=tmp_path, clock=clock)
    dying = supervisor.start("dying", DIES, env={})
    living = supervisor.start("living", LIVES, env={})
    _events(supervisor)
    supervisor.stop(timeout=5)
    clock.now += 60
    assert supervisor.check() == []
    assert living.process.returncode is not None and supervisor.children == [dying, living]
