"""The canary search itself must catch every spelling (a crawl that finds nothing proves
nothing unless the finder works)."""

from __future__ import annotations

from tests.e2e.web.canary import find_canaries, make_canaries


def test_finds_every_spelling_and_nothing_else() -> None:
    canaries = make_canaries(3)
    c = canaries[1]
    for leak in [
        "+441614960101",
        "call 441614960101 now",
        "01614960101",
        "0161 496 0101",
        "0161-496-0101",
        "tel: +44 (0)161 4960 101",
        c.postcode.lower(),
        c.email.upper(),
        c.address,
    ]:
        assert find_canaries(f"<p>{leak}</p>", canaries), leak
    assert find_canaries("Kit001 answered; 2026-11-23T23:45:01.123456", canaries) == []
