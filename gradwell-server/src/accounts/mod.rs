//! Accounts: the users file, password schemes, aliases and the failed-login penalty.

pub mod aliases;
pub mod password;
pub mod penalty;
pub mod sasl;
pub mod userdb;
