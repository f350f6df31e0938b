"""Schemathesis hooks for Dispatch's contract run (see tests/tests/api_contract.rs).

Authentication uses real accounts. Operations that end the caller's session or account
(delete the profile, log out, change the password or the username) each get a brand-new
user, so they cannot starve the rest of the run of a working token; every other operation
shares one user, so what it creates can be read back by later cases. The admin operations
run as the admin the API created at start from DISPATCH_ADMIN_* (the contract test sets them).
"""

import os
import uuid

import requests
import schemathesis

BASE = os.environ["DISPATCH_CONTRACT_BASE"].rstrip("/")

# (method, path) pairs that invalidate the token they are called with.
SESSION_ENDING = {
    ("DELETE", "/api/v1/auth/profile"),
    ("PUT", "/api/v1/auth/profile"),
    ("PATCH", "/api/v1/auth/profile"),
    ("POST", "/api/v1/auth/logout"),
    ("POST", "/api/v1/auth/profile/password"),
}


def admin_token() -> str:
    response = requests.post(
        f"{BASE}/api/v1/auth/login/",
        json={
            "username": os.environ["DISPATCH_ADMIN_USERNAME"],
            "password": os.environ["DISPATCH_ADMIN_PASSWORD"],
        },
        timeout=30,
    )
    response.raise_for_status()
    return response.json()["tokens"]["access"]


def register() -> str:
    name = "fz_" + uuid.uuid4().hex[:20]
    response = requests.post(
        f"{BASE}/api/v1/auth/register/",
        json={"username": name, "email": f"{name}@example.com", "password": "fuzzing-pass-1"},
        headers={"Prefer": "wait=20"},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()["tokens"]["access"]


@schemathesis.auth(refresh_interval=None)
class DispatchUsers:
    shared = None
    admin = None

    def get(self, case, ctx):
        if case.path.startswith("/api/v1/admin/"):
            # Logged in once: repeated logins would meet the per-address login throttle
            # that the fuzzed login cases trip.
            if DispatchUsers.admin is None:
                DispatchUsers.admin = admin_token()
            return DispatchUsers.admin
        if (case.method.upper(), case.path) in SESSION_ENDING:
            return register()
        if DispatchUsers.shared is None:
            DispatchUsers.shared = register()
        return DispatchUsers.shared

    def set(self, case, data, ctx):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


@schemathesis.hook
def filter_body(ctx, body):
    """The schema cannot say that a password must differ from the username (api.md §3)."""
    if isinstance(body, dict):
        username, password = body.get("username"), body.get("password")
        if isinstance(username, str) and isinstance(password, str):
            return username.lower() != password.lower()
    return True
