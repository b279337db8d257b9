"""Comment themes: what detractors complain about and what promoters praise, from free text.

Each group's comments (detractors, promoters; for CSAT dissatisfied, satisfied) get their own
themes: TF-IDF weights (unigrams and bigrams, English stop words removed) factorised with
non-negative matrix factorisation (scikit-learn ``NMF``, ``init="nndsvda"``, fixed
``random_state``). A theme is a weighted set of words, labelled by its top words. A comment belongs
to the theme that holds at least half of its weight; a comment spread over several themes (or
sharing no word with any) is counted as unclear rather than forced into one. Each theme's share
of the group's comments gets a 95 % Wilson interval.

Why one model per group: pooled, the more numerous group's phrasing takes every theme and the
other group's complaints end up scattered over themes that are not theirs.

scikit-learn is imported inside the functions: it costs a second at import and most pages never
need it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engagement.filters import Filters
from engagement.stats.intervals import wilson_interval
from engagement.voice.nps import NPS_SCALE, SurveyScale
from engagement.warehouse.store import Store

RANDOM_STATE = 42
DEFAULT_THEMES = 8
# The newest comments of the period, at most this many: enough for stable themes, and a few seconds of NMF.
MAX_COMMENTS = 10_000
# A comment joins a theme only when that theme holds at least this share of its weight.
DOMINANT_WEIGHT_SHARE = 0.5
TOP_WORDS = 6
EXAMPLES_PER_THEME = 3
# Below these the factorisation finds noise, not themes: the result says so instead of showing it.
MIN_COMMENTS = 20
MIN_VOCABULARY = 5
NOT_ENOUGH_COMMENTS = "not_enough_comments"
NOT_ENOUGH_WORDS = "not_enough_words"
PROBLEM_TEXT = {
    NOT_ENOUGH_COMMENTS: f"fewer than {MIN_COMMENTS} comments: too few to find themes",
    NOT_ENOUGH_WORDS: "the comments share too few words to find themes",
}


@dataclass(frozen=True)
class Theme:
    """One theme of one group's comments, with its share of that group's comments."""

    label: str
    top_words: tuple[str, ...]
    comments: int
    share: float
    ci_low: float
    ci_high: float
    examples: tuple[str, ...]


@dataclass(frozen=True)
class ThemeResult:
    """Themes of one group's comments, largest first; ``problem`` names why there are none."""

    group: str
    comments_used: int
    unclear: int
    themes: tuple[Theme, ...]
    problem: str | None = None

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame([{
            "group": self.group, "theme": t.label, "comments": t.comments, "share": t.share,
            "ci_low": t.ci_low, "ci_high": t.ci_high, "top_words": ", ".join(t.top_words),
            "examples": " | ".join(t.examples),
        } for t in self.themes], columns=["group", "theme", "comments", "share", "ci_low", "ci_high", "top_words",
                                          "examples"])


@dataclass(frozen=True)
class CommentThemes:
    """Bottom-box and top-box themes side by side (detractors vs promoters for NPS)."""

    bottom: ThemeResult
    top: ThemeResult

    def frame(self) -> pd.DataFrame:
        return pd.concat([self.bottom.frame(), self.top.frame()], ignore_index=True)


def _label(top_words: tuple[str, ...]) -> str:
    """The top three terms, skipping a bigram that repeats a word already in the label."""
    words: list[str] = []
    for term in top_words:
        if any(part in words for part in term.split()):
            continue
        words.append(term)
        if len(words) == 3:
            break
    return " / ".join(words) if words else "(no words)"


def extract_themes(comments: pd.Series, n_themes: int = DEFAULT_THEMES, group: str = "comments",
                   random_state: int = RANDOM_STATE) -> ThemeResult:
    """Find ``n_themes`` themes in one group's ``comments`` (strings).

    Example
    -------
    >>> texts = pd.Series(["late delivery again", "delivery was late", "parcel arrived late"] * 10
    ...                   + ["stale bitter coffee", "the coffee was stale", "bitter and stale beans"] * 10)
    >>> result = extract_themes(texts, n_themes=2, group="detractors")
    >>> sorted(t.comments for t in result.themes), result.unclear
    ([30, 30], 0)
    >>> sorted("stale" in t.label for t in result.themes)
    [False, True]
    """
    from sklearn.decomposition import NMF
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = comments.astype(str).reset_index(drop=True)
    if len(texts) < MIN_COMMENTS:
        return ThemeResult(group, len(texts), 0, (), NOT_ENOUGH_COMMENTS)
    vectorizer = TfidfVectorizer(stop_words="english", ngram_range=(1, 2), min_df=2, max_df=0.95,
                                 sublinear_tf=True, max_features=5000)
    try:
        tfidf = vectorizer.fit_transform(texts)
    except ValueError:  # every word is a stop word or appears once
        return ThemeResult(group, len(texts), 0, (), NOT_ENOUGH_WORDS)
    vocabulary = vectorizer.get_feature_names_out()
    if len(vocabulary) < max(MIN_VOCABULARY, n_themes):
        return ThemeResult(group, len(texts), 0, (), NOT_ENOUGH_WORDS)

    model = NMF(n_components=n_themes, init="nndsvda", random_state=random_state, max_iter=500)
    weights = model.fit_transform(tfidf)
    totals = weights.sum(axis=1)
    strongest = weights.max(axis=1)
    is_clear = (strongest > 0) & (strongest >= DOMINANT_WEIGHT_SHARE * np.maximum(totals, 1e-12))
    assigned = np.where(is_clear, weights.argmax(axis=1), -1)

    themes = []
    for theme_id, word_weights in enumerate(model.components_):
        members = np.flatnonzero(assigned == theme_id)
        top_words = tuple(vocabulary[i] for i in np.argsort(word_weights)[::-1][:TOP_WORDS] if word_weights[i] > 0)
        by_weight = members[np.argsort(weights[members, theme_id])[::-1]]
        examples = tuple(dict.fromkeys(texts.iloc[by_weight]))[:EXAMPLES_PER_THEME]
        low, high = wilson_interval(len(members), len(texts))
        themes.append(Theme(_label(top_words), top_words, len(members), len(members) / len(texts), low, high,
                            examples))
    themes.sort(key=lambda t: (-t.comments, t.label))
    return ThemeResult(group, len(texts), int((assigned < 0).sum()), tuple(t for t in themes if t.comments > 0))


def survey_comment_themes(store: Store, filters: Filters, scale: SurveyScale = NPS_SCALE,
                          n_themes: int = DEFAULT_THEMES, max_comments: int = MAX_COMMENTS,
                          cursor=None) -> CommentThemes:
    """Themes of the window's bottom-box and top-box comments (the newest ``max_comments`` of all comments)."""
    params = {**filters.params(), **scale.params(), "limit": int(max_comments)}
    comments = store.query("nps/answer_comments", params, cursor=cursor)
    return CommentThemes(
        bottom=extract_themes(comments.loc[comments["category"] == "bottom", "comment"], n_themes, scale.bottom_label),
        top=extract_themes(comments.loc[comments["category"] == "top", "comment"], n_themes, scale.top_label),
    )
