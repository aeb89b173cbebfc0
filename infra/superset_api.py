"""A logged-in session of Superset's REST API, shared by the demo, the chart benchmark and the tests
(as infra/airflow_runs.py is for Airflow's).

`login` authenticates twice, as a browser and an API client do: through the login form (the session
cookie, which the legacy endpoints such as deck.gl's explore_json know only), then with a JWT access
token (provider db) for /api/v1/, and it carries the CSRF token that Superset's write endpoints want.
"""

from __future__ import annotations

import json
import re
from typing import Any

import requests

TIMEOUT = 120


def _body(response: requests.Response) -> str:
    """The response body for an error message, Cyrillic readable rather than \\u-escaped."""
    try:
        return json.dumps(response.json(), ensure_ascii=False)[:4000]
    except ValueError:
        return response.text[:4000]


def response_json(response: requests.Response, what: str) -> dict[str, Any]:
    """The JSON body of a successful response; otherwise an error naming `what`, the status and the body."""
    if response.status_code >= 400:
        raise AssertionError(f"{what}: HTTP {response.status_code}: {_body(response)}")
    try:
        return response.json()
    except ValueError as error:
        raise AssertionError(f"{what}: not JSON: {response.text[:4000]}") from error


def login(base_url: str, username: str, password: str) -> requests.Session:
    """A session authenticated with a JWT access token (provider db) and carrying a CSRF token.

    It also logs in through the login form, as a browser does: the legacy endpoints (explore_json,
    which deck.gl maps use) know the session cookie only.
    """
    session = requests.Session()
    form = session.get(f"{base_url}/login/", timeout=TIMEOUT).text
    token = re.search(r'id="csrf_token"\s+value="([^"]+)"', form)
    if token is None:
        raise AssertionError(f"no CSRF token in the login form: {form[:2000]}")
    page = session.post(
        f"{base_url}/login/",
        data={"username": username, "password": password, "csrf_token": token.group(1)},
        timeout=TIMEOUT,
        allow_redirects=False,
    )
    if page.status_code != 302 or page.headers.get("Location", "").rstrip("/").endswith("/login"):
        raise AssertionError(f"form login of {username} refused: HTTP {page.status_code}")
    body = response_json(
        session.post(
            f"{base_url}/api/v1/security/login",
            json={"username": username, "password": password, "provider": "db", "refresh": False},
            timeout=TIMEOUT,
        ),
        "login",
    )
    session.headers["Authorization"] = f"Bearer {body['access_token']}"
    csrf = response_json(session.get(f"{base_url}/api/v1/security/csrf_token/", timeout=TIMEOUT), "CSRF token")
    session.headers["X-CSRFToken"] = csrf["result"]
    session.headers["Referer"] = base_url
    return session
