require "json"
require_relative "store"

MAX_SIZE = 100

# A shopping cart holding line items.
class Cart
  attr_reader :items

  def initialize(owner)
    @owner = owner
    @items = []
  end

  def add(name, price, qty = 1)
    raise ArgumentError, "cart is full" if @items.size >= MAX_SIZE

    @items << { name: name, price: price, qty: qty }
    self
  end

  # Total price of everything in the cart.
  def total
    @items.sum { |i| i[:price] * i[:qty] }
  end

  def self.from_json(json)
    data = JSON.parse(json)
    cart = new(data["owner"])
    data["items"].each { |i| cart.add(i["name"], i["price"], i["qty"]) }
    cart
  end

  def to_s
    "#{@owner} 🛒 #{@items.size} items"
  end
end

module Pricing
  def self.discount(total, percent)
    total - (total * percent / 100.0)
  end

  def tax(total)
    total * 0.2
  end
end

def greet(name)
  puts "こんにちは, #{name}"
end
