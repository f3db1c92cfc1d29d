from __future__ import annotations

import os
from pathlib import Path

import pytest

from asgi_core.config import Config, Environ, EnvironError, environ, undefined
from asgi_core.datastructures import CommaSeparatedStrings, Secret


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_reads_environ_then_file_then_default(tmp_path: Path) -> None:
    env_file = write(tmp_path / ".env", "A=from-file\nB=from-file\n")
    config = Config(env_file, environ={"A": "from-env"})
    assert config("A") == "from-env"
    assert config("B") == "from-file"
    assert config("C", default="fallback") == "fallback"
    assert config.get("C", default=None) is None


def test_missing_key_raises_key_error_naming_it() -> None:
    config = Config(environ={})
    with pytest.raises(KeyError, match="DATABASE_URL"):
        config("DATABASE_URL")
    assert isinstance(undefined, type)  # the sentinel is a class, as in Starlette


def test_env_file_syntax(tmp_path: Path) -> None:
    env_file = write(
        tmp_path / ".env",
        "# a comment\n"
        "\n"
        "PLAIN=value\n"
        "  SPACED  =  padded value  \n"
        'DOUBLE="double quoted"\n'
        "SINGLE='single quoted'\n"
        "MISMATCHED='left only\n"
        "INNER=a'b\"c\n"
        "EMPTY=\n"
        "EQUALS=a=b=c\n"
        "HASH=pass#word\n"
        "export EXPORTED=yes\n"
        "not a setting line\n"
        "#COMMENTED=no\n"
        'QUOTE="\n',
    )
    config = Config(env_file, environ={})
    assert config.file_values == {
        "PLAIN": "value",
        "SPACED": "padded value",
        "DOUBLE": "double quoted",
        "SINGLE": "single quoted",
        "MISMATCHED": "'left only",
        "INNER": "a'b\"c",
        "EMPTY": "",
        "EQUALS": "a=b=c",
        "HASH": "pass#word",
        "EXPORTED": "yes",
        "QUOTE": '"',
    }


def test_env_file_accepts_str_path_and_encoding(tmp_path: Path) -> None:
    path = tmp_path / "latin.env"
    path.write_bytes("NAME=caf\xe9\n".encode("latin-1"))
    config = Config(str(path), environ={}, encoding="latin-1")
    assert config("NAME") == "caf\xe9"


def test_missing_env_file_warns_but_works(tmp_path: Path) -> None:
    missing = tmp_path / "nope.env"
    with pytest.warns(UserWarning, match=r"nope\.env' not found"):
        config = Config(missing, environ={"A": "1"})
    assert config("A") == "1"
    assert config.file_values == {}


def test_directory_as_env_file_warns(tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match="not found"):
        Config(tmp_path, environ={})


def test_env_prefix_applies_to_environ_and_file(tmp_path: Path) -> None:
    env_file = write(tmp_path / ".env", "APP_FILE=f\nFILE=unprefixed\n")
    config = Config(env_file, environ={"APP_DEBUG": "true", "DEBUG": "false"}, env_prefix="APP_")
    assert config("DEBUG", cast=bool) is True
    assert config("FILE") == "f"
    with pytest.raises(KeyError, match="APP_MISSING"):
        config("MISSING")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        ("True", True),
        ("1", True),
        ("false", False),
        ("FALSE", False),
        ("0", False),
    ],
)
def test_bool_cast(raw: str, expected: bool) -> None:
    assert Config(environ={"FLAG": raw})("FLAG", cast=bool) is expected


@pytest.mark.parametrize("raw", ["yes", "", "2", "on"])
def test_invalid_bool_names_the_key(raw: str) -> None:
    config = Config(environ={"DEBUG": raw})
    with pytest.raises(ValueError, match=r"'DEBUG'.*not a valid bool"):
        config("DEBUG", cast=bool)


def test_other_casts_and_cast_errors() -> None:
    config = Config(environ={"PORT": "8000", "RATIO": "x"})
    assert config("PORT", cast=int) == 8000
    with pytest.raises(ValueError, match=r"'RATIO' is not a valid float") as info:
        config("RATIO", cast=float)
    assert isinstance(info.value.__cause__, ValueError)


def test_cast_error_from_a_callable_without_name() -> None:
    class Parser:
        def __call__(self, value: str) -> int:
            raise TypeError("cannot parse")

    config = Config(environ={"X": "1"})
    with pytest.raises(ValueError, match=r"'X' is not a valid .*Parser.*cannot parse"):
        config("X", cast=Parser())


def test_default_is_cast_unless_none() -> None:
    config = Config(environ={})
    assert config("PORT", cast=int, default="8080") == 8080
    assert config("DEBUG", cast=bool, default="false") is False
    assert config("DEBUG", cast=bool, default=True) is True
    assert config("TIMEOUT", cast=int, default=None) is None


def test_environ_guards_keys_already_read() -> None:
    backing: dict[str, str] = {"A": "1"}
    env = Environ(backing)
    env["B"] = "2"
    del env["B"]
    assert env["A"] == "1"
    assert len(env) == 1
    assert list(env) == ["A"]
    with pytest.raises(EnvironError, match=r"'A'.*already been read"):
        env["A"] = "changed"
    with pytest.raises(EnvironError, match=r"'A'.*already been read"):
        del env["A"]
    assert backing == {"A": "1"}


def test_environ_marks_missing_keys_read_through_config() -> None:
    env = Environ({})
    config = Config(environ=env)
    assert config("DEBUG", cast=bool, default=False) is False
    with pytest.raises(EnvironError, match="DEBUG"):
        env["DEBUG"] = "true"


def test_default_environ_wraps_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    key = "ASGI_CORE_TEST_CONFIG_VALUE"
    monkeypatch.delenv(key, raising=False)
    environ[key] = "hello"
    try:
        assert os.environ[key] == "hello"
        assert Config()(key) == "hello"
        with pytest.raises(EnvironError):
            environ[key] = "changed"
    finally:
        os.environ.pop(key, None)
    assert Environ()._environ is os.environ


def test_secret_and_comma_separated_casts(tmp_path: Path) -> None:
    env_file = write(
        tmp_path / ".env",
        "SECRET_KEY='s3cr3t'\nALLOWED_HOSTS=\"example.com, *.example.com\"\n",
    )
    config = Config(env_file, environ={})
    secret = config("SECRET_KEY", cast=Secret)
    assert str(secret) == "s3cr3t"
    assert "s3cr3t" not in repr(secret)
    hosts = config("ALLOWED_HOSTS", cast=CommaSeparatedStrings)
    assert list(hosts) == ["example.com", "*.example.com"]
    assert list(config("EMPTY", cast=CommaSeparatedStrings, default="")) == []


def test_unbalanced_comma_separated_value_names_the_key() -> None:
    config = Config(environ={"HOSTS": "a, 'b"})
    with pytest.raises(ValueError, match="HOSTS"):
        config("HOSTS", cast=CommaSeparatedStrings)
