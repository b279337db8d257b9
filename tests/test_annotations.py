"""Annotations (issue 19): dated notes kept in the database, added and removed through the store's write path as
the acting user (library and CLI), listed by date range, and refused in plain words when they cannot be stored."""

from __future__ import annotations

import json
from datetime import date

import pytest

from engagement.cli import main
from engagement.leadership.annotations import (AnnotationError, MAX_NOTE_LENGTH, add_annotation, list_annotations,
                                               remove_annotation)
from engagement.warehouse.access import ANALYST, VIEWER, Actor, WriteRefused
from engagement.warehouse.audit import audit_trail
from engagement.warehouse.errors import ReadOnlyStoreError
from engagement.warehouse.store import Store

ANA = Actor("ana@example.com", ANALYST, "oidc")
VIC = Actor("vic@example.com", VIEWER, "oidc")


@pytest.fixture()
def store():
    store = Store.open(":memory:", read_only=False)
    yield store
    store.close()


def test_the_store_schema_creates_the_table(store):
    assert store.has_table("annotations")


def test_add_list_remove_through_the_library(store):
    add_annotation(store, date(2025, 11, 28), "Black Friday", actor=ANA)
    launch = add_annotation(store, date(2025, 3, 3), "  Spring\ncampaign   launch ", actor=ANA)
    assert launch.note == "Spring campaign launch"  # whitespace runs made single spaces: one line on a chart
    everything = list_annotations(store)
    assert everything["note"].tolist() == ["Spring campaign launch", "Black Friday"]  # oldest first
    assert everything["noted_on"].tolist() == [date(2025, 3, 3), date(2025, 11, 28)]
    assert set(everything["created_by"]) == {"ana@example.com"}
    # Both bounds included; a note outside the range is left out.
    assert list_annotations(store, date(2025, 11, 28), date(2025, 11, 28))["note"].tolist() == ["Black Friday"]
    assert list_annotations(store, date(2025, 4, 1), None)["note"].tolist() == ["Black Friday"]
    removed = remove_annotation(store, launch.annotation_id, actor=ANA)
    assert removed.note == "Spring campaign launch"
    assert list_annotations(store)["note"].tolist() == ["Black Friday"]
    actions = audit_trail(store)[["actor", "action", "detail"]].values.tolist()
    assert ["ana@example.com", "remove annotation", "2025-03-03: Spring campaign launch"] in actions
    assert ["ana@example.com", "add annotation", "2025-11-28: Black Friday"] in actions


def test_list_accepts_a_bare_connection(store):
    add_annotation(store, date(2025, 1, 1), "New year", actor=ANA)
    assert list_annotations(store.cursor(), date(2025, 1, 1), date(2025, 1, 31))["note"].tolist() == ["New year"]


def test_a_database_without_the_table_lists_nothing():
    import duckdb

    con = duckdb.connect(":memory:")
    assert list_annotations(con, None, None).empty


def test_bad_input_is_refused_in_plain_words_and_nothing_is_stored(store):
    with pytest.raises(AnnotationError, match="needs text"):
        add_annotation(store, date(2025, 1, 1), "   ")
    with pytest.raises(AnnotationError, match=f"at most {MAX_NOTE_LENGTH}"):
        add_annotation(store, date(2025, 1, 1), "x" * (MAX_NOTE_LENGTH + 1))
    with pytest.raises(AnnotationError, match="date"):
        add_annotation(store, "2025-01-01", "a string is not a date")  # type: ignore[arg-type]
    with pytest.raises(AnnotationError, match="no annotation 42"):
        remove_annotation(store, 42)
    assert list_annotations(store).empty


def test_a_viewer_and_an_anonymous_app_session_cannot_write(store):
    kept = add_annotation(store, date(2025, 2, 14), "Valentine's", actor=ANA)
    with pytest.raises(WriteRefused):
        add_annotation(store, date(2025, 1, 1), "viewer note", actor=VIC)
    with pytest.raises(WriteRefused):
        remove_annotation(store, kept.annotation_id, actor=VIC)
    store.actor_required = True  # as in the app: a write must name the signed-in user
    with pytest.raises(WriteRefused):
        add_annotation(store, date(2025, 1, 1), "nobody signed in")
    assert list_annotations(store)["note"].tolist() == ["Valentine's"]


def test_read_only_store_refuses(tmp_path):
    path = tmp_path / "a.duckdb"
    writer = Store.open(path, read_only=False)
    add_annotation(writer, date(2025, 5, 1), "Price change")
    writer.close()
    reader = Store.open(path, read_only=True)
    try:
        assert list_annotations(reader)["note"].tolist() == ["Price change"]
        with pytest.raises(ReadOnlyStoreError):
            add_annotation(reader, date(2025, 5, 2), "no")
    finally:
        reader.close()


def test_cli_add_list_remove(tmp_path, capsys):
    db = str(tmp_path / "cli.duckdb")
    Store.open(db, read_only=False).close()
    assert main(["annotations", "add", "2025-11-28", "Black Friday <b>sale</b>", "--db", db]) == 0
    added = json.loads(capsys.readouterr().out)
    assert added == {"annotation_id": 1, "noted_on": "2025-11-28", "note": "Black Friday <b>sale</b>",
                     "status": "added"}
    assert main(["annotations", "add", "2025-03-03", "Spring launch", "--db", db]) == 0
    capsys.readouterr()
    assert main(["annotations", "list", "--db", db, "--start", "2025-11-01"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert (row["noted_on"], row["note"], row["created_by"].startswith("cli:")) == ("2025-11-28",
                                                                                    "Black Friday <b>sale</b>", True)
    assert main(["annotations", "remove", "1", "--db", db]) == 0
    capsys.readouterr()
    assert main(["annotations", "list", "--db", db, "--format", "csv"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("annotation_id,noted_on,note") and lines[1].split(",")[1:3] == ["2025-03-03",
                                                                                               "Spring launch"]
    assert main(["annotations", "remove", "9", "--db", db]) == 1
    assert "no annotation 9" in capsys.readouterr().err
    assert main(["annotations", "add", "2025-13-40", "x", "--db", db]) == 2  # not a date: a usage error
    assert main(["annotations", "add", "2025-01-01", " ", "--db", db]) == 1
    assert "needs text" in capsys.readouterr().err
