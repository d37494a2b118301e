//! Address ranges in CIDR notation (`127.0.0.0/8`, `2001:db8::/32`) for configuration.

use std::{fmt, net::IpAddr};

use serde::{Deserialize, Serialize};

/// An address range; `Deserialize` from its CIDR text, `Serialize` to it (so the printed
/// default configuration shows defaults such as `127.0.0.0/8`).
#[derive(Clone, Copy, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(try_from = "String", into = "String")]
pub struct Network {
    base: IpAddr,
    prefix: u8,
}

impl TryFrom<String> for Network {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        let bad = || format!("{text:?} is not an address range like 127.0.0.0/8");
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text.as_str(), None),
        };
        let base: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if base.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().map_err(|_| bad())?,
            None => max,
        };
        if prefix > max {
            return Err(bad());
        }
        Ok(Network { base, prefix })
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.base, self.prefix)
    }
}

impl fmt::Debug for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl From<Network> for String {
    fn from(network: Network) -> String {
        network.to_string()
    }
}

impl Network {
    /// Whether `ip` is in the range (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        let (a, b, bits) = match (self.base, ip) {
            (IpAddr::V4(n), IpAddr::V4(i)) => (u32::from(n) as u128, u32::from(i) as u128, 32),
            (IpAddr::V6(n), IpAddr::V6(i)) => (u128::from(n), u128::from(i), 128),
            _ => return false,
        };
        let shift = bits - u32::from(self.prefix);
        // A zero-length prefix matches everything of the family (shift by 128 would overflow).
        shift >= bits || a >> shift == b >> shift
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Network {
        Network::try_from(s.to_owned()).unwrap()
    }

    #[test]
    fn ranges() {
        let lo = net("127.0.0.0/8");
        assert!(lo.contains("127.1.2.3".parse().unwrap()));
        assert!(lo.contains("::ffff:127.0.0.1".parse().unwrap()));
        assert!(!lo.contains("128.0.0.1".parse().unwrap()));
        assert!(!lo.contains("::1".parse().unwrap()));
        assert!(net("::1").contains("::1".parse().unwrap()));
        assert!(net("2001:db8::/32").contains("2001:db8:1::5".parse().unwrap()));
        assert!(net("0.0.0.0/0").contains("203.0.113.9".parse().unwrap()));
        for bad in ["127.0.0.0/33", "x/8", "10.0.0.0/-1", ""] {
            assert!(Network::try_from(bad.to_owned()).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_printed_form_reads_back_as_the_same_range() {
        for (text, printed) in [
            ("127.0.0.0/8", "127.0.0.0/8"),
            ("::1", "::1/128"),
            ("10.1.2.3", "10.1.2.3/32"),
        ] {
            assert_eq!(String::from(net(text)), printed);
            assert_eq!(net(printed), net(text));
        }
    }
}
