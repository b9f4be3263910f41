"""A scenario's history in daily blocks: the `[timeline]` section of a scenario file.

    [timeline]
    genesis = "2025-08-31"          # the node's genesis; the `steps` are seeded at this instant
    start = "2025-09-01"            # one block or more per day from start to end, inclusive
    end = "2025-11-06"
    days = [{ date = "2025-11-04", events = ["writedown"] }]

Each day's named events (the scenario's `[[events]]`, checked when the file loads) run as real
transactions stamped 00:00 UTC of that day; a day without events gets one empty block at that
instant. So the block for a date (the last at or before its 00:00 UTC) holds that day's events,
and every past day's state stays readable on the devnet, which keeps its history.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from loopscan.devnet.node import Anvil
from loopscan.devnet.scenario import Scenario
from loopscan.devnet.seed import Seeder

__all__ = ["Timeline", "load_timeline", "day_timestamp"]


def day_timestamp(day: date) -> int:
    """00:00 UTC of `day`, in seconds."""
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


@dataclass(frozen=True)
class Timeline:
    genesis: date
    start: date
    end: date
    events: dict[date, tuple[str, ...]]  # day -> the scenario events run that day, in order

    @property
    def genesis_timestamp(self) -> int:
        return day_timestamp(self.genesis)

    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    def mine(self, node: Anvil, seeder: Seeder, scenario: Scenario) -> list[dict]:
        """Run every day on the node; returns, per day, its date, last block and events."""
        mined = []
        for day in self.days():
            node.rpc("evm_setNextBlockTimestamp", [day_timestamp(day)])
            names = self.events.get(day, ())
            if names:
                for name in names:
                    seeder.run(scenario.events[name])
            else:
                node.rpc("evm_mine", [day_timestamp(day)])
            mined.append({"date": day.isoformat(), "block": node.block_number(), "events": list(names)})
        return mined


def _date(value: object, where: str, scenario: Scenario) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value  # TOML's own local date
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise scenario.error(where, f"{value!r} is not a date like 2025-09-01") from None


def load_timeline(scenario: Scenario) -> Timeline | None:
    """The scenario's `[timeline]`, checked (dates in order, events known), or None."""
    section = tomllib.loads(scenario.path.read_text()).get("timeline")
    if section is None:
        return None
    genesis = _date(section.get("genesis"), "timeline.genesis", scenario)
    start = _date(section.get("start"), "timeline.start", scenario)
    end = _date(section.get("end"), "timeline.end", scenario)
    if not genesis < start <= end:
        raise scenario.error("timeline", f"needs genesis < start <= end, got {genesis}, {start}, {end}")
    events: dict[date, tuple[str, ...]] = {}
    for i, entry in enumerate(section.get("days", []), 1):
        day = _date(entry.get("date"), f"timeline.days[{i}].date", scenario)
        if not start <= day <= end:
            raise scenario.error(f"timeline.days[{i}]", f"{day} is outside {start}..{end}")
        if day in events:
            raise scenario.error(f"timeline.days[{i}]", f"{day} is listed twice")
        names = tuple(entry.get("events", []))
        unknown = [n for n in names if n not in scenario.events]
        if unknown or not names:
            raise scenario.error(f"timeline.days[{i}]", f"unknown or no events {unknown or names!r}")
        events[day] = names
    return Timeline(genesis, start, end, events)

