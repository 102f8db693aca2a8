"""What `wait` shows: each post with its delivery time, a long stretch summarised."""

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from bot.console.fakeslack import Call

SHOWN_FIRST = 4
SHOWN_LAST = 2
KINDS_LISTED = 8


@dataclass(frozen=True)
class Delivery:
    """A post made while the clock moved: when, what, and who saw it."""

    at: datetime
    call: Call
    label: str


def summary(deliveries: list[Delivery]) -> tuple[list[Delivery], str, list[Delivery]]:
    """Return the first posts to show in full, a few lines counting the middle, the last posts."""
    if len(deliveries) <= SHOWN_FIRST + SHOWN_LAST + 1:
        return deliveries, "", []
    middle = deliveries[SHOWN_FIRST:-SHOWN_LAST]
    kinds = Counter(f"{_headline(d.call)} · {d.label}" for d in middle)
    first, last = middle[0].at, middle[-1].at
    lines = [
        f"… {len(middle):,} more posts from {_day(first)} to {_day(last)}, not shown one by one:"
    ]
    lines += [f"  {count:>5,} × {kind}" for kind, count in kinds.most_common(KINDS_LISTED)]
    if len(kinds) > KINDS_LISTED:
        rest = sum(count for _kind, count in kinds.most_common()[KINDS_LISTED:])
        lines.append(f"  {rest:>5,} × other posts")
    return deliveries[:SHOWN_FIRST], "\n".join(lines), deliveries[-SHOWN_LAST:]


def _headline(call: Call) -> str:
    """Return the first line of a post, without mrkdwn marks or numbers that vary."""
    params = call.params
    blocks = params.get("blocks") or (params.get("view") or {}).get("blocks") or []
    text = str(params.get("text") or "")
    for block in blocks if isinstance(blocks, list) else []:
        found = (block.get("text") or {}).get("text") if isinstance(block, dict) else None
        if found:
            text = str(found)
            break
    line = re.sub(r"<[^>|]*\|([^>]*)>|<([^>]*)>", r"\1\2", text.split("\n")[0])
    line = re.sub(r"[*_~`]", "", line)
    return line[:70] or call.method


def _day(moment: datetime) -> str:
    return f"{moment:%a} {moment.day} {moment:%b %Y}"
