"""NPS and CSAT: how customers feel (with n and 95 % intervals), what they say, and whether it predicts buying."""

import streamlit as st

from engagement import metrics, ui
from engagement.leadership.headlines import survey_headline
from engagement.notebook.export import LibraryCall
from engagement.charts import nps as charts
from engagement.voice.themes import MAX_COMMENTS, PROBLEM_TEXT, survey_comment_themes
from engagement.voice.csat import CSAT_SCALE
from engagement.voice.nps import (
    DIMENSIONS, NPS_SCALE, SMALL_GROUP_MIN, answer_span, behaviour_after_answer, behaviour_verdict, bottom_box_answers,
    compare_groups, compare_with_previous_period, difference_sentence, survey_breakdown, survey_trend,
)

filters = ui.current_filters()
st.title("NPS and CSAT")
survey = ui.synced_choice("Survey", ["NPS", "CSAT"], key="nps_survey", widget=st.radio, horizontal=True,
                          help="NPS: 0-10 likelihood to recommend. CSAT: 1-5 satisfaction.")
scale = NPS_SCALE if survey == "NPS" else CSAT_SCALE
top, middle, bottom = scale.top_label, scale.middle_label, scale.bottom_label
definition = (
    "NPS = % promoters (9-10) minus % detractors (0-6), from -100 to +100." if survey == "NPS"
    else "% satisfied = share of answers of 4 or 5 on the 1-5 scale; 3 is neutral, 1-2 dissatisfied."
)
overall = ui.view_data(survey_breakdown, filters, scale)
if overall.empty or int(overall["responses"].sum()) == 0:
    span = ui.view_data(answer_span, scale)
    if not span.answers:  # an orders-only brand: no date range or filter can show any
        st.info(f"No {ui.plain(survey)} answers are loaded. Load a surveys export on the Data page (one row per "
                f"answer, kind = {ui.plain(scale.kind)}) to see {ui.plain(survey)} here.", icon=":material/info:")
    else:
        st.warning(f"No {ui.plain(survey)} answers in this period and selection. The {span.answers:,} loaded ones "
                   f"were given from {span.first_day:%d %b %Y} to {span.last_day:%d %b %Y}: widen the date range "
                   "or clear the filters.")
    st.stop()
row = overall.iloc[0]
versus_before = ui.view_data(compare_with_previous_period, filters, scale)
ui.headline([survey_headline(versus_before, filters.previous_period(), scale.kind)])
st.caption(f"{ui.plain(definition)} Answers given {filters.start:%d %b %Y} – {filters.end:%d %b %Y} by the selected "
           "customers.")
columns = st.columns(4)
columns[0].metric(ui.plain(scale.score_label),
                  metrics.format_value("nps", row["score"]) if survey == "NPS" else f"{row['score']:.1f}%", border=True,
                  delta=None if versus_before.n_b == 0 else (
                      metrics.format_change("nps", versus_before.difference) if survey == "NPS"
                      else f"{versus_before.difference:+.1f} pts") + " vs before",
                  help=f"{ui.plain(definition)} Change against the {filters.days:,} days before.")
columns[0].caption(f"95 % CI {row['ci_low']:.1f} to {row['ci_high']:.1f} · n = {int(row['responses']):,}")
for column, (label, count, share) in zip(columns[1:], [
    (top, "top_box", "top_share"), (middle, "middle", "middle_share"), (bottom, "bottom_box", "bottom_share")
]):
    column.metric(ui.plain(label.capitalize()), f"{row[share]:.1%}", border=True)
    column.caption(f"{int(row[count]):,} of {int(row['responses']):,} answers")
st.caption(f"**Against the previous {filters.days:,} days:** {ui.plain(difference_sentence(versus_before))}")
ui.how_computed([f"95 % interval of the score: {scale.interval_method}.",
                 f"Change against the period before: {scale.difference_method}."])

# One view at a time (a radio, not st.tabs): charts in hidden tabs render at zero size, and only the
# chosen view's data is computed.
view = ui.synced_choice("View", ["Trend", "Breakdowns", "Compare two groups", "Behaviour after the answer",
                                 "Comment themes", "Close the loop"], key="nps_view", widget=st.radio,
                        horizontal=True, label_visibility="collapsed")
st.divider()

if view == "Trend":
    grain = ui.synced_choice("Period", ["month", "week"], key="nps_grain", widget=st.radio, horizontal=True)
    trend = ui.view_data(survey_trend, filters, scale, grain)
    left, right = st.columns(2)
    notes, n = ui.annotations(), f"n = {int(trend['responses'].sum()):,} answers"
    ui.chart(charts.score_trend_chart(trend, scale, grain, notes), n=n, key="nps-trend", container=left,
             settings=f"{survey} by {grain}")
    ui.chart(charts.category_split_chart(trend, scale, grain, notes), n=n, key="nps-split", container=right,
             settings=f"{survey} by {grain}")
    small = int(trend["is_small"].sum())
    st.caption(f"Band: 95 % interval ({ui.plain(scale.interval_method)}). Faded points: {small:,} of {len(trend)} "
               f"{ui.plain(grain)}s have fewer than {SMALL_GROUP_MIN} answers (a partial first or last "
               f"{ui.plain(grain)} often does)." if small else f"Band: 95 % interval ({ui.plain(scale.interval_method)}).")

elif view == "Breakdowns":
    dimension = ui.synced_choice("Break down by", list(DIMENSIONS), key="nps_by", format_func=DIMENSIONS.get)
    breakdown = ui.view_data(survey_breakdown, filters, scale, dimension)
    ui.chart(charts.breakdown_chart(breakdown, scale, DIMENSIONS[dimension]), key="nps-breakdown",
             n=f"n = {int(breakdown['responses'].sum()):,} answers", settings=survey)
    notes = [f"Faded and flagged: groups with fewer than {SMALL_GROUP_MIN} answers (wide intervals, read with care)."]
    if dimension == "stage":
        notes.append("Lifecycle stage is the customer's stage as of the latest data, not at the time of the answer.")
    st.caption(ui.plain(" ".join(notes)))
    table = breakdown[["group_value", "responses", "top_box", "middle", "bottom_box", "score", "ci_low", "ci_high",
                       "is_small"]].rename(columns={
        "group_value": DIMENSIONS[dimension], "top_box": top, "middle": middle, "bottom_box": bottom,
        "score": scale.score_label, "is_small": f"small (n < {SMALL_GROUP_MIN})"})
    ui.table(table, units={scale.score_label: "score", "ci_low": "score", "ci_high": "score"})
    ui.download_csv(table, f"{scale.kind}_by_{dimension}.csv", key="nps_breakdown_csv")

elif view == "Compare two groups":
    st.caption(f"Test: {ui.plain(scale.difference_method)}. Pick Month or Week to compare two periods. The two groups must "
               "not share answers (independent samples).")
    compare_by = ui.synced_choice("Groups from", list(DIMENSIONS), key="nps_compare_by", format_func=DIMENSIONS.get)
    groups = list(ui.view_data(survey_breakdown, filters, scale, compare_by)["group_value"])
    if len(groups) < 2:
        st.info("This breakdown has fewer than two groups with answers in the selection.")
    else:
        left, right = st.columns(2)
        with left:
            group_a = ui.synced_choice("Group A", groups, key="nps_group_a", default=groups[0])
        with right:
            group_b = ui.synced_choice("Group B", groups, key="nps_group_b", default=groups[1])
        if group_a == group_b:
            st.info("Pick two different groups.")
        else:
            result = ui.view_data(compare_groups, filters, scale, compare_by, group_a, group_b)
            (st.success if result.is_significant else st.info)(ui.plain(difference_sentence(result)))

elif view == "Behaviour after the answer":
    horizon = ui.synced_choice("Follow-up window (days after the answer)", [30, 60, 90, 180, 365], key="nps_horizon",
                               default=90, widget=st.radio, horizontal=True)
    link = ui.view_data(behaviour_after_answer, filters, scale, horizon)
    st.markdown(f"**Is {ui.plain(survey)} predictive here?** " + ui.plain(behaviour_verdict(link)))
    left, right = st.columns(2)
    n = f"n = {int(link.frame()['customers'].sum()):,} customers"
    ui.chart(charts.behaviour_chart(link, "repurchase"), n=n, key="nps-repurchase", container=left, settings=survey)
    ui.chart(charts.behaviour_chart(link, "revenue"), n=n, key="nps-revenue", container=right, settings=survey)
    ui.table(link.readable_table())
    st.caption(
        f"One answer per customer: their first {ui.plain(survey)} answer in the period. Repurchase = at least one "
        f"purchase in the {horizon:,} days after it; churn = no purchase in that window (its complement); revenue per "
        f"customer includes those who bought nothing. 95 % intervals: Wilson (rates), t (revenue); {ui.plain(top)} vs "
        f"{ui.plain(bottom)}: Agresti-Caffo and Welch. **{link.censored:,} answers are left out (censored)**: their "
        f"{horizon:,}-day window runs past the last purchase in the data, so their outcome is not known yet. "
        "Observational: satisfied customers may differ in other ways too.")
    ui.download_csv(link.frame(), f"{scale.kind}_behaviour_{horizon}d.csv", key="nps_behaviour_csv")

elif view == "Comment themes":
    n_themes = ui.synced_number("Themes per group", key="nps_themes", default=8, widget=st.slider,
                                min_value=3, max_value=12)
    themes = ui.view_data(survey_comment_themes, filters, scale, n_themes)
    st.caption(f"The newest {MAX_COMMENTS:,} comments of the period at most. Each group's comments get their own "
               "themes: TF-IDF (words and word pairs) + NMF (scikit-learn, fixed seed); a theme is named by its top "
               "words. A comment counts for a theme when the theme holds at least half its weight; the rest are "
               "'unclear'. Bars: share of the group's comments, 95 % Wilson interval.")
    for column, result, colour in zip(st.columns(2), (themes.bottom, themes.top),
                                      (charts.CATEGORY_COLOURS[2], charts.CATEGORY_COLOURS[0])):
        with column:
            st.subheader(ui.plain(result.group.capitalize()))
            if result.problem:
                st.info(f"No themes for {ui.plain(result.group)}: {PROBLEM_TEXT[result.problem]} (n = {result.comments_used:,}).")
                continue
            ui.chart(charts.theme_share_chart(result, colour), n=f"n = {result.comments_used:,} comments",
                     key=f"nps-themes-{colour}", settings=survey)
            for theme in result.themes:
                with st.expander(f"{ui.plain(theme.label)} · {theme.comments:,} comments ({theme.share:.0%})"):
                    st.caption("Top words: " + ui.plain(", ".join(theme.top_words)))
                    for example in theme.examples:
                        st.markdown(f"> {ui.plain(example)}")
    ui.download_csv(themes.frame(), f"{scale.kind}_comment_themes.csv", key="nps_themes_csv")

else:  # Close the loop
    which = ui.synced_choice("Show", ["With a comment", "All"], key="nps_loop", widget=st.radio, horizontal=True)
    answers = ui.view_data(bottom_box_answers, filters, scale, which == "With a comment")
    st.caption(f"{int(row['bottom_box']):,} {ui.plain(bottom)} (score ≤ {scale.bottom_max:d}) in the period; the newest 1,000 "
               "are listed with what a follow-up needs: lifecycle stage today, lifetime revenue and orders, whether "
               "they bought again after answering, and the comment.")
    if answers.empty:
        st.info(f"No {ui.plain(bottom)} in this period and selection.")
    else:
        ui.table(answers, column_config={
            "lifetime_revenue": st.column_config.NumberColumn("lifetime revenue", format=ui.money_format()),
            "has_purchased_since": st.column_config.CheckboxColumn("purchased since"),
        })
        ui.download_csv(answers, f"recent_{bottom}.csv", label=f"Download {bottom} (CSV)", key="nps_loop_csv")

ui.view_exports(ui.view_recipe(
    f"{scale.kind.upper()} overview", LibraryCall.of(survey_breakdown, filters, scale, result_name="overall",
                                                     note="Score with its 95 % interval"),
    filters=filters), key="nps_export")
