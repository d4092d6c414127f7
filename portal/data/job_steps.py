"""Steps of an import or a model fit with their durations, for the Data page's progress.

A job reports ``progress(fraction, message)``; :class:`StepClock` treats each new
message as the start of a step that lasts until the next one, so the Data page can
say "Reading 1.2 s · Cleaning 0.8 s · Storing 2.0 s · now: Training churn models (4 s)".
"""
from __future__ import annotations

import time
from typing import Callable

Progress = Callable[[float, str], None]
SEPARATOR = " · "


def seconds(value: float) -> str:
    """A duration as the Data page writes it (``0.4 s``, ``12 s``, ``2 min 05 s``)."""
    if value < 10:
        return f"{value:.1f} s"
    if value < 120:
        return f"{value:.0f} s"
    minutes, rest = divmod(round(value), 60)
    return f"{minutes} min {rest:02d} s"


class StepClock:
    """Durations of the steps a job reports.  ``done`` holds ``(step, seconds)`` of the
    finished steps; ``current`` the running step (None once :meth:`finish` ran)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self.done: list[tuple[str, float]] = []
        self.current: str | None = None
        self._since = clock()

    def step(self, message: str) -> None:
        """Step ``message`` starts now (the same message again continues the step)."""
        message = str(message).strip()
        if not message or message == self.current:
            return
        self._close()
        self.current = message

    def finish(self) -> list[tuple[str, float]]:
        self._close()
        self.current = None
        return self.done

    def add(self, step: str, duration: float) -> None:
        """A step timed elsewhere (e.g. by the import of another process)."""
        self.done.append((step, float(duration)))

    def _close(self) -> None:
        now = self._clock()
        if self.current is not None:
            self.done.append((self.current, now - self._since))
        self._since = now

    def text(self, limit: int = 500) -> str:
        """Finished steps with their durations, then the running one with its time so far."""
        parts = [f"{name} {seconds(duration)}" for name, duration in self.done]
        if self.current is not None:
            parts.append(f"now: {self.current} ({seconds(self._clock() - self._since)})")
        text = SEPARATOR.join(parts)
        # keep the end (the running step) when a long list must be shortened
        return text if len(text) <= limit else "…" + text[-(limit - 1):]

    def wrap(self, report: Progress) -> Progress:
        """A progress callback that records steps and passes the step list on as the message."""
        def progress(fraction: float, message: str) -> None:
            self.step(message)
            report(fraction, self.text())
        return progress


IMPORT_STEPS = {"load_s": "Read", "clean_s": "Clean", "store_s": "Store", "describe_s": "Descriptive results"}


def import_steps(timings: dict[str, float]) -> list[tuple[str, float]]:
    """The import's steps (``ImportOutcome.timings``) with their Data page names."""
    return [(IMPORT_STEPS.get(key, key), value) for key, value in timings.items()]
