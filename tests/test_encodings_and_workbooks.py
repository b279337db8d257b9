"""Issue 16's last refusals: mixed encodings, control characters past the sniffing sample, XLSX formulas
without a saved result, encrypted workbooks, and float-formatted ids in strict-customers mode.

The sniffing sample and the scan's chunk are shrunk (monkeypatch) so that a small file has a tail the
sample does not see, as the first megabytes of a large export would.
"""

from __future__ import annotations

import pytest

from engagement.intake import readers, text_scan
from engagement.intake.ingest import ingest_file

from intake_fixtures import ORDERS_HEADER, intake_store, snapshot, table  # noqa: F401

ROW = "O{i},A,2025-03-01 10:00:00,{i}.50,0,USD,web,paid\n"
PLAIN = "".join(ROW.format(i=i) for i in range(100, 160)).encode("ascii")  # ~2.7 KB of ASCII rows


@pytest.fixture()
def small_sample(monkeypatch):
    """A 256-byte sniffing sample and 1 KB scan chunks: the tail of a 3 KB file is past the sample."""
    monkeypatch.setattr(readers, "SAMPLE_BYTES", 256)
    monkeypatch.setattr(text_scan, "SCAN_BYTES", 1024)


def _load(store, tmp_path, body: bytes, name="orders.csv", **kwargs):
    path = tmp_path / name
    path.write_bytes(body)
    before = snapshot(store)
    result = ingest_file(store, "orders", path, **kwargs)
    return result, before


def test_utf8_file_with_a_latin1_line_past_the_sample_is_refused_quoting_it(intake_store, tmp_path, small_sample):
    body = (ORDERS_HEADER + "\n" + ROW.format(i=1)).encode() + b"O2,A,2025-03-01 10:00:00,2.50,0,USD,web,caf\xc3\xa9\n"
    body = body.replace(b"caf\xc3\xa9", b"paid") + PLAIN + b"O3,A,2025-03-01 10:00:00,3.50,0,USD,w\xc3\xa9b,paid\n" \
        + PLAIN.replace(b"O1", b"P1") + b"O4,A,2025-03-01 10:00:00,4.50,0,USD,caf\xe9,paid\n"
    result, before = _load(intake_store, tmp_path, body)
    assert result.status == "rejected", result.message
    assert "mixes text encodings" in result.message
    assert "'O4,A,2025-03-01 10:00:00,4.50,0,USD,café,paid'" in result.message
    assert snapshot(intake_store) == before


def test_latin1_file_with_a_utf8_line_past_the_sample_is_refused(intake_store, tmp_path, small_sample):
    body = (ORDERS_HEADER + "\n").encode() + b"O1,A,2025-03-01 10:00:00,1.50,0,USD,caf\xe9,paid\n" + PLAIN \
        + b"O2,A,2025-03-01 10:00:00,2.50,0,USD,caf\xc3\xa9,paid\n"
    result, before = _load(intake_store, tmp_path, body)
    assert result.status == "rejected", result.message
    # both lines quoted: line 2 is the first that is not UTF-8; 2 + 60 plain rows + 1 = line 63 is UTF-8
    assert "line 2 is not UTF-8" in result.message and "line 63 is UTF-8" in result.message
    assert snapshot(intake_store) == before


def test_ascii_then_latin1_past_the_sample_reads_as_latin1(intake_store, tmp_path, small_sample):
    body = (ORDERS_HEADER + "\n").encode() + PLAIN + b"O1,A,2025-03-01 10:00:00,1.50,0,USD,caf\xe9,paid\n"
    result, _ = _load(intake_store, tmp_path, body)
    assert result.status == "loaded", result.message
    assert result.read_info.encoding == "latin-1" and any("Latin-1" in n for n in result.notes)
    assert table(intake_store, "SELECT channel FROM orders WHERE order_id = 'O1'").channel[0] == "café"


@pytest.mark.parametrize("byte", [b"\x1b", b"\x07", b"\x0b", b"\x1a"])
def test_control_character_past_the_first_4kb_is_refused(intake_store, tmp_path, byte):
    # 4 x ~2.7 KB of plain rows first: the old check looked at the first 4 KB only
    body = (ORDERS_HEADER + "\n").encode() + PLAIN * 4 + b"O1,A,2025-03-01 10:00:00,1.50,0,USD,w" + byte + b"b,paid\n"
    result, before = _load(intake_store, tmp_path, body)
    assert result.status == "rejected", result.message
    assert f"control character (byte 0x{byte[0]:02X}) on line 242" in result.message  # header + 240 rows + 1
    assert snapshot(intake_store) == before


def test_control_character_in_a_gzipped_file_is_refused(intake_store, tmp_path, small_sample):
    import gzip

    body = (ORDERS_HEADER + "\n").encode() + PLAIN + b"O1,A,2025-03-01 10:00:00,1.50,0,USD,w\x1bb,paid\n"
    result, before = _load(intake_store, tmp_path, gzip.compress(body), name="orders.csv.gz")
    assert result.status == "rejected" and "control character (byte 0x1B) on line 62" in result.message
    assert snapshot(intake_store) == before


def test_utf8_sequence_cut_by_a_scan_chunk_is_read(tmp_path, monkeypatch):
    head = (ORDERS_HEADER + "\n").encode() + b"O1,A,2025-03-01 10:00:00,1.50,0,USD,caf\xc3\xa9,paid\n"
    path = tmp_path / "scan.csv"
    path.write_bytes(head + PLAIN)
    for chunk in range(len(head) - 8, len(head) - 2):  # every split around the two-byte \xc3\xa9
        monkeypatch.setattr(text_scan, "SCAN_BYTES", chunk)
        assert text_scan.scan_text(path, "csv", "scan.csv", "utf-8", head[:64]) == "utf-8", chunk


FIXTURES = __import__("pathlib").Path(__file__).parent / "fixtures"


def test_formula_without_a_cached_result_gets_its_own_message(intake_store, tmp_path):
    import openpyxl

    workbook = openpyxl.Workbook()  # openpyxl saves formulas without calculating them, as many exporters do
    sheet = workbook.active
    sheet.append(ORDERS_HEADER.split(","))
    sheet.append(["O1", "A", "2025-03-01 10:00:00", 12.5, 0, "USD", "web", "paid"])
    sheet.append(["O2", "A", "2025-03-01 10:00:00", "=D2*2", 0, "USD", "web", "paid"])
    sheet.append(["O3", "A", "2025-03-01 10:00:00", "=D2*3", 0, "USD", "web", "paid"])
    workbook.save(tmp_path / "orders.xlsx")
    before = snapshot(intake_store)
    result = ingest_file(intake_store, "orders", tmp_path / "orders.xlsx")
    assert result.status == "rejected", result.message
    assert "2 formula cell(s) with no saved result, the first D3 (=D2*2)" in result.message
    assert snapshot(intake_store) == before


def test_formula_with_a_cached_result_is_read_and_one_without_is_refused(tmp_path, intake_store):
    """The same formulas pass once the workbook carries their results (Excel's save); without them, refused."""
    import zipfile

    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(ORDERS_HEADER.split(","))
    sheet.append(["O1", "A", "2025-03-01 10:00:00", "=6*2", 0, "USD", "web", "paid"])
    sheet.append(["O2", "A", "2025-03-01 10:00:00", '=""', 0, "USD", "web", "paid"])
    workbook.save(tmp_path / "raw.xlsx")
    # what Excel saves after calculating: the result beside the formula (12, and an empty text result)
    with zipfile.ZipFile(tmp_path / "raw.xlsx") as source, \
            zipfile.ZipFile(tmp_path / "orders.xlsx", "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"<f>6*2</f><v />", b"<f>6*2</f><v>12</v>")
                data = data.replace(b'<c r="D3"><f>""</f><v />', b'<c r="D3" t="str"><f>""</f><v></v>')
            target.writestr(item, data)
    cur = intake_store.cursor()
    assert readers.read_into(cur, tmp_path / "orders.xlsx").rows == 2
    assert cur.execute("SELECT net_revenue FROM raw_input ORDER BY file_row").fetchall()[0][0] == "12"
    with pytest.raises(readers.FileRejected, match="2 formula cell"):
        readers.read_into(cur, tmp_path / "raw.xlsx")


def test_password_protected_xlsx_gets_its_own_message(intake_store):
    before = snapshot(intake_store)
    result = ingest_file(intake_store, "orders", FIXTURES / "encrypted_orders.xlsx")
    assert result.status == "rejected", result.message
    assert "password-protected (encrypted) Excel workbook" in result.message and "binary data" not in result.message
    assert snapshot(intake_store) == before


def test_old_binary_office_file_is_named(intake_store, tmp_path):
    path = tmp_path / "orders.xls"
    path.write_bytes(readers.OLE_MAGIC + bytes(504) + "Workbook".encode("utf-16-le") + bytes(3000))
    result = ingest_file(intake_store, "orders", path)
    assert result.status == "rejected" and "old binary Office file (Excel 97-2003 .xls" in result.message


def test_strict_customers_refusal_says_when_ids_differ_only_by_float_formatting(intake_store, tmp_path):
    customers = tmp_path / "customers.csv"
    customers.write_text("customer_id,email,created_at,acquisition_channel,country\n"
                         "17850,a@example.com,2025-01-01,referral,GB\n12346,b@example.com,2025-01-01,referral,GB\n")
    assert ingest_file(intake_store, "customers", customers).status == "loaded"
    # one id written as a float, one not: not every value is a float, so the ids are not rewritten
    orders = tmp_path / "orders.csv"
    orders.write_text(ORDERS_HEADER + "\nO1,17850.0,2025-03-01 10:00:00,10.00,0,USD,web,paid\n"
                      "O2,12346,2025-03-01 10:00:00,11.00,0,USD,web,paid\n"
                      "O3,99999,2025-03-01 10:00:00,1,0,USD,web,paid\n")
    before = snapshot(intake_store)
    result = ingest_file(intake_store, "orders", orders, strict_customers=True)
    assert result.status == "rejected", result.message
    assert "1 unknown customer id(s) differ from known customers only by float formatting " \
           "('17850.0' in this file, '17850' stored)" in result.message
    assert snapshot(intake_store) == before


def test_latin1_capitals_before_a_guillemet_are_not_called_mixed(intake_store, tmp_path, small_sample):
    # '«CAFÉ»' in Latin-1 ends in \xc9\xbb, which is also a valid UTF-8 pair (U+027B): not a sign of UTF-8
    body = (ORDERS_HEADER + "\n").encode() + b"O1,A,2025-03-01 10:00:00,1.50,0,USD,Stra\xdfe,paid\n" + PLAIN \
        + b"O2,A,2025-03-01 10:00:00,2.50,0,USD,\xabCAF\xc9\xbb,paid\n"
    result, _ = _load(intake_store, tmp_path, body)
    assert result.status == "loaded", result.message
    assert result.read_info.encoding == "latin-1"
    assert table(intake_store, "SELECT channel FROM orders WHERE order_id = 'O2'").channel[0] == "«CAFÉ»"


# Excel's "CSV" on Windows writes Windows-1252: the curly quotes, dash and euro sign below are bytes 0x93, 0x94,
# 0x96 and 0x80, which DuckDB's Latin-1 reader refuses ("File is not latin-1 encoded").
WINDOWS_TEXT = "Café – “quoted” €5"


def test_a_windows_1252_export_loads_converted_with_a_note(intake_store, tmp_path, small_sample):
    body = (ORDERS_HEADER + "\n").encode() + PLAIN + f"O1,A,2025-03-01 10:00:00,1.50,0,USD,{WINDOWS_TEXT},paid\n" \
        .encode("cp1252")
    assert b"\x93" in body and b"\x80" in body
    result, _ = _load(intake_store, tmp_path, body)
    assert result.status == "loaded", result.message
    assert result.read_info.encoding == "windows-1252"
    assert any("Windows-1252" in n for n in result.notes), result.notes
    assert table(intake_store, "SELECT channel FROM orders WHERE order_id = 'O1'").channel[0] == WINDOWS_TEXT
    # the archive keeps the bytes as exported, under their own checksum
    import hashlib
    from pathlib import Path

    assert Path(result.archive_path).read_bytes() == body
    assert result.sha256 == hashlib.sha256(body).hexdigest()


def test_windows_1252_mixed_with_utf8_is_refused_quoting_the_first_bad_line(intake_store, tmp_path, small_sample):
    body = (ORDERS_HEADER + "\n").encode() + f"O1,A,2025-03-01 10:00:00,1.50,0,USD,{WINDOWS_TEXT},paid\n" \
        .encode("cp1252") + PLAIN + f"O2,A,2025-03-01 10:00:00,2.50,0,USD,{WINDOWS_TEXT},paid\n".encode("utf-8")
    result, before = _load(intake_store, tmp_path, body)
    assert result.status == "rejected", result.message
    assert "mixes text encodings" in result.message
    # line 2 is quoted as written (Windows-1252), line 63 (after 60 plain rows) is the UTF-8 one
    assert f"line 2 is not UTF-8: 'O1,A,2025-03-01 10:00:00,1.50,0,USD,{WINDOWS_TEXT},paid'" in result.message
    assert "line 63 is UTF-8" in result.message
    assert snapshot(intake_store) == before


def test_a_byte_windows_1252_leaves_undefined_is_refused_with_its_line(intake_store, tmp_path):
    body = (ORDERS_HEADER + "\n").encode() + f"O1,A,2025-03-01 10:00:00,1.50,0,USD,{WINDOWS_TEXT},paid\n" \
        .encode("cp1252") + b"O2,A,2025-03-01 10:00:00,2.50,0,USD,w\x81b,paid\n"
    result, before = _load(intake_store, tmp_path, body)
    assert result.status == "rejected", result.message
    assert "byte 0x81 on line 3" in result.message and "Nothing was loaded" in result.message
    assert snapshot(intake_store) == before
