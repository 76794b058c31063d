"""Whether a cohort's follow-up is complete, so that its result (and any payment) exists.

A person's outcome windows close on the first day they no longer count: the window's start
plus `recorded_within_months` (the conviction window, 18 months for Peterborough), or
`window_months` when events are counted whenever they are recorded. A window has closed for
the data when the data was extracted on or after that day: an extract taken on the last
counted day may not hold that day's convictions yet.

A cohort is complete when its release period has ended by the data's extraction date and
every member's windows have closed by it. The extraction date is a fact of the imported data
(each import says when its data was extracted), never the wall clock: data imported today
from an extract taken last year covers last year. A cohort whose release period has no end
(still recruiting, or its end not set in the programme file) is never complete.

Pure: dates in, a FollowUp out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from engine.outcomes.outcome_measures import OutcomeMeasure, add_months

NO_PAYMENT = "no payment can be computed"


def window_close(start: date, measure: OutcomeMeasure) -> date:
    """The first day after a person's windows (nothing on or after it counts)."""
    months = measure.recorded_within_months or measure.window_months
    return add_months(start, months)


@dataclass(frozen=True)
class FollowUp:
    """How far a group's follow-up has got by the data's extraction date."""

    members: int
    open_windows: int
    """Members whose windows had not closed by the extraction date (all, when unknown)."""
    extracted_on: date | None
    """The outcome data's extraction date; None: unknown (no import gave one)."""
    release_end: date | None
    """The last day of the release period; None: not set (still recruiting)."""
    complete_on: date | None
    """The first day an extract can show the whole follow-up: the latest member's window
    close (and not before the release period has ended); None when the end is not set."""

    @property
    def complete(self) -> bool:
        return (self.extracted_on is not None and self.release_end is not None
                and self.release_end < self.extracted_on and self.open_windows == 0)

    def words(self, open_shown: int | str | None = None, members_shown: int | str | None = None
              ) -> str:
        """The status in words. open_shown / members_shown replace the counts where
        disclosure control hides them (a count of people)."""
        count = self.open_windows if open_shown is None else open_shown
        total = self.members if members_shown is None else members_shown
        extracted = self.extracted_on.isoformat() if self.extracted_on else None
        if self.complete and not self.members:
            return (f"complete, with nobody in it: no one measured was released in its "
                    f"period (data extracted on {extracted})")
        if self.complete:
            return (f"complete: every member's windows closed by {extracted} (the data's "
                    "extraction date)")
        still = (f"windows still open (how many is suppressed: too few people to show) of "
                 f"{total}" if isinstance(count, str) else
                 f"{count} of {total} windows still open")
        if self.release_end is None:
            return (f"interim: {still} — {NO_PAYMENT}; the release period has no end in the "
                    "programme file (still recruiting, or its end not set), so the cohort "
                    "cannot be complete")
        when = self.complete_on.isoformat() if self.complete_on else "?"
        if self.extracted_on is None or self.release_end >= self.extracted_on:
            # people may still be released: the last of them sets the day
            when += (f" at the earliest (releases run to {self.release_end.isoformat()}, "
                     "each followed up for its own windows)")
        if extracted is None:
            return (f"interim: {still} — {NO_PAYMENT}: the outcome data's extraction date "
                    "is unknown (import the data with its extraction date: pathways outcomes "
                    f"import --extracted-on), so no window is known to have closed; complete "
                    f"with data extracted on or after {when}")
        return (f"interim: {still} on {extracted} (the data's extraction date) — "
                f"{NO_PAYMENT}; complete with data extracted on or after {when}")


def follow_up(starts: Iterable[date], measure: OutcomeMeasure, extracted_on: date | None,
              release_end: date | None) -> FollowUp:
    """The follow-up of people whose windows start on `starts`, for data extracted on
    `extracted_on` (None: unknown), the release period ending on `release_end` (None: no
    end)."""
    closes = [window_close(start, measure) for start in starts]
    still_open = len(closes) if extracted_on is None else sum(
        1 for close in closes if close > extracted_on)
    complete_on = None if release_end is None else max(
        [*closes, release_end + timedelta(days=1)])
    return FollowUp(members=len(closes), open_windows=still_open, extracted_on=extracted_on,
                    release_end=release_end, complete_on=complete_on)


def group_follow_up(starts: Iterable[date], measure: OutcomeMeasure,
                    extracted_on: date | None) -> FollowUp:
    """The follow-up of a closed group (a matched comparison group: nobody joins it later):
    its release period ends with its latest release."""
    chosen = list(starts)
    return follow_up(chosen, measure, extracted_on, max(chosen) if chosen else None)
