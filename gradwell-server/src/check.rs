//! `gradwell check-config`: beyond parsing, checks what a server would trip over at start —
//! files that must exist, certificates that must load and match their key, listeners that
//! must not share an address, replica roots that must be directories — and names every
//! problem, not only the first.

use std::{collections::HashMap, net::SocketAddr, path::Path};

use crate::{config::Config, net::tls};

/// Every problem found in `config`'s files and addresses, or `Ok` when there is none.
pub fn check_files(config: &Config) -> anyhow::Result<()> {
    let problems = problems(config);
    if problems.is_empty() {
        Ok(())
    } else {
        anyhow::bail!("{}", problems.join("\n"))
    }
}

/// One message per problem.
pub fn problems(config: &Config) -> Vec<String> {
    let mut out = Vec::new();
    let mut file = |key: &str, path: &Path| {
        if !path.is_file() {
            out.push(format!(
                "key `{key}`: {} is not a readable file",
                path.display()
            ));
        }
    };
    file("users_file", &config.users_file);
    if let Some(a) = &config.aliases_file {
        file("aliases_file", a);
    }
    if let Some(ca) = config.relay.as_ref().and_then(|r| r.ca_file.as_ref()) {
        file("relay.ca_file", ca);
    }
    if let Some(dir) = config.lmtp_socket.as_ref().and_then(|s| s.parent())
        && !dir.as_os_str().is_empty()
        && !dir.is_dir()
    {
        out.push(format!(
            "key `lmtp_socket`: directory {} does not exist",
            dir.display()
        ));
    }
    if let Some(t) = &config.tls
        && let Err(e) = tls::acceptor(&t.cert, &t.key)
    {
        out.push(format!("{e:#}"));
    }
    for (s, set) in config.storage.mirror_sets.iter().enumerate() {
        for root in set {
            if !root.is_dir() {
                out.push(format!(
                    "key `storage.mirror_sets`: set {s} replica root {} is not a directory",
                    root.display()
                ));
            }
        }
    }
    let mut seen: HashMap<SocketAddr, String> = HashMap::new();
    let named = config
        .listeners
        .iter()
        .enumerate()
        .map(|(i, l)| (format!("listener[{i}].address"), l.address))
        .chain(
            config
                .metrics
                .listen
                .map(|a| ("metrics.listen".to_owned(), a)),
        );
    for (key, address) in named {
        let clash = seen.iter().find(|(other, _)| collide(**other, address));
        if let Some((_, first)) = clash {
            out.push(format!("key `{key}`: {address} is also used by `{first}`"));
        }
        seen.insert(address, key);
    }
    out
}

/// Two listening addresses collide on the same port when equal or when either is the
/// wildcard of the same family (port 0 is "any free port" and never collides).
fn collide(a: SocketAddr, b: SocketAddr) -> bool {
    a.port() == b.port()
        && a.port() != 0
        && (a.ip() == b.ip()
            || (a.is_ipv4() == b.is_ipv4() && (a.ip().is_unspecified() || b.ip().is_unspecified())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_and_equal_addresses_collide() {
        let p = |s: &str| s.parse::<SocketAddr>().unwrap();
        assert!(collide(p("127.0.0.1:25"), p("127.0.0.1:25")));
        assert!(collide(p("0.0.0.0:25"), p("127.0.0.1:25")));
        assert!(!collide(p("127.0.0.1:25"), p("127.0.0.2:25")));
        assert!(!collide(p("127.0.0.1:0"), p("127.0.0.1:0")));
        assert!(!collide(p("127.0.0.1:25"), p("127.0.0.1:26")));
    }
}
