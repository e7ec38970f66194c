"""`oms load` semantics: idempotent upserts, all-or-nothing, errors that name section, row and field."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.audit.models import AuditRecord
from core.auth import Actor, PermissionDenied, Role
from core.masterdata.loader import load_file, load_master_data
from core.masterdata.schema import MasterDataError, parse_document
from tests.support.loading import row_counts
from tests.support.master_data import SYSTEM
from tests.support.service_calls import place, stock

MASTER = Path(__file__).resolve().parents[1] / "data" / "master.yaml"


async def load_text(services, text: str, actor=SYSTEM):
    async with services.unit_of_work(actor) as ctx:
        return await load_master_data(ctx, parse_document(text))


async def test_the_spec_example_loads_and_loading_again_changes_nothing(services):
    async with services.unit_of_work(SYSTEM) as ctx:
        first = await load_file(ctx, MASTER)
    assert first.counts["products"]["created"] == 3
    assert [w["name"] for w in first.workflows] == ["trusted-skip", "large-order-review"]
    assert first.workflows[1]["on"] == "order.received"
    before = await row_counts(services)
    async with services.unit_of_work(SYSTEM) as ctx:
        again = await load_file(ctx, MASTER)
    assert all(c["created"] == 0 and c["updated"] == 0 for c in again.counts.values()), again.counts
    assert await row_counts(services) == before


async def test_loaded_data_drives_orders(services):
    async with services.unit_of_work(SYSTEM) as ctx:
        await load_file(ctx, MASTER)
    no = await place(services, items={"TEA-001": 10}, by="李雷")
    from tests.support.service_calls import detail

    order = await detail(services, no)
    assert order["lines"][0]["unit_price"] == "108.00"  # VIP list, 10+ break
    assert await stock(services, "TEA-001", "SH") == (100, 10)


async def test_an_error_in_the_last_row_loaded_leaves_the_database_as_it_was(services):
    before = await row_counts(services)
    text = MASTER.read_text(encoding="utf-8").replace("customer: C001, identities", "customer: C404, identities")
    with pytest.raises(MasterDataError, match=r"users row 4 \(杭州茶社\): customer: unknown customer C404"):
        await load_text(services, text)
    assert await row_counts(services) == before


async def test_unknown_sku_is_refused_with_a_suggestion(services):
    await load_text(services, MASTER.read_text(encoding="utf-8"))
    with pytest.raises(
        MasterDataError, match=r"stock row 1 \(TEA-01@SH\): sku: unknown SKU TEA-01; did you mean TEA-001"
    ):
        await load_text(services, "stock:\n  - {sku: TEA-01, warehouse: SH, on_hand: 5}\n")


async def test_unknown_warehouse_is_refused(services):
    await load_text(services, MASTER.read_text(encoding="utf-8"))
    with pytest.raises(MasterDataError, match=r"stock row 1 \(TEA-001@XX\): warehouse: unknown warehouse XX"):
        await load_text(services, "stock:\n  - {sku: TEA-001, warehouse: XX, on_hand: 5}\n")


async def test_an_identity_bound_to_someone_else_is_refused(services):
    await load_text(services, MASTER.read_text(encoding="utf-8"))
    with pytest.raises(MasterDataError, match="identities.console: lilei is already bound to 李雷"):
        await load_text(services, "users:\n  - {name: 韩梅梅, roles: [sales], identities: {console: lilei}}\n")


async def test_a_kit_of_kits_is_refused(services):
    await load_text(services, MASTER.read_text(encoding="utf-8"))
    with pytest.raises(MasterDataError, match="kit.GIFT-01: GIFT-01 is itself a kit"):
        await load_text(services, "products:\n  - {sku: BIG-1, name: Big, kit: {GIFT-01: 2}}\n")


async def test_only_admins_load_master_data(services):
    sales = Actor(name="李雷", roles=frozenset({Role.SALES}), source="test")
    with pytest.raises(PermissionDenied):
        await load_text(services, "warehouses:\n  - {code: SH, name: x}\n", actor=sales)
    async with services.unit_of_work(SYSTEM) as ctx:
        assert await ctx.session.scalar(select(func.count(AuditRecord.id)).where(AuditRecord.action == "denied")) == 1


async def test_updates_are_audited_with_what_changed(services):
    await load_text(services, MASTER.read_text(encoding="utf-8"))
    report = await load_text(services, "products:\n  - {sku: CUP-01, name: 青瓷杯, price: '49.00', cost: '12.00'}\n")
    assert report.counts["products"]["updated"] == 1
    async with services.unit_of_work(SYSTEM) as ctx:
        last = (await ctx.session.scalars(select(AuditRecord).order_by(AuditRecord.id.desc()).limit(1))).one()
    assert last.entity_key == "CUP-01" and last.data["changes"]["price"] == ["45.00", "49.00"]


async def test_changing_one_price_break_updates_the_list(services):
    await load_text(services, MASTER.read_text(encoding="utf-8"))
    report = await load_text(
        services,
        "price_lists:\n  - {name: vip, tier: vip, items: [{sku: TEA-001, price: 115}, {sku: CUP-01, price: 40}]}\n",
    )
    assert report.counts["price_lists"]["updated"] == 1
    no = await place(services, items={"TEA-001": 10}, by="李雷")
    from tests.support.service_calls import detail

    assert (await detail(services, no))["lines"][0]["unit_price"] == "115.00"  # the 10+ break is gone


async def test_changing_one_identity_keeps_the_others(services):
    await load_text(services, MASTER.read_text(encoding="utf-8"))
    report = await load_text(
        services, "users:\n  - {name: 王芳, roles: [approver, finance], identities: {console: wangfang, slack: U999}}\n"
    )
    assert report.counts["users"]["updated"] == 1
    from core.users.models import ChatIdentity

    async with services.unit_of_work(SYSTEM) as ctx:
        pairs = set((await ctx.session.execute(select(ChatIdentity.platform, ChatIdentity.external_id))).all())
    assert {("console", "wangfang"), ("slack", "U999")} <= pairs
    assert ("dingtalk", "0123456789") not in pairs


async def test_an_identity_given_up_earlier_in_the_file_may_be_taken_later(services):
    await load_text(services, MASTER.read_text(encoding="utf-8"))
    report = await load_text(
        services,
        "users:\n  - {name: 李雷, roles: [sales], identities: {console: lilei2}}\n"
        "  - {name: 韩梅梅, roles: [sales], identities: {console: lilei}}\n",
    )
    assert report.counts["users"] == {"created": 1, "updated": 1, "unchanged": 0}


async def test_a_kit_made_plain_loses_its_components(services):
    from core.catalog.models import KitComponent

    await load_text(services, MASTER.read_text(encoding="utf-8"))
    await load_text(services, "products:\n  - {sku: GIFT-01, name: 茶礼盒, price: '300'}\n")
    async with services.unit_of_work(SYSTEM) as ctx:
        assert await ctx.session.scalar(select(func.count()).select_from(KitComponent)) == 0


async def test_a_kit_component_cannot_become_a_kit(services):
    await load_text(services, MASTER.read_text(encoding="utf-8"))
    with pytest.raises(MasterDataError, match=r"products row 1 \(CUP-01\): kit: CUP-01 is a component of kit GIFT-01"):
        await load_text(services, "products:\n  - {sku: CUP-01, name: 青瓷杯, kit: {TEA-001: 1}}\n")


async def test_a_coupon_code_held_by_another_promotion_is_refused(services):
    await load_text(services, MASTER.read_text(encoding="utf-8"))
    with pytest.raises(
        MasterDataError, match=r"promotions row 1 \(other\): code: SPRING10 is already used by SPRING10"
    ):
        await load_text(services, "promotions:\n  - {name: other, code: SPRING10, kind: coupon, percent_off: 5}\n")


async def test_workflows_are_reported_not_counted_as_unchanged(services):
    async with services.unit_of_work(SYSTEM) as ctx:
        report = await load_file(ctx, MASTER)
    assert "workflows" not in report.counts
    assert report.summary().endswith("workflows: 2 read")
