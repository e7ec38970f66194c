"""``oms apikey`` as an admin runs it: the key printed once on stdout, listed without it, revoked."""

from __future__ import annotations

import json

import pytest

from tests.support.cli import copy_database, oms, refused


@pytest.fixture
def loaded(tmp_path, loaded_template):
    """A database of this test's own after ``oms db upgrade`` and ``oms load`` (a copy of the worker's template)."""
    return copy_database(loaded_template, tmp_path / "keys.db")


def test_create_list_and_revoke(loaded):
    created = oms(loaded, "apikey", "create", "erp", "--scopes", "orders:read,orders:write", "--customer", "C001")
    token = created.stdout.strip()
    assert token.startswith("oms_") and "\n" not in token  # stdout is the key alone: `KEY=$(oms apikey create …)`
    assert "shown once" in created.stderr and "customer C001" in created.stderr
    listed = oms(loaded, "apikey", "list").stdout
    assert "erp" in listed and token[:12] in listed and token not in listed
    [row] = json.loads(oms(loaded, "apikey", "list", "--json").stdout)
    assert row["scopes"] == ["orders:read", "orders:write"] and row["revoked_at"] is None
    assert "revoked erp" in oms(loaded, "apikey", "revoke", "erp").stdout
    assert "REVOKED" in oms(loaded, "apikey", "list").stdout


def test_refusals_are_one_line(loaded):
    refused(
        oms(loaded, "apikey", "create", "erp", "--scopes", "orders:destroy", check=False),
        "Unknown scope orders:destroy",
    )
    refused(oms(loaded, "apikey", "revoke", "nope", check=False), "There is no API key named nope")
    assert "no API keys" in oms(loaded, "apikey", "list").stdout


def test_help_names_the_scopes(loaded):
    out = oms(loaded, "apikey", "create", "--help").stdout
    assert "orders:approve" in out and "--customer" in out and "--warehouse" in out
