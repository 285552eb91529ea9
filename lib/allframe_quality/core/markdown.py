"""Markdown for PR comments, job summaries and pages: table cells, numbers, and fitting GitHub's comment limit."""
from __future__ import annotations

import math

COMMENT_LIMIT = 65_536                 # GitHub's maximum comment body, in characters
_CUT = "\n\n… (cut to fit GitHub's comment limit; the full summary is in the job's artifacts)\n"


def cell(text) -> str:
    """Text that stays inside one table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def number(v) -> str:
    """A measured value for a table: '—' when missing, thousands separated from 1,000, two decimals otherwise."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    if isinstance(v, (int, float)) and abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.2f}" if isinstance(v, float) else str(v)


def fit(md: str, limit: int = COMMENT_LIMIT) -> str:
    """Cut Markdown to `limit` characters at a line boundary, closing a folded section left open."""
    if len(md) <= limit:
        return md
    room = limit - len(_CUT) - len("\n</details>\n")
    head = md[:room].rsplit("\n", 1)[0]
    if head.count("<details>") > head.count("</details>"):
        head += "\n</details>"
    return head + _CUT
