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

    # Records an entry in the ledger.
    #
    # @param date [Date] the date of the entry
    # @param amount [Numeric, String] the amount; must not be zero
    # @param memo [String, nil] an optional note
    # @return [Ledger] self, so calls can be chained
    # @raise [ArgumentError] if the amount is zero
    def record(date, amount, memo = nil)
      raise ArgumentError, "amount must be non-zero" if amount.zero?
      @entries << { date: date, amount: BigDecimal(amount.to_s), memo: memo }
      self
    end

    def balance_on(date)
      total = BigDecimal("0")
      @entries.each do |entry|
        if entry[:date] <= date
          total = total + entry[:amount]
        end
      end
      total
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
