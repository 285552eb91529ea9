"""The gate's email alert against a real local SMTP server (aiosmtpd) that requires STARTTLS (a self-signed
certificate made by openssl) and a login: one plain-text mail on exit 1 and none on exit 0; a server that
cannot be reached or refuses the login is a warning and the exit code stays the gate's."""
import email
import email.policy
import ssl
import subprocess

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from allframe_quality.alerts import webhook as alerts, email as email_alert
from allframe_quality.suites import gate
from allframe_quality.commands import gate as gate_command
from allframe_quality.tools.postgres import free_port
from conftest import save_cqrs

USER, PASSWORD = "afq-ci", "s3cret pass"


@pytest.fixture
def smtp_server(tmp_path, monkeypatch):
    """A local SMTP server on 127.0.0.1 demanding STARTTLS before AUTH, keeping every message it accepts;
    the AFQ_SMTP_* settings point at it."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True)
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    got = []

    class Keep:
        async def handle_DATA(self, server, session, envelope):
            got.append({"from": envelope.mail_from, "to": envelope.rcpt_tos, "tls": session.ssl is not None,
                        "login": session.auth_data if session.authenticated else None, "msg": email.message_from_bytes(envelope.content, policy=email.policy.default)})
            return "250 OK"

    def login(server, session, envelope, mechanism, auth_data):
        ok = (auth_data.login, auth_data.password) == (USER.encode(), PASSWORD.encode())
        return AuthResult(success=ok, handled=False, auth_data=auth_data.login if ok else None)

    port = free_port()
    ctl = Controller(Keep(), hostname="127.0.0.1", port=port, tls_context=tls, require_starttls=True,
                     authenticator=login, auth_require_tls=True, auth_required=True)
    ctl.start()
    for k, v in {"HOST": "127.0.0.1", "PORT": str(port), "USER": USER, "PASSWORD": PASSWORD,
                 "FROM": "allframe-quality <ci@example.org>", "TO": "dev1@example.org, dev2@example.org",
                 "CAFILE": str(cert)}.items():
        monkeypatch.setenv(email_alert.ENV + k, v)
    monkeypatch.delenv(alerts.WEBHOOK_ENV, raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.setenv(alerts.REPORT_URL_ENV, "https://example.org/allframe-quality/")
    yield port, got
    ctl.stop()


def _regressed_run() -> str:
    save_cqrs("20260101T000000Z-00001", 100)
    return save_cqrs("20260102T000000Z-00002", 130, instructions=1600)   # 30 % slower, 28 % more instructions


def test_a_failed_gate_sends_one_plain_text_mail_over_starttls(data_dir, smtp_server, capsys):
    port, got = smtp_server
    assert gate_command.main(["--run", _regressed_run()]) == 1
    assert len(got) == 1, capsys.readouterr().err
    m = got[0]
    assert m["tls"] and m["login"] == USER.encode()
    assert m["from"] == "ci@example.org" and m["to"] == ["dev1@example.org", "dev2@example.org"]
    msg = m["msg"]
    assert msg["Subject"] == "AllFrame quality gate failed: 2 failed checks"
    assert "run 20260102T000000Z-00002" in msg.get_content()
    assert msg.get_content_type() == "text/plain" and not msg.is_multipart()
    body = msg.get_content().replace("\r\n", "\n")     # as sent: CRLF lines
    assert "Failed checks:\n- cqrs: allframe / command_dispatch — instructions_per_op — ❌ regressed +27.7%" in body
    assert "Report: https://example.org/allframe-quality/" in body
    assert f"email alert sent to dev1@example.org, dev2@example.org via 127.0.0.1:{port}" in capsys.readouterr().err
    with capsys.disabled():    # the mail as received, for whoever runs this with -s
        print(f"\n--- received by the local SMTP server on 127.0.0.1:{port} (STARTTLS, login {USER})\n"
              f"MAIL FROM: {m['from']}\nRCPT TO: {m['to']}\n{msg.as_string()}\n--- its body, decoded\n{body}")


def test_a_passing_gate_sends_no_mail(data_dir, smtp_server):
    _, got = smtp_server
    save_cqrs("20260101T000000Z-00001", 100)
    save_cqrs("20260102T000000Z-00002", 100.2)
    assert gate_command.main(["--run", "20260102T000000Z-00002"]) == 0
    assert got == []


def test_an_unreachable_server_or_a_refused_login_warns_and_keeps_the_exit_code(data_dir, smtp_server, monkeypatch, capsys):
    port, got = smtp_server
    run = _regressed_run()
    monkeypatch.setenv(email_alert.ENV + "PASSWORD", "wrong")
    assert gate_command.main(["--run", run]) == 1
    assert f"warning: email alert to 127.0.0.1:{port} could not be sent: SMTPAuthenticationError" in capsys.readouterr().err
    nobody = free_port()
    monkeypatch.setenv(email_alert.ENV + "PORT", str(nobody))
    assert gate_command.main(["--run", run]) == 1
    assert f"warning: email alert to 127.0.0.1:{nobody} could not be sent: ConnectionRefusedError" in capsys.readouterr().err
    assert got == []


def test_incomplete_settings_are_named(data_dir, monkeypatch, capsys):
    monkeypatch.setenv(email_alert.ENV + "HOST", "127.0.0.1")
    monkeypatch.delenv(email_alert.ENV + "TO", raising=False)
    with pytest.raises(email_alert.SettingsError, match="AFQ_SMTP_TO"):
        email_alert.settings()
    monkeypatch.delenv(email_alert.ENV + "HOST")
    assert email_alert.settings() is None
