"""deprovision.toml: named connections, secrets only by reference, clear one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from deprovision.errors import InvalidInputError
from deprovision.org.auth import login_kwargs
from deprovision.org.config import load_org


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "deprovision.toml"
    path.write_text(text)
    return path


def test_jwt_connection_reads_the_key_file_relative_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "prod.key").write_text("PEM")
    path = write(tmp_path, """
[orgs.prod]
method = "jwt"
username = "deprov@acme.com"
consumer_key = "3MVG9CK"
private_key_file = "keys/prod.key"
domain = "https://Acme.my.salesforce.com/"
api_version = "v61.0"
""")
    org = load_org("prod", path)
    assert org.method == "jwt"
    assert org.login_domain == "acme.my"
    assert org.api_version == "61.0"
    assert org.secrets["private_key"].file == tmp_path / "keys" / "prod.key"
    assert org.secret("private_key") == "PEM"


def test_sandbox_selects_the_test_login_domain(tmp_path: Path) -> None:
    path = write(tmp_path, """
[orgs.uat]
method = "password"
username = "admin@acme.com.uat"
password_env = "UAT_PW"
security_token_env = "UAT_TOKEN"
sandbox = true
""")
    org = load_org("uat", path)
    assert org.login_domain == "test"
    kwargs = login_kwargs(org, {"UAT_PW": "pw", "UAT_TOKEN": "tok"})
    assert kwargs == {"username": "admin@acme.com.uat", "password": "pw", "security_token": "tok"}


def test_inline_password_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, '[orgs.prod]\nmethod = "password"\nusername = "a@b.c"\npassword = "hunter2"\n')
    with pytest.raises(InvalidInputError) as err:
        load_org("prod", path)
    assert "password must not be written in the file" in err.value.message
    assert "password_env" in err.value.message
    assert "hunter2" not in err.value.message


@pytest.mark.parametrize("key", ["consumer_secret", "security_token", "private_key"])
def test_every_inline_secret_is_refused(tmp_path: Path, key: str) -> None:
    path = write(tmp_path, f'[orgs.x]\nmethod = "jwt"\nusername = "a@b.c"\nconsumer_key = "k"\n{key} = "s3cr3t"\n')
    with pytest.raises(InvalidInputError, match=f"{key} must not be written"):
        load_org("x", path)


def test_unknown_org_names_the_known_ones(tmp_path: Path) -> None:
    path = write(tmp_path, '[orgs.prod]\nmethod = "client-credentials"\nconsumer_key = "k"\n'
                           'consumer_secret_env = "S"\ndomain = "acme.my"\n')
    with pytest.raises(InvalidInputError, match=r"unknown org 'staging' in .* \(known: prod\)"):
        load_org("staging", path)


def test_missing_environment_variable_is_a_clear_error(tmp_path: Path) -> None:
    path = write(tmp_path, '[orgs.prod]\nmethod = "oauth-password"\nusername = "a@b.c"\npassword_env = "NOPE_PW"\n'
                           'consumer_key = "k"\nconsumer_secret_env = "NOPE_CS"\n')
    org = load_org("prod", path)
    with pytest.raises(InvalidInputError, match="environment variable NOPE_PW, which is not set"):
        login_kwargs(org, {})


def test_unreadable_key_file_is_a_clear_error(tmp_path: Path) -> None:
    path = write(tmp_path, '[orgs.prod]\nmethod = "jwt"\nusername = "a@b.c"\nconsumer_key = "k"\n'
                           'private_key_file = "missing.key"\n')
    org = load_org("prod", path)
    with pytest.raises(InvalidInputError, match="cannot read private key file .*missing.key"):
        login_kwargs(org, {})


def test_a_key_file_that_is_not_a_key_is_refused_without_showing_it(tmp_path: Path) -> None:
    (tmp_path / "k.pem").write_text("not a key at all")
    path = write(tmp_path, '[orgs.prod]\nmethod = "jwt"\nusername = "a@b.c"\nconsumer_key = "k"\n'
                           'private_key_file = "k.pem"\n')
    with pytest.raises(InvalidInputError) as err:
        login_kwargs(load_org("prod", path), {})
    assert "not an unencrypted PEM private key" in err.value.message
    assert "not a key at all" not in err.value.message


@pytest.mark.parametrize("table, message", [
    ('method = "magic"', "method must be one of"),
    ('method = "jwt"\nusername = "a"\nconsumer_key = "k"', "method jwt needs private_key_env or private_key_file"),
    ('method = "client-credentials"\nconsumer_key = "k"\nconsumer_secret_env = "S"', "needs domain"),
    ('method = "client-credentials"\nconsumer_key = "k"\nconsumer_secret_env = "S"\ndomain = "login"',
     "needs your My Domain"),
    ('method = "password"\nusername = "a"\npassword_env = "P"\ncolour = "blue"', "unknown key colour"),
    ('method = "password"\nusername = "a"\npassword_env = "P"\npassword_file = "f"', "not both"),
    ('method = "password"\nusername = "a"\npassword_env = "P"\nsandbox = "yes"', "sandbox must be true or false"),
])
def test_invalid_tables_are_refused(tmp_path: Path, table: str, message: str) -> None:
    path = write(tmp_path, f"[orgs.x]\n{table}\n")
    with pytest.raises(InvalidInputError, match=message):
        load_org("x", path)


def test_config_is_found_in_the_current_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, '[orgs.here]\nmethod = "password"\nusername = "a"\npassword_env = "P"\n')
    monkeypatch.delenv("DEPROVISION_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    assert load_org("here").source == tmp_path / "deprovision.toml"


def test_no_config_anywhere_says_where_it_looked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEPROVISION_CONFIG", str(tmp_path / "absent.toml"))
    with pytest.raises(InvalidInputError, match="unknown org 'prod': no deprovision.toml found"):
        load_org("prod")


def test_invalid_toml_is_reported_with_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[orgs.x\n")
    with pytest.raises(InvalidInputError, match="invalid TOML"):
        load_org("x", path)
