"""SMTP email against a real local server: STARTTLS with a verified certificate, login from the environment."""

from __future__ import annotations

from datetime import date

import pytest

from tests import billdata, smtpfake
from tests.conftest import one_line_error, query

PASSWORD = "smtp-pass-s3cr3t"


def config(port: int, security: str = "starttls", login: bool = True) -> str:
    auth = 'username_env = "FINOPS_TEST_SMTP_USER"\npassword_env = "FINOPS_TEST_SMTP_PASSWORD"\n' if login else ""
    return (
        billdata.CONFIG
        + f"""
[[notify]]
name = "mail"
type = "smtp"
host = "{"localhost" if security == "starttls" else "127.0.0.1"}"
port = {port}
security = "{security}"
sender = "finops@example.com"
to = ["ml-leads@example.com", "cfo@example.com"]
{auth}"""
    )


@pytest.fixture
def bill(run, tmp_path, db, monkeypatch):
    billdata.load_file(db, billdata.october(tmp_path / "bill.csv", date(2026, 11, 1)))
    monkeypatch.setenv("FINOPS_TEST_SMTP_USER", "finops")
    monkeypatch.setenv("FINOPS_TEST_SMTP_PASSWORD", PASSWORD)
    return run


def test_starttls_login_and_the_mail(bill, tmp_path, db, monkeypatch):
    cert = smtpfake.self_signed(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert[0]))  # the client trusts it as it would a system CA
    with smtpfake.serve(cert, users={"finops": PASSWORD}) as box:
        (tmp_path / "finops.toml").write_text(config(box.port))
        result = bill("alert", "--as-of", "2026-11-05")
    assert result.exit_code == 1, result.output
    assert box.logins == ["finops"]
    [mail] = box.messages
    assert mail["Subject"] == "Budget nlp (2026-10): actual spend 3,400.00 USD is 113.33% of 3,000.00 USD, over 100%"
    assert mail["From"] == "finops@example.com" and mail["To"] == "ml-leads@example.com, cfo@example.com"
    body = mail.get_payload(decode=True).decode()
    assert (
        "actual 3,400.00 USD (113.33%), forecast 3,400.00 USD (113.33%), limit 3,000.00 USD on effective cost" in body
    )
    assert "top services: EC2 3,100.00; Support 300.00" in body
    assert PASSWORD not in result.output + result.stderr


def test_an_untrusted_certificate_or_wrong_password_stays_pending(bill, tmp_path, db, monkeypatch):
    cert = smtpfake.self_signed(tmp_path)
    with smtpfake.serve(cert, users={"finops": "other"}) as box:
        (tmp_path / "finops.toml").write_text(config(box.port))
        untrusted = bill("alert", "--as-of", "2026-11-05")  # SSL_CERT_FILE not set: verification fails
        assert "1 channel(s) failed" in one_line_error(untrusted)
        assert "SSLCertVerificationError" in untrusted.stderr
        monkeypatch.setenv("SSL_CERT_FILE", str(cert[0]))
        refused = bill("alert", "--as-of", "2026-11-05")
        one_line_error(refused)
        assert "login refused (535); check FINOPS_TEST_SMTP_USER and FINOPS_TEST_SMTP_PASSWORD" in refused.stderr
    assert box.messages == []
    assert query(db, "SELECT attempts, sent_at FROM alert_deliveries") == [(2, None)]
    for result in (untrusted, refused):
        assert PASSWORD not in result.output + result.stderr
    assert PASSWORD not in str(query(db, "SELECT * FROM alert_deliveries"))


def test_plain_smtp_to_a_local_relay(bill, tmp_path):
    with smtpfake.serve() as box:
        (tmp_path / "finops.toml").write_text(config(box.port, security="plain", login=False))
        assert bill("alert", "--as-of", "2026-11-05").exit_code == 1
    assert len(box.messages) == 1


def test_missing_password_variable_is_named(bill, tmp_path, monkeypatch):
    (tmp_path / "finops.toml").write_text(config(2525))
    monkeypatch.delenv("FINOPS_TEST_SMTP_PASSWORD")
    error = one_line_error(bill("alert"))
    assert "'notify[0].password_env': environment variable FINOPS_TEST_SMTP_PASSWORD is not set" in error
