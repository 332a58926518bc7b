"""Request identity: who is asking (a ``Principal``) and what they hold.

A principal is a signed-in user, or a user acting through an API token; it is set per request (by the
login hook in ``create_app()`` or by ``auth.tokens.token_required``) and read by access control
(``portal.access``), the audit (``portal.audit.service``) and the templates. It imports nothing of them,
so each may import it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from flask import g

from auth.permissions import permissions_for_role, permissions_for_scopes


@dataclass(frozen=True)
class Principal:
    """The subject of an access decision."""

    user_id: int
    party_id: int
    party_code: str
    party_kind: str
    role: str
    permissions: frozenset[str]
    token_id: int | None = None
    scopes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def is_observer(self) -> bool:
        """Observer roles and observer parties see only members-wide CLEAR or GREEN records."""
        return self.role == "observer" or self.party_kind in ("observer", "organisation")

    def can(self, permission: str) -> bool:
        """Whether the principal holds ``permission`` (its role's, narrowed by a token's scopes)."""
        return permission in self.permissions

    @property
    def visibility_key(self) -> tuple:
        """Everything a visibility rule may read of the principal: principals with equal keys see the same
        rows of every model, so a scoping clause built for one serves them all."""
        return (self.party_id, self.role, self.party_kind, self.permissions)

    @classmethod
    def for_member(cls, *, user_id: int, party_id: int, party_code: str, party_kind: str, role: str) -> Principal:
        """A user, by the fields that decide access (what ``for_user`` reads of a ``User``)."""
        return cls(user_id=user_id, party_id=party_id, party_code=party_code, party_kind=party_kind, role=role,
                   permissions=permissions_for_role(role))

    @classmethod
    def for_user(cls, user) -> Principal:
        """A signed-in user, with the permissions of its role."""
        return cls.for_member(user_id=user.id, party_id=user.party_id, party_code=user.party.code,
                              party_kind=user.party.kind, role=user.role)

    def through_token(self, token_id: int, scopes) -> Principal:
        """This user acting through a token: limited to the intersection of role and scopes."""
        return replace(self, permissions=self.permissions & permissions_for_scopes(scopes), token_id=token_id,
                       scopes=tuple(scopes))

    @classmethod
    def for_token(cls, token) -> Principal:
        """A token acts for its owner, limited to the intersection of role and scopes."""
        return cls.for_user(token.user).through_token(token.id, token.scopes)


def current_principal() -> Principal | None:
    """Set per request by the login loader or the bearer-token check."""
    return g.get("principal")


def has_permission(permission: str) -> bool:
    """Whether the current principal holds ``permission`` (nobody signed in: no)."""
    principal = current_principal()
    return principal is not None and principal.can(permission)
