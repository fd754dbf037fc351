"""Settings: argument > environment > default, sources, and a repr that hides the key."""

from __future__ import annotations

import pytest

from batches_ext.config import DEFAULT_BASE_URL, Settings
from batches_ext.errors import ConfigError

from .conftest import CANARY


def test_defaults_with_empty_environment():
    s = Settings.resolve(env={})
    assert (s.api_key, s.base_url, s.organization, s.project) == (None, DEFAULT_BASE_URL, None, None)
    assert (s.timeout, s.connect_timeout, s.max_retries) == (60.0, 10.0, 2)
    assert s.request_timeout == (10.0, 60.0)
    assert set(s.sources.values()) == {"default"}


def test_environment_then_argument_wins():
    env = {"OPENAI_API_KEY": "sk-env", "OPENAI_BASE_URL": "http://proxy/v1/", "OPENAI_ORG_ID": "org-e",
           "OPENAI_PROJECT_ID": "proj_e"}
    s = Settings.resolve(env=env)
    assert (s.api_key, s.base_url, s.organization, s.project) == ("sk-env", "http://proxy/v1", "org-e", "proj_e")
    assert s.sources["api_key"] == "environment"
    s = Settings.resolve(env=env, api_key="sk-arg", organization="org-a")
    assert s.api_key == "sk-arg" and s.organization == "org-a" and s.project == "proj_e"
    assert s.sources["api_key"] == "argument" and s.sources["project"] == "environment"
    assert s.sources["timeout"] == "default"


def test_reads_os_environ_by_default(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-os")
    monkeypatch.setenv("OPENAI_ORG_ID", "")
    s = Settings.resolve()
    assert s.api_key == "sk-from-os" and s.organization is None


def test_repr_and_str_hide_the_key():
    s = Settings.resolve(env={}, api_key=CANARY)
    assert CANARY not in repr(s) and CANARY not in str(s) and "<set>" in repr(s)
    assert "CANARY" not in f"{s}"


def test_missing_key_is_a_config_error_with_guidance():
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        Settings.resolve(env={}).require_api_key()


@pytest.mark.parametrize("bad", [{"timeout": 0}, {"timeout": "soon"}, {"max_retries": -1},
                                 {"max_retries": 1.5}, {"colour": "red"}])
def test_bad_values_raise_config_error(bad):
    with pytest.raises(ConfigError):
        Settings.resolve(env={}, **bad)


def test_short_timeout_caps_connect_timeout():
    assert Settings.resolve(env={}, timeout=3).request_timeout == (3.0, 3.0)


def test_the_key_is_stripped_and_whitespace_inside_is_refused_without_quoting_it():
    assert Settings.resolve(env={"OPENAI_API_KEY": f"  {CANARY}\n"}).api_key == CANARY
    assert Settings.resolve(env={}, api_key=f"{CANARY}\r\n").api_key == CANARY
    assert Settings.resolve(env={"OPENAI_API_KEY": " \n"}).api_key is None
    for bad in (CANARY[:6] + " " + CANARY[6:], CANARY[:6] + "\n" + CANARY[6:], CANARY + "’"):
        with pytest.raises(ConfigError, match="inside it") as caught:
            Settings.resolve(env={"OPENAI_API_KEY": bad})
        assert CANARY[:6] not in str(caught.value) and CANARY[6:] not in str(caught.value)
    with pytest.raises(ConfigError, match="control character"):
        Settings.resolve(env={}, organization="org-1\nX-Evil: 1")


def test_url_credentials_never_show_and_the_base_url_must_be_http():
    from batches_ext.config import redact_url

    s = Settings.resolve(env={"OPENAI_BASE_URL": "https://alice:pw-secret@proxy.example/v1/"})
    assert s.base_url == "https://alice:pw-secret@proxy.example/v1"  # used as given
    assert "pw-secret" not in repr(s) and "https://***@proxy.example/v1" in repr(s)
    assert redact_url("see http://a:b@h/x and https://h2/y?q=a") == "see http://***@h/x and https://h2/y?q=a"
    # everything up to the last `@` of the URL: a raw `/`, `?` or `#` in a password hides nothing after it
    assert redact_url("http://a:p/q?r#s@h/x @") == "http://***@h/x @"
    assert redact_url("https://h2/y?q=a@b") == "https://***@b"  # too much rather than too little
    for raw in "#/?":
        with pytest.raises(ConfigError, match="percent-encode") as caught:
            Settings.resolve(env={}, base_url=f"http://alice:zq1{raw}zq2@h/v1")
        assert "alice" not in str(caught.value) and "zq" not in str(caught.value)
    with pytest.raises(ConfigError, match="whitespace"):
        Settings.resolve(env={}, base_url="http://alice:pa ss@h/v1")
    assert Settings.resolve(env={}, base_url="http://alice:pa%23ss@h/v1").base_url == "http://alice:pa%23ss@h/v1"
    assert Settings.resolve(env={}, base_url="http://alice:p@ss@h/v1").base_url == "http://alice:p@ss@h/v1"
    for bad in ("api.openai.com/v1", "ftp://h/v1", "https://"):
        with pytest.raises(ConfigError, match="http:// or https://"):
            Settings.resolve(env={}, base_url=bad)


def test_the_deadline_is_a_positive_number_or_derived():
    assert Settings.resolve(env={}).deadline is None
    assert Settings.resolve(env={}, deadline=5).deadline == 5.0
    with pytest.raises(ConfigError, match="deadline"):
        Settings.resolve(env={}, deadline=0)


@pytest.mark.parametrize("value", ["орг-1", "org\u2028x", "org\x85x", "org\x7fx"])
@pytest.mark.parametrize("name", ["organization", "project"])
def test_an_id_a_header_cannot_carry_is_refused_naming_the_setting(name, value):
    """Not Latin-1 (http.client would raise a bare UnicodeEncodeError on every call) or a control character:
    one line naming the setting and where it came from, not quoting the value."""
    var = {"organization": "OPENAI_ORG_ID", "project": "OPENAI_PROJECT_ID"}[name]
    with pytest.raises(ConfigError, match=f"^{name} \\(the {name} argument\\) has .* inside it") as caught:
        Settings.resolve(env={}, **{name: value})
    with pytest.raises(ConfigError, match=f"^{name} \\({var}\\) has ") as from_env:
        Settings.resolve(env={var: value})
    for err in (caught.value, from_env.value):
        assert "\n" not in str(err) and value not in str(err) and "орг" not in str(err)


def test_a_latin_1_id_is_kept():
    assert Settings.resolve(env={}, organization=" org-café ").organization == "org-café"
