"""Who may do what: the roles file, the acting user of a write, and the check every write path makes.

Two roles: ``analyst`` (load, undo, save notebooks, save column mappings and other stored settings) and
``viewer`` (every view, filters, downloads, Show SQL, notebook cells in the sandbox). Roles come from the
TOML file named by ``ENGAGEMENT_ROLES_FILE``::

    analyst = ["ana@example.com", "*@analytics.example.com"]
    viewer = ["*@example.com", "ceo@example.org"]

An entry is an e-mail address (case-insensitive) or ``*@domain``. A domain pattern only matches an address
the identity provider says is verified (``email_verified``): anyone can register an unverified address
at any domain. When an address matches both roles, ``analyst`` wins. Anyone signed in but not listed has
no role and sees no data.

The store takes the acting user on every write (:meth:`Store.authorize`); the app passes the signed-in
user, the CLI and library calls act as :data:`CLI_ACTOR` (shell access to the file is trust already).
"""

from __future__ import annotations

import getpass
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

ANALYST = "analyst"
VIEWER = "viewer"
ROLES = (ANALYST, VIEWER)
ROLES_FILE_ENV = "ENGAGEMENT_ROLES_FILE"


class WriteRefused(PermissionError):
    """A write by someone whose role does not allow it (a viewer, or nobody signed in)."""


class RolesFileError(ValueError):
    """The roles file cannot be read or holds something other than lists of addresses per role."""


@dataclass(frozen=True)
class Actor:
    """Who performs an action: ``name`` (an e-mail address or a description), ``role`` (None: no role),
    ``via`` (``oidc`` for a signed-in user, ``local`` for the app without sign-in, ``cli``, ``app``)."""

    name: str
    role: str | None
    via: str

    @property
    def can_write(self) -> bool:
        return self.role == ANALYST

    def as_viewer(self) -> "Actor":
        """The same person without write rights (a whole-server read-only instance)."""
        return Actor(self.name, VIEWER if self.role is not None else None, self.via)


def _os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return str(os.getuid()) if hasattr(os, "getuid") else "unknown"


CLI_ACTOR = Actor(f"cli:{_os_user()}", ANALYST, "cli")
# The app without [auth]: it cannot tell people apart; the sidebar says anyone with the URL may write.
LOCAL_ACTOR = Actor("anyone with the URL (no sign-in configured)", ANALYST, "local")


@dataclass(frozen=True)
class RoleTable:
    """Addresses and ``*@domain`` patterns per role, lower-cased."""

    entries: dict[str, tuple[str, ...]]

    def role_for(self, email: str | None, email_verified: bool) -> str | None:
        """The role of ``email``: an exact address first, then a domain pattern (verified addresses only);
        analyst before viewer. None when nothing matches.

        >>> table = RoleTable({"analyst": ("ana@x.com",), "viewer": ("*@x.com",)})
        >>> table.role_for("Ana@X.com", False), table.role_for("bo@x.com", True), table.role_for("bo@x.com", False)
        ('analyst', 'viewer', None)
        """
        if not email or "@" not in email:
            return None
        address = email.strip().lower()
        domain = "*@" + address.rsplit("@", 1)[1]
        for role in ROLES:
            if address in self.entries.get(role, ()):
                return role
        if not email_verified:
            return None
        for role in ROLES:
            if domain in self.entries.get(role, ()):
                return role
        return None


def parse_roles(text: str, source: str = "roles file") -> RoleTable:
    """A :class:`RoleTable` from TOML text; :class:`RolesFileError` naming the problem otherwise."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RolesFileError(f"{source} is not valid TOML: {exc}") from None
    unknown = sorted(set(raw) - set(ROLES))
    if unknown:
        raise RolesFileError(f"{source} names unknown roles {unknown}; the roles are {', '.join(ROLES)}.")
    entries: dict[str, tuple[str, ...]] = {}
    for role in ROLES:
        values = raw.get(role, [])
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise RolesFileError(f"{source}: `{role}` must be a list of e-mail addresses or \"*@domain\" patterns.")
        for value in values:
            if value.count("@") != 1 or ("*" in value and not value.startswith("*@")):
                raise RolesFileError(f"{source}: {value!r} under `{role}` is neither an address nor \"*@domain\".")
        entries[role] = tuple(v.strip().lower() for v in values)
    return RoleTable(entries)


def load_roles(path: str | os.PathLike[str] | None = None) -> RoleTable:
    """The roles file named by ``path`` or ``$ENGAGEMENT_ROLES_FILE``; an empty table when neither is set."""
    path = path or os.environ.get(ROLES_FILE_ENV, "").strip()
    if not path:
        return RoleTable({})
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise RolesFileError(f"Cannot read the roles file {path} ({ROLES_FILE_ENV}): {exc.strerror}.") from None
    return parse_roles(text, source=f"The roles file {path}")


def require_analyst(actor: Actor, action: str) -> Actor:
    """``actor`` when it may write; :class:`WriteRefused` saying who and why otherwise."""
    if actor.role == ANALYST:
        return actor
    who = f"{actor.name} has the {actor.role} role" if actor.role else f"{actor.name} has no role"
    raise WriteRefused(f"Refused: {action} needs the analyst role, and {who}.")
