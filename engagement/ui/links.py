"""Settings mirrored in the URL's query parameters, so a copied link reopens the same view.

A refused value (a link edited by hand, an option this data no longer has) gives a short notice and the
default, never a crash.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import streamlit as st

from engagement.ui.text import plain


LINK_NOTICE = "This link's value for {key} ({value}) is not one this page knows; showing {default} instead."
_LINK_VALUE_SHOWN = 60  # characters of a refused value quoted back in the notice


class _Refused(ValueError):
    """A query-parameter value that parsed but is not acceptable (out of range, not finite)."""


def link_notice(key: str, raw: str, default: Any) -> None:
    """The short notice a refused query-parameter value gets: the page goes on with the default."""
    shown = raw if len(raw) <= _LINK_VALUE_SHOWN else raw[:_LINK_VALUE_SHOWN] + "…"
    empty = default is None or (isinstance(default, (str, list, tuple)) and not default)
    default_text = "the default" if empty else f"'{default}'"
    st.warning(plain(LINK_NOTICE.format(key=key, value=repr(shown), default=default_text)), icon=":material/link_off:")


def from_query(key: str, parse: Callable[[str], Any], default: Any) -> Any:
    """The URL's value for ``key`` parsed by ``parse``; on a missing value the default, on a value
    ``parse`` refuses (any exception: a shared link must never crash a page) the default with a notice."""
    raw = st.query_params.get(key)
    if raw is None:
        return default
    try:
        return parse(raw)
    except Exception:  # noqa: BLE001 - whatever the parser raises, the link falls back to the default
        link_notice(key, raw, default)
        return default


# Streamlit forgets a widget's value when a run does not draw it (another page was shown) and clears the URL's
# query parameters on a page switch, so every synced widget also keeps its last value here, in the session:
# coming back to a page shows the settings it was left with (and writes them to the URL again). A link's value
# still wins over the remembered one: opening a shared link shows what it says.
_REMEMBERED = "_engagement_remembered_settings"


def _remembered(key: str, default: Any, valid: Callable[[Any], bool] = lambda value: True) -> Any:
    """The value the widget ``key`` had when this session last drew it, when still ``valid``; else ``default``."""
    remembered = st.session_state.get(_REMEMBERED, {})
    if key in remembered and valid(remembered[key]):
        return remembered[key]
    return default


def _remember(key: str, value: Any) -> None:
    st.session_state.setdefault(_REMEMBERED, {})[key] = value


def _initial(key: str, parse: Callable[[str], Any], default: Any,
             valid: Callable[[Any], bool] = lambda value: True) -> Any:
    """A widget's value when this run draws it afresh: the URL's, else the remembered one, else ``default``."""
    return from_query(key, parse, _remembered(key, default, valid))


# Radio buttons, segmented controls and pills render their option labels as markdown; selectboxes and
# multiselects show them as text.
_MARKDOWN_OPTION_WIDGETS = ("radio", "segmented_control", "pills")


def synced_choice(label: str, options: Sequence[Any], key: str, default: Any = None,
                  widget: Callable[..., Any] | None = None, **widget_kwargs: Any) -> Any:
    """A single-choice widget whose value lives in the URL as ``?key=value``.

    ``widget`` is ``st.selectbox`` (default), ``st.radio`` or ``st.segmented_control``; options are
    compared as strings in the URL.
    """
    options = list(options)
    widget = widget or st.selectbox
    by_text = {str(o): o for o in options}
    if key not in st.session_state:
        fallback = default if default in options else (options[0] if options else None)
        st.session_state[key] = _initial(key, lambda raw: by_text[raw], fallback, lambda value: value in options)
    elif st.session_state[key] not in options and options:
        st.session_state[key] = default if default in options else options[0]
    if getattr(widget, "__name__", "") in _MARKDOWN_OPTION_WIDGETS:  # these render their options as markdown
        shown = widget_kwargs.pop("format_func", str)
        widget_kwargs["format_func"] = lambda option: plain(shown(option))
    value = widget(label, options, key=key, **widget_kwargs)
    _remember(key, value)
    st.query_params[key] = str(value)
    return value


def synced_number(label: str, key: str, default: float, widget: Callable[..., Any] | None = None,
                  **widget_kwargs: Any) -> Any:
    """A number input or slider whose value lives in the URL as ``?key=value``."""
    widget = widget or st.number_input
    low, high = widget_kwargs.get("min_value"), widget_kwargs.get("max_value")

    def parse(raw: str) -> float:
        value = type(default)(raw)
        if not math.isfinite(value) or (low is not None and value < low) or (high is not None and value > high):
            raise _Refused(raw)
        return value

    def in_range(value: Any) -> bool:  # a remembered value from before the page changed its bounds is dropped
        return (low is None or value >= low) and (high is None or value <= high)

    if key not in st.session_state:
        st.session_state[key] = _initial(key, parse, default, in_range)
    value = widget(label, key=key, **widget_kwargs)
    _remember(key, value)
    st.query_params[key] = str(value)
    return value


def _split(raw: str) -> list[str]:
    return [part for part in raw.split(",") if part]


def known_parts(raw: str, known: Sequence[str]) -> list[str]:
    parts = _split(raw)
    if any(part not in known for part in parts):
        raise _Refused(raw)
    return parts


def synced_text(label: str, key: str, default: str = "", **widget_kwargs: Any) -> str:
    """A text input whose value lives in the URL as ``?key=text`` (left out of the URL when empty)."""
    if key not in st.session_state:
        st.session_state[key] = _initial(key, str, default)
    value = st.text_input(label, key=key, **widget_kwargs)
    _remember(key, value)
    if value:
        st.query_params[key] = value
    elif key in st.query_params:
        del st.query_params[key]
    return value


def synced_multichoice(label: str, options: Sequence[Any], key: str, default: Sequence[Any] = (),
                       **widget_kwargs: Any) -> list[Any]:
    """A multiselect whose values live in the URL as ``?key=a,b``."""
    options = list(options)
    by_text = {str(o): o for o in options}
    if key not in st.session_state:
        fallback = [d for d in default if d in options]
        remembered = [v for v in _remembered(key, fallback) if v in options]
        st.session_state[key] = from_query(key, lambda raw: [by_text[p] for p in _split(raw)], remembered)
    else:
        st.session_state[key] = [v for v in st.session_state[key] if v in options]
    value = st.multiselect(label, options, key=key, **widget_kwargs)
    _remember(key, value)
    st.query_params[key] = ",".join(map(str, value))
    return value


def page_alias(target: str, url_path: str) -> st.Page:
    """A hidden page at ``/url_path`` that opens ``target`` with the same query parameters, so a link naming the
    default page's own name (served at ``/``) reaches it instead of Streamlit's "Page not found"."""
    def open_target() -> None:
        st.switch_page(target, query_params=st.query_params.to_dict())

    return st.Page(open_target, title=f"{url_path} (alias)", url_path=url_path, visibility="hidden")
