#!/usr/bin/env python3
"""Writes a CSV file's rows as an xlsx workbook (one sheet, "Customers"), for the workbook
section of bench/run.sh. Every cell is text, as typed; an empty field is no cell at all, as
a spreadsheet program saves a blank cell. xlsxwriter's constant-memory mode writes each row
as it goes (its strings inline, not in a shared table), so a million rows take little memory.

Usage: python3 bench/xlsx.py IN.csv OUT.xlsx   (needs: pip install xlsxwriter)
"""
import csv
import sys

import xlsxwriter


def main(source, target):
    book = xlsxwriter.Workbook(target, {"constant_memory": True})
    sheet = book.add_worksheet("Customers")
    with open(source, newline="", encoding="utf-8") as rows:
        for r, row in enumerate(csv.reader(rows)):
            for c, value in enumerate(row):
                if value:
                    sheet.write_string(r, c, value)
    book.close()


if __name__ == "__main__":
    main(*sys.argv[1:3])
