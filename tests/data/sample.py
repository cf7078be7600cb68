"""Inventory bookkeeping used by the sample tests."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

MAX_ITEMS = 1000
GREETING = "こんにちは 👋"


@dataclass
class Item:
    sku: str
    quantity: int = 0
    tags: list[str] = field(default_factory=list)


class Inventory:
    """A collection of items keyed by SKU."""

    default_location = "warehouse"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.items: dict[str, Item] = {}

    def add(self, sku: str, quantity: int = 1) -> Item:
        item = self.items.setdefault(sku, Item(sku))
        item.quantity += quantity
        if len(self.items) > MAX_ITEMS:
            raise OverflowError("inventory is full")
        return item

    @property
    def total(self) -> int:
        return sum(item.quantity for item in self.items.values())

    def remove(self, sku: str) -> None:
        # 删除 an item; a missing SKU is not an error
        self.items.pop(sku, None)

    def save(self) -> None:
        data = {sku: item.quantity for sku, item in self.items.items()}
        self.path.write_text(json.dumps(data, ensure_ascii=False))


def load(path: Path) -> Inventory:
    inventory = Inventory(path)
    for sku, quantity in json.loads(path.read_text()).items():
        inventory.add(sku, quantity)
    return inventory


def summarize(inventory: Inventory) -> str:
    lines = [f"{sku}: {item.quantity}" for sku, item in sorted(inventory.items.items())]
    return "\n".join([GREETING, *lines])


async def refresh(inventory: Inventory, *, force: bool = False) -> int:
    """Reload the inventory from disk and return the new total."""
    if force or not inventory.items:
        fresh = load(inventory.path)
        inventory.items = fresh.items
    return inventory.total
