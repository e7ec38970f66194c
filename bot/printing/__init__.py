"""Documents people print and files finance opens: PDFs from HTML templates, CSV and XLSX exports.

The core builds each document as data (``core.documents``); this package lays it out. Templates
ship in ``templates/`` and any of them can be replaced, file by file, by a copy in the folder
``OMS_TEMPLATE_DIR`` names (an admin edits the copy; the shipped file stays as the fallback).
"""
