"""The README's tables and settings stay exactly true."""

from pathlib import Path

from auth.permissions import PERMISSIONS, ROLE_PERMISSIONS, TOKEN_SCOPES
from portal.config import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text()


def _section(marker: str) -> str:
    start = README.index(f"<!-- {marker}")
    return README[start: README.index("<!-- end", start)]


def test_permissions_table_matches_registry():
    roles = list(ROLE_PERMISSIONS)
    lines = ["| permission | " + " | ".join(roles) + " |", "|---|" + "---|" * len(roles)]
    for permission in PERMISSIONS:
        marks = " | ".join("✓" if permission in ROLE_PERMISSIONS[role] else "" for role in roles)
        lines.append(f"| `{permission}` | {marks} |")
    assert "\n".join(lines) in _section("permissions-table")


def test_scopes_table_matches_registry():
    for scope, permissions in TOKEN_SCOPES.items():
        row = f"| `{scope}` | " + ", ".join(f"`{name}`" for name in sorted(permissions)) + " |"
        assert row in _section("scopes-table")


def test_every_setting_is_documented():
    source = Path(REPO_ROOT / "portal" / "config.py").read_text()
    import re

    names = set(re.findall(r'"(PORTAL_[A-Z_]+)"', source))
    assert names, "no settings found"
    missing = sorted(name for name in names if f"`{name}`" not in README)
    assert not missing, f"undocumented settings: {missing}"


def test_the_two_commands_are_documented():
    assert "make run" in README and "make test" in README
