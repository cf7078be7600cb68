"""Order bookkeeping for the shop's back office."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

TAX_RATE = Decimal("0.2")


@dataclass
class Line:
    sku: str
    quantity: int
    unit_price: Decimal


class Order:
    """An order: its lines and who placed it."""

    def __init__(self, customer: str) -> None:
        self.customer = customer
        self.lines: list[Line] = []

    def add(self, sku: str, quantity: int, unit_price: Decimal) -> None:
        for line in self.lines:
            if line.sku == sku:
                line.quantity += quantity
                return
        self.lines.append(Line(sku, quantity, unit_price))

    def subtotal(self) -> Decimal:
        total = Decimal(0)
        for line in self.lines:
            total = total + line.unit_price * line.quantity
        return total

    def total(self) -> Decimal:
        return (self.subtotal() * (1 + TAX_RATE)).quantize(Decimal("0.01"))


def parse_line(row: list[str]) -> Line:
    sku = row[0].strip()
    quantity = int(row[1])
    if quantity <= 0:
        raise ValueError(f"bad quantity for {sku}: {quantity}")
    unit_price = Decimal(row[2])
    return Line(sku, quantity, unit_price)


def load_orders(path: Path) -> dict[str, Order]:
    orders: dict[str, Order] = {}
    with path.open(newline="") as handle:
        for row in csv.reader(handle):
            if not row or row[0].startswith("#"):
                continue
            customer = row[3]
            if customer not in orders:
                orders[customer] = Order(customer)
            line = parse_line(row)
            orders[customer].add(line.sku, line.quantity, line.unit_price)
    return orders
