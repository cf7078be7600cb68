use std::collections::HashMap;
use std::fmt;

const DEFAULT_CAPACITY: usize = 16;

/// A bank account with a running balance.
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    owner: String,
    balance: i64,
}

#[derive(Debug)]
pub enum TxError {
    Insufficient { needed: i64 },
    Frozen,
}

pub trait Ledger {
    fn record(&mut self, amount: i64) -> Result<(), TxError>;
    fn total(&self) -> i64;
}

impl Account {
    pub fn new(owner: &str) -> Self {
        Account { owner: owner.to_string(), balance: 0 }
    }

    pub fn deposit(&mut self, amount: i64) {
        self.balance += amount;
    }

    /// Withdraws `amount`, failing when the balance is too low.
    pub fn withdraw(&mut self, amount: i64) -> Result<i64, TxError> {
        if amount > self.balance {
            return Err(TxError::Insufficient { needed: amount - self.balance });
        }
        self.balance -= amount;
        Ok(self.balance)
    }
}

impl fmt::Display for Account {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} 💰 {}", self.owner, self.balance)
    }
}

pub fn index_by_owner(accounts: Vec<Account>) -> HashMap<String, Account> {
    let mut map = HashMap::with_capacity(DEFAULT_CAPACITY);
    for account in accounts {
        map.insert(account.owner.clone(), account);
    }
    map
}

fn main() {
    let mut a = Account::new("张三");
    a.deposit(100);
    println!("{}", a);
}
