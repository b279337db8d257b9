"""Comment themes: free-text survey comments grouped into themes, detractors against promoters.

TF-IDF weights (unigrams and bigrams, English stop words removed) factorised with non-negative
matrix factorisation (scikit-learn ``NMF``, fixed ``random_state``): each theme is a weighted set of
words, labelled by its top words; each comment belongs to the theme with its largest weight (or to
no theme when it shares no word with any). The share of each category's comments per theme gets a
Wilson interval, so "detractors talk about delivery" is a number with its uncertainty.

scikit-learn is imported inside the functions: it costs a second at import and most pages never
need it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engagement.filters import Filters
from engagement.intervals import wilson_interval
from engagement.nps import NPS_SCALE, SurveyScale
from engagement.store import Store

RANDOM_STATE = 42
# Below these the factorisation finds noise, not themes: the page says so instead of showing it.
MIN_COMMENTS = 20
MIN_VOCABULARY = 5
TOP_WORDS = 6
EXAMPLES_PER_THEME = 3
NOT_ENOUGH_COMMENTS = "not_enough_comments"
NOT_ENOUGH_WORDS = "not_enough_words"


@dataclass(frozen=True)
class Theme:
    theme_id: int
    label: str
    top_words: tuple[str, ...]


@dataclass(frozen=True)
class ThemeResult:
    """Themes, the share of each category's comments per theme, and example comments.

    ``shares``: one row per theme per category: theme_id, label, category, comments, category_comments,
    share, ci_low, ci_high. ``examples``: one row per example: theme_id, label, category, score, comment.
    ``problem`` is ``None`` or one of the module's named conditions when no themes could be found.
    """

    themes: tuple[Theme, ...]
    comments_used: int
    shares: pd.DataFrame
    examples: pd.DataFrame
    problem: str | None = None


def _empty(comments_used: int, problem: str) -> ThemeResult:
    return ThemeResult((), comments_used, pd.DataFrame(columns=["theme_id", "label", "category", "comments",
                                                                "category_comments", "share", "ci_low", "ci_high"]),
                       pd.DataFrame(columns=["theme_id", "label", "category", "score", "comment"]), problem)


def extract_themes(comments: pd.DataFrame, n_themes: int = 6, random_state: int = RANDOM_STATE) -> ThemeResult:
    """Group ``comments`` (columns ``comment``, ``category``; optional ``score``) into ``n_themes`` themes.

    Example
    -------
    >>> frame = pd.DataFrame({
    ...     "comment": ["late delivery again", "delivery was late", "parcel arrived late"] * 10
    ...                + ["great quality fabric", "love the quality", "quality is great"] * 10,
    ...     "category": ["bottom"] * 30 + ["top"] * 30})
    >>> result = extract_themes(frame, n_themes=2)
    >>> sorted(result.shares.query("share == 1")["category"])  # each category's comments share one theme
    ['bottom', 'top']
    >>> sorted(t.label for t in result.themes)
    ['delivery / late / parcel arrived', 'quality / great / fabric']
    """
    from sklearn.decomposition import NMF
    from sklearn.feature_extraction.text import TfidfVectorizer

    comments = comments.reset_index(drop=True)
    if len(comments) < MIN_COMMENTS:
        return _empty(len(comments), NOT_ENOUGH_COMMENTS)
    vectorizer = TfidfVectorizer(stop_words="english", ngram_range=(1, 2), min_df=2, max_df=0.95,
                                 sublinear_tf=True, max_features=5000)
    try:
        tfidf = vectorizer.fit_transform(comments["comment"].astype(str))
    except ValueError:  # every word is a stop word or appears once
        return _empty(len(comments), NOT_ENOUGH_WORDS)
    vocabulary = vectorizer.get_feature_names_out()
    if len(vocabulary) < max(MIN_VOCABULARY, n_themes):
        return _empty(len(comments), NOT_ENOUGH_WORDS)

    model = NMF(n_components=n_themes, init="nndsvda", random_state=random_state, max_iter=400)
    weights = model.fit_transform(tfidf)
    themes = []
    for theme_id, word_weights in enumerate(model.components_):
        top = tuple(vocabulary[i] for i in np.argsort(word_weights)[::-1][:TOP_WORDS] if word_weights[i] > 0)
        themes.append(Theme(theme_id, _label(top), top))

    has_theme = weights.max(axis=1) > 0
    assigned = comments.assign(theme_id=np.where(has_theme, weights.argmax(axis=1), -1),
                               weight=weights.max(axis=1))
    labels = {t.theme_id: t.label for t in themes}
    return ThemeResult(tuple(themes), len(comments), _shares(assigned, themes), _examples(assigned, labels))


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


def _shares(assigned: pd.DataFrame, themes: list[Theme]) -> pd.DataFrame:
    totals = assigned.groupby("category").size()
    counts = assigned[assigned["theme_id"] >= 0].groupby(["theme_id", "category"]).size()
    rows = []
    for theme in themes:
        for category, category_total in totals.items():
            k = int(counts.get((theme.theme_id, category), 0))
            low, high = wilson_interval(k, int(category_total))
            rows.append({"theme_id": theme.theme_id, "label": theme.label, "category": category, "comments": k,
                         "category_comments": int(category_total), "share": k / category_total,
                         "ci_low": low, "ci_high": high})
    return pd.DataFrame(rows)


def _examples(assigned: pd.DataFrame, labels: dict[int, str]) -> pd.DataFrame:
    """The comments that weigh most on each theme, per category (distinct texts)."""
    themed = assigned[assigned["theme_id"] >= 0].sort_values("weight", ascending=False)
    themed = themed.drop_duplicates(["theme_id", "category", "comment"])
    top = themed.groupby(["theme_id", "category"], sort=True).head(EXAMPLES_PER_THEME)
    top = top.assign(label=top["theme_id"].map(labels))
    columns = ["theme_id", "label", "category", "score", "comment"]
    if "score" not in top:
        top = top.assign(score=np.nan)
    return top[columns].sort_values(["theme_id", "category"]).reset_index(drop=True)


def survey_comment_themes(store: Store, filters: Filters, scale: SurveyScale = NPS_SCALE, n_themes: int = 6,
                          max_comments: int = 20_000, cursor=None) -> ThemeResult:
    """Themes of the newest ``max_comments`` comments of the window's answers (detractors vs promoters for NPS)."""
    params = {**filters.params(), **scale.params(), "limit": int(max_comments)}
    comments = store.query("nps/answer_comments", params, cursor=cursor)
    return extract_themes(comments, n_themes=n_themes)
