"""
Workbooks written by two writers independent of this project and of its workbook library: XlsxWriter (the
writer most Python tools use; in its default mode it writes shared strings, in constant_memory mode inline
strings) and openpyxl. test/unit/input-xlsx-writers.test.ts reads them with the tool's reader and checks every
cell. Regenerate (needs Python 3 with xlsxwriter and openpyxl; the tests do not):

    python3 test/workbooks/make.py

The files are committed so the tests need no Python.
"""
import datetime
import os

import openpyxl
import xlsxwriter

HERE = os.path.dirname(os.path.abspath(__file__))
HEADER = ["bk_inst_name", "bk_asset_id", "port_count", "is_managed", "bought_on", "seen_at", "remark", "ratio"]
ROWS = [
    ["sw-1", "A-0001", 48, True, datetime.date(2024, 5, 1), datetime.datetime(2024, 5, 1, 13, 5, 9), "交换机 \"核心\" <a&b>", 0.25],
    ["sw-2", "00123", 24, False, datetime.date(1900, 2, 28), datetime.datetime(2023, 12, 31, 23, 59, 59), "line1\nline2", 1.5],
    ["sw-3", "=not a formula", 1, True, datetime.date(2030, 1, 31), datetime.datetime(2024, 2, 29, 0, 0, 0), "under_x0041_score", 3],
]


def xlsxwriter_book(name, constant_memory):
    wb = xlsxwriter.Workbook(os.path.join(HERE, name), {"constant_memory": constant_memory, "strings_to_formulas": False, "strings_to_numbers": False})
    ws = wb.add_worksheet("bk_switch")
    date = wb.add_format({"num_format": "yyyy-mm-dd"})
    stamp = wb.add_format({"num_format": "yyyy/m/d h:mm:ss"})
    ws.write_row(0, 0, HEADER)
    for r, row in enumerate(ROWS, start=1):
        ws.write_string(r, 0, row[0])
        ws.write_string(r, 1, row[1])
        ws.write_number(r, 2, row[2])
        ws.write_boolean(r, 3, row[3])
        ws.write_datetime(r, 4, datetime.datetime.combine(row[4], datetime.time()), date)
        ws.write_datetime(r, 5, row[5], stamp)
        ws.write_string(r, 6, row[6])
        ws.write_number(r, 7, row[7])
    # A formula with its saved result, and a rich string (two runs): row 5.
    ws.write_string(4, 0, "sw-4")
    ws.write_formula(4, 2, "=C2+C3", None, 72)
    bold = wb.add_format({"bold": True})
    ws.write_rich_string(4, 6, "rich ", bold, "text")
    wb.add_worksheet("notes").write_string(0, 0, "not the data")
    wb.close()


def openpyxl_book(name):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "bk_switch"
    ws.append(HEADER)
    for row in ROWS:
        ws.append(row)
    for r in range(2, 2 + len(ROWS)):
        ws.cell(row=r, column=5).number_format = "yyyy-mm-dd"
        ws.cell(row=r, column=6).number_format = "yyyy-mm-dd hh:mm:ss"
        ws.cell(row=r, column=2).data_type = "s"
    ws.cell(row=5, column=1, value="sw-4")
    ws.cell(row=5, column=3, value="=C2+C3")  # openpyxl saves no result: a formula without a saved value
    wb.create_sheet("notes")["A1"] = "not the data"
    wb.save(os.path.join(HERE, name))


xlsxwriter_book("xlsxwriter-shared.xlsx", False)
xlsxwriter_book("xlsxwriter-inline.xlsx", True)
openpyxl_book("openpyxl.xlsx")
