//! Sockets: TLS set-up, the PROXY protocol header, the listeners and the one driver type
//! every session reads and writes through.

pub mod bans;
pub mod conn;
mod deflate;
pub mod limits;
pub mod listener;
pub mod network;
pub mod proxy;
pub mod tls;
