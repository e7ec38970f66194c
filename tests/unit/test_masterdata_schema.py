"""Parsing the master-data file: one-line errors that say where."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.masterdata.schema import MasterDataError, parse_document

MASTER = Path(__file__).resolve().parents[1] / "data" / "master.yaml"


def test_the_spec_example_parses():
    data = parse_document(MASTER.read_text(encoding="utf-8"))
    assert [p.sku for p in data.products] == ["TEA-001", "CUP-01", "GIFT-01"]
    assert data.products[2].kit == {"TEA-001": 2, "CUP-01": 2}
    assert str(data.customers[0].credit_limit) == "50000.00"
    assert data.users[0].identities["dingtalk"] == "0123456789"
    assert data.workflows[0].on == "order.received"
    assert data.promotions[0].terms() == {"percent_off": "10"}


@pytest.mark.parametrize(
    "text, message",
    [
        ("warehouses: [ {code: SH, name: x", "line 1, column"),
        ("- just a list", "must be a mapping of sections"),
        ("orders: []", "orders: unknown section"),
        ("products:\n  - {sku: A-1, name: x, price: '1', colour: red}", "products row 1 (A-1): colour: unknown field"),
        (
            "stock:\n  - {sku: A-1, warehouse: SH, on_hand: -5}",
            "stock row 1 (A-1@SH): on_hand: Input should be greater",
        ),
        ("products:\n  - {sku: A-1, name: x, price: abc}", "products row 1 (A-1): price: not a number: 'abc'"),
        ("products:\n  - {sku: A-1, name: x}", "price: a product needs a price"),
        ("users:\n  - {name: x, roles: [boss]}", "users row 1 (x): roles.0: Input should be"),
        ("promotions:\n  - {kind: coupon, percent_off: 5}", "promotions row 1: code: a coupon needs a code"),
        ("promotions:\n  - {kind: coupon, code: X, percent_off: 5, amount_off: 3}", "exactly one of"),
        ("warehouses:\n  - {code: X, name: y, lat: 100}", "warehouses row 1 (X): lat: Input should be less than"),
        (
            "products:\n  - {sku: a, name: b, price: 1}\n  - {sku: A, name: c, price: 2}",
            "products row 2 (A): repeats row 1",
        ),
        ("stock:\n  - {sku: A, warehouse: B, on_hand: 1.5}", "on_hand: Input should be a valid integer"),
    ],
)
def test_bad_input_says_where_in_one_line(text, message):
    with pytest.raises(MasterDataError) as error:
        parse_document(text)
    assert message in error.value.message
    assert "\n" not in error.value.message


GOOD_START = "warehouses:\n  - code: SH\n    name: 上海仓\n"  # lines 1-3


@pytest.mark.parametrize(
    "lines, message",
    [
        # A quote left open: PyYAML notices at the end of the file, a line past the last one
        (['  - code: GZ', '    name: "广州仓', '  - code: BJ', '    name: 北京仓'],
         "line 5, column 11: malformed YAML (found unexpected end of stream while scanning a quoted scalar)"),
        (['  - code: GZ', '    name: [广州仓', 'products: []'],
         "line 6, column 9: malformed YAML (expected ',' or ']', but got ':', "
         "while parsing a flow sequence at line 5, column 11)"),
        (['  - code: GZ', '   name: 广州仓'], "line 5, column 4: malformed YAML (expected <block end>"),
        (['  - code: GZ', '\tname: 广州仓'], "line 5, column 1: malformed YAML (found character '\\t'"),
    ],
)  # fmt: skip
def test_malformed_yaml_names_the_line_as_an_editor_counts_it(lines, message):
    text = GOOD_START + "\n".join(lines) + "\n"
    with pytest.raises(MasterDataError) as error:
        parse_document(text)
    assert error.value.message.startswith(message), error.value.message


def test_prices_are_exact_decimals():
    data = parse_document("products:\n  - {sku: a, name: b, price: 0.1}\n  - {sku: c, name: d, price: '19.999'}")
    assert [str(p.price) for p in data.products] == ["0.10", "20.00"]


def test_empty_file_loads_nothing():
    assert parse_document("").products == []


def test_yaml_1_1_traps_stay_text():
    """``ON`` (Ontario), ``no`` and a leading-zero phone are text, not booleans or octal numbers."""
    data = parse_document(
        "customers:\n  - code: c9\n    name: n\n    phone: 057112345\n"
        "    addresses: [{province: ON, city: NO, postcode: 01234}]\n"
        "products:\n  - {sku: A-1, name: x, price: 1, active: no}\n"
    )
    customer = data.customers[0]
    assert (customer.code, customer.phone) == ("c9", "057112345")
    address = customer.addresses[0]
    assert (address.province, address.city, address.postcode) == ("ON", "NO", "01234")
    assert data.products[0].active is False
