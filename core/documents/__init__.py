"""Printable documents as data (no HTML): pick lists, packing slips, customer statements.

Each builder checks who may see it and returns frozen dataclasses with Decimal money and
timezone-aware times; rendering them (HTML templates, PDF) is done outside the core.
"""
