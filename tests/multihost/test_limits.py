"""Rate limits and lockouts count across both hosts: Redis holds the counters, the database the failures.

Every request alternates between the hosts, so each host alone sees only half of them: a limit counted
per host would let twice as many through as the limit says.
"""

from __future__ import annotations

import itertools

import pyotp
import requests

from tests.multihost.conftest import TIMEOUT

LOCKOUT_THRESHOLD = 5  # portal.config.STATIC_SETTINGS
LOGIN_LIMIT = 10  # RATELIMIT_LOGIN, per minute and address
API_AUTH_FAILURES_LIMIT = 30  # RATELIMIT_API_AUTH_FAILURES, per minute and address


def _failed_logins(portal, user_id: int) -> tuple[int, bool]:
    from auth.models import User
    from portal.extensions import db

    with portal.app_context():
        try:
            user = db.session.get(User, user_id)
            return user.failed_logins, user.is_locked()
        finally:
            db.session.remove()


def test_failed_sign_ins_alternating_hosts_lock_the_account_at_the_threshold(hosts, portal, account, visitor):
    who = account()
    for attempt, host in zip(range(1, LOCKOUT_THRESHOLD + 1), itertools.cycle(hosts)):
        refused = visitor.post(f"{host}/auth/login", {"email": who.email, "password": "Wrong-password-of-42"})
        assert refused.status_code == 200 and "is not correct" in refused.text
        failures, locked = _failed_logins(portal, who.user_id)
        if attempt < LOCKOUT_THRESHOLD:
            assert (failures, locked) == (attempt, False)
    assert _failed_logins(portal, who.user_id)[1] is True
    for host in hosts:  # the right password is refused on both hosts now
        refused = visitor.post(f"{host}/auth/login", {"email": who.email, "password": who.password})
        assert refused.status_code == 200 and "is not correct" in refused.text


def test_password_and_second_factor_failures_on_either_host_add_up(hosts, portal, account, visitor):
    first, second = hosts
    who = account()
    for host in (first, second, first):
        visitor.post(f"{host}/auth/login", {"email": who.email, "password": "Wrong-password-of-42"})
    step = visitor.post(f"{second}/auth/login", {"email": who.email, "password": who.password})
    assert step.status_code == 302  # a right password does not forgive the failures
    wrong = pyotp.TOTP(who.totp_secret).at(0)  # a code of 1970
    assert visitor.post(f"{first}/auth/two-factor", {"code": wrong}).status_code == 200
    assert _failed_logins(portal, who.user_id) == (LOCKOUT_THRESHOLD - 1, False)
    locked = visitor.post(f"{second}/auth/two-factor", {"code": wrong})
    assert locked.status_code == 302 and locked.headers["Location"].endswith("/auth/login")
    assert _failed_logins(portal, who.user_id)[1] is True


def test_the_sign_in_rate_limit_is_one_allowance_for_both_hosts(hosts, visitor):
    statuses = []
    for host in itertools.islice(itertools.cycle(hosts), LOGIN_LIMIT + 1):
        statuses.append(visitor.post(f"{host}/auth/login", {"email": "nobody@gtm.example.org",
                                                             "password": "Not-a-password-42"}).status_code)
    assert statuses == [200] * LOGIN_LIMIT + [429]


def test_refused_api_tokens_are_limited_across_both_hosts(hosts):
    made_up = {"Authorization": "Bearer rcm_00000000_not-a-token"}
    with requests.Session() as http:
        statuses = [http.get(f"{host}/api/v1/alerts/check", params={"document_number": "A1234567", "issuing_state": "GTM"},
                             headers=made_up, timeout=TIMEOUT).status_code
                    for host in itertools.islice(itertools.cycle(hosts), API_AUTH_FAILURES_LIMIT + 1)]
    assert statuses == [401] * API_AUTH_FAILURES_LIMIT + [429]


def test_a_tokens_allowance_is_counted_once_for_both_hosts(hosts, account, token):
    headers = token(account("border_officer", "GTM"), "alerts:check")
    remaining = []
    with requests.Session() as http:
        for host in itertools.islice(itertools.cycle(hosts), 6):
            response = http.get(f"{host}/api/v1/alerts/check", params={"document_number": "A1234567", "issuing_state": "GTM"},
                                headers=headers, timeout=TIMEOUT)
            assert response.status_code == 200 and response.headers["X-RateLimit-Limit"] == "600"
            remaining.append(int(response.headers["X-RateLimit-Remaining"]))
    assert remaining == list(range(remaining[0], remaining[0] - 6, -1))
