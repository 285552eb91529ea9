"""Email on a failed gate: one plain-text message with the summary and the link, sent when AFQ_SMTP_HOST
(and AFQ_SMTP_TO) are set. STARTTLS by default, login from the environment (CI secrets).

Like the webhook, a server that cannot be reached or refuses the message is a warning on stderr and never
changes the gate's exit code.
"""
from __future__ import annotations

import os
import smtplib
import socket
import ssl
import sys
from dataclasses import dataclass
from email.message import EmailMessage

ENV = "AFQ_SMTP_"   # HOST, PORT (587), USER, PASSWORD, FROM (default USER), TO (comma list), STARTTLS (1), CAFILE


class SettingsError(ValueError):
    pass


@dataclass(frozen=True)
class Settings:
    host: str
    port: int
    sender: str
    to: tuple[str, ...]
    user: str | None = None
    password: str | None = None
    starttls: bool = True
    cafile: str | None = None   # a private CA (or the test's self-signed certificate); default: the system's


def settings(env=os.environ) -> Settings | None:
    """The AFQ_SMTP_* settings, or None when AFQ_SMTP_HOST is not set; incomplete ones are a SettingsError."""
    get = lambda k: (env.get(ENV + k) or "").strip() or None
    host = get("HOST")
    if not host:
        return None
    to = tuple(a.strip() for a in (get("TO") or "").split(",") if a.strip())
    if not to:
        raise SettingsError(f"{ENV}HOST is set but {ENV}TO (comma-separated recipients) is not")
    sender = get("FROM") or get("USER")
    if not sender:
        raise SettingsError(f"{ENV}FROM is not set (nor {ENV}USER to send from)")
    try:
        port = int(get("PORT") or 587)
    except ValueError:
        raise SettingsError(f"{ENV}PORT={get('PORT')!r} is not a port number") from None
    starttls = (get("STARTTLS") or "1").lower() not in ("0", "false", "no", "off")
    if get("USER") and not get("PASSWORD"):
        raise SettingsError(f"{ENV}USER is set but {ENV}PASSWORD is not")
    return Settings(host, port, sender, to, get("USER"), get("PASSWORD"), starttls, get("CAFILE"))


def run_link(env=os.environ) -> str | None:
    """This CI run's page, when running on GitHub Actions."""
    if env.get("GITHUB_RUN_ID") and env.get("GITHUB_REPOSITORY"):
        return f"{env.get('GITHUB_SERVER_URL', 'https://github.com')}/{env['GITHUB_REPOSITORY']}/actions/runs/{env['GITHUB_RUN_ID']}"
    return None


def message(v, s: Settings) -> EmailMessage:
    """The gate's result as a short plain-text mail: what failed, the changes, the links."""
    from . import webhook as alerts
    from ..suites import gate
    from ..verdict import regression
    fails = [f for f in v.findings if f.verdict.fails]
    lines = [f"The AllFrame quality gate failed on run {v.run_id}: {gate.headline(v.findings)}.", "",
             "Failed checks:"]
    lines += [f"- {f.what if f.what.startswith(f.suite + ':') else f'{f.suite}: {f.what}'} — {f.label}"
              + (f" ({f.note})" if f.note else "") for f in fails]
    listed = regression.regression_list(v.changes)
    if listed:
        lines += ["", "Changes against the baseline:"] + [f"- {x}" for x in listed]
    links = [("Report", os.environ.get(alerts.REPORT_URL_ENV)), ("CI run", run_link())]
    lines += [""] + [f"{name}: {url}" for name, url in links if url]
    m = EmailMessage()
    # short enough not to be folded (a folded Subject reads back with a leading space in some clients)
    m["Subject"] = f"AllFrame quality gate failed: {len(fails)} failed check{'s' if len(fails) != 1 else ''}"
    m["From"], m["To"] = s.sender, ", ".join(s.to)
    m.set_content("\n".join(lines) + "\n")
    return m


def send(s: Settings, m: EmailMessage, timeout: float = 15.0) -> None:
    with smtplib.SMTP(s.host, s.port, timeout=timeout) as smtp:
        smtp.ehlo()
        if s.starttls:
            smtp.starttls(context=ssl.create_default_context(cafile=s.cafile))
            smtp.ehlo()
        if s.user:
            smtp.login(s.user, s.password or "")
        smtp.send_message(m)


def notify(v) -> bool:
    """Send the email alert if AFQ_SMTP_HOST is set. Returns whether it was accepted by the server."""
    try:
        s = settings()
    except SettingsError as e:
        print(f"gate: warning: email alert not sent: {e}", file=sys.stderr)
        return False
    if s is None:
        return False
    try:
        send(s, message(v, s))
    except (smtplib.SMTPException, OSError, socket.timeout, ssl.SSLError) as e:
        print(f"gate: warning: email alert to {s.host}:{s.port} could not be sent: {type(e).__name__}: {e}",
              file=sys.stderr)
        return False
    print(f"gate: email alert sent to {', '.join(s.to)} via {s.host}:{s.port}", file=sys.stderr)
    return True
