"""Alerts on a failed gate: the Markdown summary (for a PR comment or job summary) and a
Slack-compatible webhook POST when AFQ_ALERT_WEBHOOK_URL is set.

A webhook that cannot be reached is reported on stderr and never changes the gate's verdict.
"""
from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request


WEBHOOK_ENV = "AFQ_ALERT_WEBHOOK_URL"
REPORT_URL_ENV = "AFQ_REPORT_URL"      # where the published site lives, linked from the alert


def slack_text(v) -> str:
    """A short plain alert: what failed, the regression list, the link. Slack's mrkdwn is not GitHub's."""
    from ..verdict import regression
    fails = [f for f in v.findings if f.verdict.fails]
    m = v.meta.get("machine", {})
    lines = [f"*AllFrame quality gate failed* — run {v.run_id} on {m.get('cpu_model', '?')} "
             f"({m.get('cores', '?')} cores): {len(fails)} failed checks"]
    lines += [f"• {f.suite}: {f.what} — {f.label}" + (f" ({f.note})" if f.note else "") for f in fails[:20]]
    if len(fails) > 20:
        lines.append(f"… and {len(fails) - 20} more")
    listed = regression.regression_list(v.changes)
    if listed:
        lines += ["Changes against the baseline:"] + [f"• {x}" for x in listed[:15]]
    if os.environ.get(REPORT_URL_ENV):
        lines.append(f"Report: {os.environ[REPORT_URL_ENV]}")
    return "\n".join(lines)


def post_webhook(url: str, text: str, timeout: float = 10.0) -> int:
    """POST {"text": ...} as JSON (Slack's incoming-webhook format, which Mattermost and others accept)."""
    req = urllib.request.Request(url, data=json.dumps({"text": text}).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return resp.status


def notify(v) -> bool:
    """Send the webhook alert if one is configured. Returns whether an alert was delivered."""
    url = os.environ.get(WEBHOOK_ENV)
    if not url:
        return False
    try:
        status = post_webhook(url, slack_text(v))
    except (urllib.error.URLError, OSError, ValueError) as e:
        print(f"gate: alert webhook {WEBHOOK_ENV} could not be reached: {e}", file=sys.stderr)
        return False
    print(f"gate: alert sent to the webhook ({status})", file=sys.stderr)
    return True
