from __future__ import annotations

import pytest

from gatehouse.domain.scripts.screening import screen_text


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("call me on 07700 900123", "phone"),
        ("+44 20 7946 0958", "phone"),
        ("0161-496-0000 after six", "phone"),
        ("+33 1 42 68 53 00", "phone"),  # international, in E.164 form
        ("0033 1 42 68 53 00", "phone"),  # international, dialled from the UK
        ("+1 (212) 555-0123", "phone"),
        ("07700900123", "phone"),
        ("sw1a1aa", "postcode"),
        ("a.b+c@mail.co.uk", "email"),
        ("07700 9OO 123", "digits"),  # letter O for zero still leaves a digit run
        ("write to bob@example.com", "email"),
        ("bob at example dot com", "email"),
        ("it's SW1A 1AA", "postcode"),
        ("m1 1ae", "postcode"),
        ("4111 1111 1111 1111", "card"),
        ("5500-0000-0000-0004", "card"),
        ("ref 12345678", "digits"),
        ("oh seven seven double oh nine one two three", "digits"),
    ],
)
def test_contact_data_is_caught(text: str, kind: str) -> None:
    assert kind in {h.kind for h in screen_text(text)}


@pytest.mark.parametrize(
    "text",
    [
        "Cheaper premiums and clearer wording",
        "about 3 or 4 times a year, costs 250 pounds",
        "I was one of the two who said nine",
        "The 2024 renewal went fine",
    ],
)
def test_ordinary_answers_pass(text: str) -> None:
    assert screen_text(text) == []
