"""Comment themes: planted themes are recovered, results are reproducible, thin input is refused plainly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from engagement.voice.themes import (
    MIN_COMMENTS, NOT_ENOUGH_COMMENTS, NOT_ENOUGH_WORDS, extract_themes, survey_comment_themes,
)
from engagement.voice.csat import CSAT_SCALE
from engagement.value.kpis import data_range, default_filters
from engagement.voice.nps import NPS_SCALE

# Three planted complaint themes with distinct vocabularies, padded with filler that carries no theme.
PLANTED = {
    "delivery": ["the delivery was late", "parcel arrived late again", "shipping took two weeks",
                 "late delivery and slow courier"],
    "price": ["too expensive for the size", "prices went up again", "the price is far too high",
              "expensive shipping costs and high prices"],
    "support": ["support never replied to my email", "nobody answered my support ticket",
                "waited days for support to reply", "support agent was rude"],
}


def _planted_comments(seed: int = 42, per_theme: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for theme, phrasings in PLANTED.items():
        for _ in range(per_theme):
            opener = rng.choice(["", "honestly, ", "not happy: ", "sadly "])
            rows.append({"theme": theme, "comment": opener + rng.choice(phrasings)})
    return pd.DataFrame(rows).sample(frac=1, random_state=seed).reset_index(drop=True)


def _assignments(result, frame) -> dict[str, str]:
    """planted theme -> label of the found theme whose examples come from it."""
    found = {}
    for theme in result.themes:
        planted = {frame.loc[frame["comment"] == e, "theme"].iloc[0] for e in theme.examples}
        assert len(planted) == 1, f"theme {theme.label} mixes {planted}"
        found[planted.pop()] = theme.label
    return found


def test_planted_themes_are_recovered():
    frame = _planted_comments()
    result = extract_themes(frame["comment"], n_themes=3, group="detractors")
    assert result.problem is None and result.comments_used == 180
    assert sorted(_assignments(result, frame)) == ["delivery", "price", "support"]
    # Each found theme holds most of its planted theme's 60 comments.
    assert all(t.comments >= 45 for t in result.themes)
    assert sum(t.comments for t in result.themes) + result.unclear == 180
    labels = " ".join(t.label for t in result.themes)
    assert "support" in labels and ("late" in labels or "delivery" in labels)


def test_theme_share_interval_is_wilson():
    result = extract_themes(_planted_comments()["comment"], n_themes=3)
    theme = result.themes[0]
    low, high = proportion_confint(theme.comments, result.comments_used, method="wilson")
    assert (theme.ci_low, theme.ci_high) == pytest.approx((low, high))
    assert theme.share == pytest.approx(theme.comments / result.comments_used)


def test_themes_are_reproducible():
    comments = _planted_comments()["comment"]
    assert extract_themes(comments, n_themes=4) == extract_themes(comments, n_themes=4)


def test_thin_input_gives_a_named_problem_not_an_error():
    few = extract_themes(pd.Series(["late"] * (MIN_COMMENTS - 1)))
    assert (few.problem, few.themes) == (NOT_ENOUGH_COMMENTS, ())
    stop_words_only = extract_themes(pd.Series(["it was the", "and so on", "we are"] * 10))
    assert stop_words_only.problem == NOT_ENOUGH_WORDS
    assert stop_words_only.frame().empty


def test_demo_detractors_and_promoters_talk_about_different_things(demo_store):
    """The demo plants complaint themes for detractors (slow shipping, damaged packaging, price, support,
    stale coffee) and praise themes for promoters (taste, fast delivery, subscription, friendly support)."""
    filters = default_filters(data_range(demo_store))
    themes = survey_comment_themes(demo_store, filters, NPS_SCALE, n_themes=6)
    detractor_words = " ".join(w for t in themes.bottom.themes for w in t.top_words)
    promoter_words = " ".join(w for t in themes.top.themes for w in t.top_words)
    assert any(word in detractor_words for word in ("slow", "torn", "stale", "expensive", "answered", "weeks"))
    assert any(word in promoter_words for word in ("love", "subscription", "delicious", "friendly", "fast"))
    assert "stale" not in promoter_words and "subscription" not in detractor_words
    assert themes.bottom.group == "detractors" and themes.top.group == "promoters"
    csat = survey_comment_themes(demo_store, filters, CSAT_SCALE, n_themes=4)
    assert csat.top.group == "satisfied" and csat.top.themes
