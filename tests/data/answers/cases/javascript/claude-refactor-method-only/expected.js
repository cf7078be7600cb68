import { formatMoney } from "./money.js";

const FREE_SHIPPING_FROM = 50;

/**
 * A shopping cart held in memory.
 */
export class Cart {
  constructor(owner) {
    this.owner = owner;
    this.items = [];
  }

  add(product, quantity = 1) {
    const found = this.items.find((item) => item.product.id === product.id);
    if (found) {
      found.quantity += quantity;
    } else {
      this.items.push({ product, quantity });
    }
  }

  total() {
    return this.items.reduce(
      (sum, { product, quantity }) => sum + product.price * quantity,
      0,
    );
  }

  shipping() {
    if (this.total() >= FREE_SHIPPING_FROM) {
      return 0;
    }
    return 4.99;
  }
}

export function summary(cart) {
  const lines = cart.items.map((item) => `${item.quantity} x ${item.product.name}`);
  lines.push(`Total: ${formatMoney(cart.total() + cart.shipping())}`);
  return lines.join("\n");
}

export const applyCoupon = (cart, coupon) => {
  if (coupon.expires < Date.now()) {
    return false;
  }
  cart.discount = coupon.percent;
  return true;
};
