"""Signing in on one host and carrying on on the other: the session lives in the shared database, the
cookie is signed with the shared secret key, the CSRF token of a form from one host is good on the other."""

from __future__ import annotations


def test_signed_in_on_one_host_continues_on_the_other_and_signs_out_of_both(hosts, account, visitor):
    first, second = hosts
    who = account()
    visitor.sign_in(who, first, second)  # the password on the first host, the code on the second
    for host in (second, first):
        page = visitor.get(f"{host}/")
        assert page.status_code == 200 and 'id="dashboard-heading"' in page.text

    # A form shown by the first host, posted to the second: signing out there ends the session everywhere.
    out = visitor.post(f"{second}/auth/logout", {}, token_from=f"{first}/")
    assert out.status_code == 302 and out.headers["Location"].endswith("/auth/login")
    for host in (first, second):
        page = visitor.get(f"{host}/")
        assert page.status_code == 302 and "/auth/login" in page.headers["Location"]
