require "bigdecimal"
require "csv"

module Books
  # A ledger of dated entries.
  class Ledger
    attr_reader :entries

    def initialize(name)
      @name = name
      @entries = []
    end

    def record(date, amount, memo = nil)
      raise ArgumentError, "amount must be non-zero" if amount.zero?
      @entries << { date: date, amount: BigDecimal(amount.to_s), memo: memo }
      self
    end

    def balance_on(date)
      @entries.sum(BigDecimal("0")) do |entry|
        entry[:date] <= date ? entry[:amount] : 0
      end
    end
  end

  def self.load(path)
    ledger = Ledger.new(File.basename(path, ".csv"))
    CSV.foreach(path) do |row|
      ledger.record(Date.parse(row[0]), row[1], row[2])
    end
    ledger
  end
end
