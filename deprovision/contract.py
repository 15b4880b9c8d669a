"""The subscription contract's timeline: notice deadlines, renewal and refund windows, pro-rata value.

Pure date logic: ``timeline(terms, today)`` computes everything from the contract's dates and a day
given by the caller. Salesforce renews a subscription automatically unless written notice arrives at
least ``notice_days`` (30) before the term ends; 60 days before the end is the safe margin; cancelling
within the first 30 days of the service gives a full refund, later at best a pro-rata refund of the
unused term. ``today_from()`` is the one place the clock is read (``--today``, or ``DEPROVISION_TODAY``
only when ``DEPROVISION_TESTING=1``).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

SAFE_MARGIN_DAYS = 60  # recommended: send notice this many days before the term ends
REFUND_DAYS = 30  # cancelling within the first 30 days of the service: full refund
DEFAULT_NOTICE_DAYS = 30

WINDOW_BEFORE_START = "before_start"
WINDOW_FULL_REFUND = "full_refund"
WINDOW_NORMAL = "normal"
WINDOW_RENEWAL = "renewal"
WINDOW_ENDED = "ended"

_WINDOW_TEXT = {
    WINDOW_BEFORE_START: "before the service starts",
    WINDOW_FULL_REFUND: "inside the first-30-days full-refund window",
    WINDOW_NORMAL: "in the term, before the renewal window",
    WINDOW_RENEWAL: "inside the renewal window: the notice deadline has passed",
    WINDOW_ENDED: "past the end of the term",
}


@dataclass(frozen=True)
class Terms:
    """What the contract says (the playbook's ``contract:``)."""

    start: date
    end: date
    notice_days: int = DEFAULT_NOTICE_DAYS
    annual_fee: float | None = None
    currency: str | None = None
    notice_to: str | None = None  # where written notice goes (the contract's channel)

    @classmethod
    def of(cls, contract: Any) -> Terms:
        """Terms from the playbook's ``contract:`` model (anything with the same attributes)."""
        return cls(start=contract.start, end=contract.end, notice_days=contract.notice_days,
                   annual_fee=contract.annual_fee, currency=contract.currency, notice_to=contract.notice_to)


@dataclass
class Timeline:
    """Every date and figure derived from the terms on one day."""

    today: str
    start: str
    end: str
    notice_days: int
    last_notice_day: str
    recommended_notice_day: str
    full_refund_until: str
    renews_on: str
    window: str
    window_text: str
    in_renewal_window: bool
    in_full_refund_window: bool
    days_to_last_notice: int
    days_to_recommended: int
    days_to_end: int
    term_days: int
    unused_days: int
    annual_fee: float | None = None
    currency: str | None = None
    notice_to: str | None = None
    unused_value: float | None = None  # pro-rata value of the unused term (None without a fee)
    refund: str = ""  # "full", "pro-rata at best", "none"
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _money(amount: float, currency: str | None) -> str:
    return f"{amount:,.2f} {currency}" if currency else f"{amount:,.2f}"


def timeline(terms: Terms, today: date) -> Timeline:
    """The contract's deadlines and windows as seen on ``today``."""
    if terms.end < terms.start:
        raise ValueError("the contract ends before it starts")
    last_notice = terms.end - timedelta(days=terms.notice_days)
    recommended = terms.end - timedelta(days=max(SAFE_MARGIN_DAYS, terms.notice_days))
    refund_until = terms.start + timedelta(days=REFUND_DAYS - 1)
    term_days = (terms.end - terms.start).days + 1
    if today < terms.start:
        window, unused = WINDOW_BEFORE_START, term_days
    elif today > terms.end:
        window, unused = WINDOW_ENDED, 0
    else:
        unused = (terms.end - today).days  # today counts as used
        if today <= refund_until:
            window = WINDOW_FULL_REFUND
        elif today > last_notice:
            window = WINDOW_RENEWAL
        else:
            window = WINDOW_NORMAL
    full_refund = window in (WINDOW_BEFORE_START, WINDOW_FULL_REFUND)
    refund = "full" if full_refund else ("none" if window == WINDOW_ENDED else "pro-rata at best")
    value = None
    if terms.annual_fee is not None:
        value = terms.annual_fee if full_refund else round(terms.annual_fee * unused / term_days, 2)
    result = Timeline(
        today=today.isoformat(), start=terms.start.isoformat(), end=terms.end.isoformat(),
        notice_days=terms.notice_days, last_notice_day=last_notice.isoformat(),
        recommended_notice_day=recommended.isoformat(), full_refund_until=refund_until.isoformat(),
        renews_on=(terms.end + timedelta(days=1)).isoformat(), window=window, window_text=_WINDOW_TEXT[window],
        in_renewal_window=window == WINDOW_RENEWAL, in_full_refund_window=window == WINDOW_FULL_REFUND,
        days_to_last_notice=(last_notice - today).days, days_to_recommended=(recommended - today).days,
        days_to_end=(terms.end - today).days, term_days=term_days, unused_days=unused,
        annual_fee=terms.annual_fee, currency=terms.currency, notice_to=terms.notice_to,
        unused_value=value, refund=refund,
    )
    result.warnings = _warnings(result, recommended, today)
    return result


def _warnings(t: Timeline, recommended: date, today: date) -> list[str]:
    out = []
    if t.window == WINDOW_ENDED:
        out.append(f"the term ended on {t.end}: without notice given by {t.last_notice_day} the contract "
                   f"renewed automatically on {t.renews_on}")
    elif t.window == WINDOW_RENEWAL:
        out.append(f"the last day to send written notice ({t.last_notice_day}) has passed: the contract renews "
                   f"automatically on {t.renews_on} unless Salesforce agrees otherwise")
    elif today > recommended:
        out.append(f"past the recommended notice day ({t.recommended_notice_day}): "
                   f"{t.days_to_last_notice} day(s) left to send written notice (by {t.last_notice_day})")
    if t.window == WINDOW_FULL_REFUND:
        left = (date.fromisoformat(t.full_refund_until) - today).days + 1
        out.append(f"cancel by {t.full_refund_until} for a full refund ({left} day{'' if left == 1 else 's'} left, today included)")
    elif t.window in (WINDOW_NORMAL, WINDOW_RENEWAL):
        fee = f" (unused term worth {_money(t.unused_value, t.currency)})" if t.unused_value is not None else ""
        out.append(f"the full-refund window closed on {t.full_refund_until}: a refund is pro-rata on the unused "
                   f"term at best{fee}, and early-termination fees may apply")
    return out


def text_lines(t: Timeline) -> list[str]:
    """The timeline as lines of text (the same words in plan, contract and report)."""
    lines = [
        f"Term: {t.start} to {t.end} ({t.term_days} days); today {t.today}: {t.window_text}.",
        f"Last day to send written notice: {t.last_notice_day} ({_days(t.days_to_last_notice)}; "
        f"{t.notice_days} days before the end).",
        f"Recommended day to send notice: {t.recommended_notice_day} ({_days(t.days_to_recommended)}).",
        f"Full refund if cancelled by: {t.full_refund_until}.",
        f"Without notice the contract renews on {t.renews_on} ({_days(t.days_to_end + 1)}).",
    ]
    if t.notice_to:
        lines.append(f"Written notice goes to: {t.notice_to}.")
    if t.unused_value is not None:
        what = "full refund" if t.refund == "full" else f"unused term, {t.unused_days} of {t.term_days} days"
        lines.append(f"Annual fee {_money(t.annual_fee or 0, t.currency)}; {what}: "
                     f"{_money(t.unused_value, t.currency)} ({t.refund}).")
    lines.extend(f"Warning: {w}" for w in t.warnings)
    return lines


def _days(n: int) -> str:
    if n == 0:
        return "today"
    if n > 0:
        return f"in {n} day" + ("" if n == 1 else "s")
    return f"{-n} day" + ("" if n == -1 else "s") + " ago"


def today_from(option: str | date | None = None, environ: dict[str, str] | None = None) -> date:
    """The day to compute with: ``option`` (``--today``), else ``DEPROVISION_TODAY`` when
    ``DEPROVISION_TESTING=1``, else today in UTC."""
    env = os.environ if environ is None else environ
    if isinstance(option, date):
        return option
    value = option or (env.get("DEPROVISION_TODAY") if env.get("DEPROVISION_TESTING") == "1" else None)
    if value:
        return date.fromisoformat(value)
    return datetime.now(UTC).date()
