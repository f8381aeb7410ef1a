"""DESKWATCH_DATABASE_URL is a secret (issue 13 point 1): the whole URL and its password alone
are blanked in logs, whatever library prints them."""

from __future__ import annotations

from bot.secrets import REDACTED, redact, secret_values

URL = "postgresql://desk:Corr3ct-Horse-Battery@db.internal:5432/deskwatch"


def test_the_url_and_its_password_are_redacted() -> None:
    secrets = secret_values({"DESKWATCH_DATABASE_URL": URL}, [])
    assert redact(f"cannot connect to {URL}", secrets) == f"cannot connect to {REDACTED}"
    assert redact("auth failed: password Corr3ct-Horse-Battery rejected", secrets) == (
        f"auth failed: password {REDACTED} rejected")


def test_the_database_name_and_host_stay_readable() -> None:
    secrets = secret_values({"DESKWATCH_DATABASE_URL": URL}, [])
    assert redact("wrote /data/deskwatch.db and db.internal:5432/deskwatch", secrets) == (
        "wrote /data/deskwatch.db and db.internal:5432/deskwatch")
