from __future__ import annotations

import pytest

from asgi_responses._disposition import content_disposition


@pytest.mark.parametrize(
    ("kind", "filename", "header"),
    [
        ("attachment", None, "attachment"),
        ("inline", "report.pdf", 'inline; filename="report.pdf"'),
        ("attachment", "my file.txt", 'attachment; filename="my file.txt"'),
        ("attachment", 'a"b\\c.txt', 'attachment; filename="a\\"b\\\\c.txt"'),
        (
            "attachment",
            "résumé.pdf",
            "attachment; filename=\"resume.pdf\"; filename*=utf-8''r%C3%A9sum%C3%A9.pdf",
        ),
        (
            "attachment",
            "日本語 file.txt",
            'attachment; filename="___ file.txt"; '
            "filename*=utf-8''%E6%97%A5%E6%9C%AC%E8%AA%9E%20file.txt",
        ),
        (
            "attachment",
            "evil\r\nSet-Cookie: a=b.txt",
            'attachment; filename="evil__Set-Cookie: a=b.txt"; '
            "filename*=utf-8''evil%0D%0ASet-Cookie%3A%20a%3Db.txt",
        ),
        (
            "attachment",
            "!#$&+^`|~-_.é",
            "attachment; filename=\"!#$&+^`|~-_.e\"; filename*=utf-8''!#$&+^`|~-_.%C3%A9",
        ),
        (
            "attachment",
            "bad\udcff.bin",
            "attachment; filename=\"bad_.bin\"; filename*=utf-8''bad%3F.bin",
        ),
    ],
)
def test_content_disposition(kind: str, filename: str | None, header: str) -> None:
    value = content_disposition(kind, filename)
    assert value == header
    assert value.isascii()
    assert "\r" not in value
    assert "\n" not in value


@pytest.mark.parametrize("kind", ["", "attach ment", "inline;", "a\r\nb"])
def test_disposition_type_must_be_a_token(kind: str) -> None:
    with pytest.raises(ValueError):
        content_disposition(kind, "x")
