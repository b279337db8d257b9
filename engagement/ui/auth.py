"""Sign-in and roles: who this session acts as (from the identity provider, never from widgets or the URL)."""

from __future__ import annotations

import streamlit as st

from engagement import config
from engagement.ui import warehouse as ui_warehouse
from engagement.ui.text import plain
from engagement.warehouse import access
from engagement.warehouse.access import Actor
from engagement.warehouse.store import Store


NEXT_LINK_KEY = "engagement.next"
# The deep link a signed-out visitor opened, kept in the tab's sessionStorage across the identity
# provider's round trip (Streamlit's callback returns to the base URL), then reopened once signed in.
# Only same-site paths are kept or followed ("/x", never "//host" or "https://...").
_REMEMBER_LINK_JS = """<script>
const here = window.location.pathname + window.location.search + window.location.hash;
if (here.startsWith('/') && !here.startsWith('//')) { sessionStorage.setItem('%s', here); }
</script>""" % NEXT_LINK_KEY
_RESTORE_LINK_JS = """<script>
const next = sessionStorage.getItem('%s');
sessionStorage.removeItem('%s');
const here = window.location.pathname + window.location.search + window.location.hash;
if (next && next.startsWith('/') && !next.startsWith('//') && next !== here) { window.location.replace(next); }
</script>""" % (NEXT_LINK_KEY, NEXT_LINK_KEY)


def auth_configured() -> bool:
    """Whether ``.streamlit/secrets.toml`` has an ``[auth]`` section (sign-in through OpenID Connect)."""
    try:
        return "auth" in st.secrets
    except (FileNotFoundError, st.errors.StreamlitSecretNotFoundError):
        return False


@st.cache_data(show_spinner=False, ttl=30)
def _role_table(path: str, modified: float) -> access.RoleTable:
    return access.load_roles(path)


def _roles() -> access.RoleTable:
    import os

    path = os.environ.get(access.ROLES_FILE_ENV, "").strip()
    if not path:
        return access.RoleTable({})
    try:
        modified = os.stat(path).st_mtime
    except OSError:
        modified = -1.0  # load_roles says the file cannot be read
    return _role_table(path, modified)


def current_actor() -> Actor | None:
    """Who this session acts as, from the identity provider's claims (never from widgets or the URL).

    None: sign-in is configured and nobody is signed in. Without ``[auth]``, anyone with the URL is an
    analyst (local use). ``ENGAGEMENT_READ_ONLY=1`` makes everyone a viewer.
    """
    if not auth_configured():
        actor = access.LOCAL_ACTOR
    elif not st.user.is_logged_in:
        return None
    else:
        email = st.user.get("email")
        verified = st.user.get("email_verified")
        verified = verified is True or str(verified).lower() == "true"
        actor = Actor(str(email or st.user.get("sub") or "unknown user"), _roles().role_for(email, verified), "oidc")
    return actor.as_viewer() if config.read_only() else actor


def can_write(store: Store) -> bool:
    """Whether this session may see controls that write (the store checks again when they are used)."""
    actor = current_actor()
    return not store.read_only and actor is not None and actor.can_write


def _login_buttons() -> None:
    auth = st.secrets["auth"]
    named = [key for key, value in auth.items() if hasattr(value, "keys")]
    providers = [None] if "client_id" in auth or not named else named
    for provider in providers:
        label = "Sign in" if provider is None else f"Sign in with {provider}"
        st.button(label, type="primary", on_click=st.login, args=(provider,) if provider else (),
                  icon=":material/login:", key=f"sign_in_{provider or 'default'}")


def has_access() -> bool:
    """Whether this session may see data (signed in with a role, or no sign-in configured)."""
    try:
        actor = current_actor()
    except access.RolesFileError:
        return False
    return actor is not None and actor.role is not None


def require_access() -> None:
    """Stop the run unless this session may see data: the sign-in page, or a "no role" page. Shows nothing else."""
    try:
        actor = current_actor()
    except access.RolesFileError as exc:
        st.title("Engagement Workbench")
        st.error(plain(exc))
        st.stop()
    if actor is None:
        st.title("Engagement Workbench")
        st.write("Sign in to see this workbench. After signing in you return to the page you opened.")
        _login_buttons()
        st.html(_REMEMBER_LINK_JS, unsafe_allow_javascript=True)
        st.stop()
    if actor.role is None:
        st.title("Engagement Workbench")
        st.text(f"You are signed in as {actor.name}, but this workbench has no role for that address.")
        st.write("An administrator adds addresses (or `*@domain` for verified addresses) to the roles file "
                 f"named by `{access.ROLES_FILE_ENV}`. Nothing is shown until then.")
        st.button("Sign out", on_click=st.logout, icon=":material/logout:")
        st.stop()


def sidebar_identity(store: Store) -> None:
    """Who is signed in and what they may do; without sign-in, a warning that anyone may write."""
    actor = current_actor()
    with st.sidebar:
        if actor is not None and actor.via == "oidc":
            st.text(f"Signed in as {actor.name} ({actor.role})")
            st.button("Sign out", on_click=st.logout, icon=":material/logout:", key="sign_out")
            if "_next_link_checked" not in st.session_state:
                st.session_state["_next_link_checked"] = True
                st.html(_RESTORE_LINK_JS, unsafe_allow_javascript=True)
        elif ui_warehouse.settings_store(store).read_only:  # warehouse mode: targets and notes may still be written
            st.caption(":material/lock: Read-only server: nobody can load, undo or save here.")
        elif getattr(store, "engine_name", "duckdb") == "spark":  # no loads or undos in warehouse mode
            st.caption(":material/lock_open: Sign-in is not configured: anyone who can open this URL can save "
                       "targets, alert rules and annotations. Configure `[auth]` in .streamlit/secrets.toml (README).")
        else:
            st.caption(":material/lock_open: Sign-in is not configured: anyone who can open this URL can load, "
                       "undo and save. Configure `[auth]` in .streamlit/secrets.toml (README) for a shared server.")
        if store.snapshot_of is not None:
            st.caption(f"Showing {plain(store.snapshot_of.describe())}.")
        st.caption(f":material/memory: {plain(ui_warehouse.engine_label(store))}")
