"""Steps of a job with their durations (the Data page's progress), on a hand-driven clock."""
from __future__ import annotations

import pytest

from portal.data.job_steps import StepClock, import_steps, seconds


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_each_new_message_closes_the_previous_step_with_its_duration():
    clock = Clock()
    steps = StepClock(clock)
    shown = []
    progress = steps.wrap(lambda fraction, text: shown.append((fraction, text)))
    progress(0.0, "Reading")
    clock.now += 1.25
    progress(0.2, "Reading")  # the same step goes on
    clock.now += 0.25
    progress(0.4, "Cleaning")
    clock.now += 12.4
    progress(0.9, "Training churn models")
    clock.now += 3.0
    assert steps.text() == "Reading 1.5 s · Cleaning 12 s · now: Training churn models (3.0 s)"
    assert shown[1] == (0.2, "now: Reading (1.2 s)")
    done = steps.finish()
    assert [name for name, _ in done] == ["Reading", "Cleaning", "Training churn models"]
    assert [d for _, d in done] == pytest.approx([1.5, 12.4, 3.0])
    assert steps.current is None and "now:" not in steps.text()


def test_durations_and_import_timings_are_written_for_people():
    assert [seconds(v) for v in (0.04, 9.96, 61, 125)] == ["0.0 s", "10.0 s", "61 s", "2 min 05 s"]
    assert import_steps({"load_s": 1.0, "describe_s": 2.0}) == [("Read", 1.0), ("Descriptive results", 2.0)]
    steps = StepClock(Clock())
    for n in range(100):
        steps.add(f"step {n}", n)
    assert len(steps.text(80)) == 80 and steps.text(80).endswith("step 99 99 s")
