package bank;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;

/**
 * A bank account with a running balance and its history.
 */
public class Account {
    private final String owner;
    private BigDecimal balance = BigDecimal.ZERO;
    private final List<BigDecimal> history = new ArrayList<>();

    public Account(String owner) {
        this.owner = owner;
    }

    public void deposit(BigDecimal amount) {
        if (amount.signum() <= 0) {
            throw new IllegalArgumentException("deposit must be positive");
        }
        balance = balance.add(amount);
        history.add(amount);
    }

    public boolean withdraw(BigDecimal amount) {
        if (amount.compareTo(balance) > 0) {
            return false;
        }
        balance = balance.subtract(amount);
        history.add(amount.negate());
        return true;
    }

    public BigDecimal getBalance() {
        return balance;
    }

    public static Account fromCsv(String line) {
        String[] parts = line.split(",");
        Account account = new Account(parts[0].trim());
        for (int i = 1; i < parts.length; i++) {
            account.deposit(new BigDecimal(parts[i].trim()));
        }
        return account;
    }
}
