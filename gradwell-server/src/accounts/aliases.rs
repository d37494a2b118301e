//! A Postfix-style virtual alias file: `address  target, target…` lines, `#` comments,
//! `@domain` as a catch-all. Targets are local user names or addresses in a local domain.

use std::{
    collections::HashMap,
    path::Path,
    sync::{Arc, RwLock},
};

use anyhow::Context;

/// Longest alias chain followed (Postfix's `virtual_alias_recursion_limit` is 1000; loops
/// and deep chains end here instead).
const MAX_DEPTH: usize = 8;

type Table = HashMap<String, Vec<String>>;

/// The alias table, keys in lower case. Clones share one table, which
/// [`Aliases::replace_with`] swaps whole (a reload); each expansion sees one version.
#[derive(Debug, Default, Clone)]
pub struct Aliases {
    map: Arc<RwLock<Arc<Table>>>,
}

impl Aliases {
    /// Reads the file.
    pub fn load(path: &Path) -> anyhow::Result<Aliases> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading aliases file {}", path.display()))?;
        Aliases::parse(&text).with_context(|| format!("aliases file {}", path.display()))
    }

    /// Parses the text of an alias file.
    pub fn parse(text: &str) -> anyhow::Result<Aliases> {
        let mut map = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let Some((key, targets)) = line.split_once(char::is_whitespace) else {
                anyhow::bail!("line {}: `address target` expected", n + 1);
            };
            let targets: Vec<String> = targets
                .split([',', ' ', '\t'])
                .filter(|t| !t.is_empty())
                .map(str::to_ascii_lowercase)
                .collect();
            if targets.is_empty() {
                anyhow::bail!("line {}: no target", n + 1);
            }
            map.insert(key.to_ascii_lowercase(), targets);
        }
        Ok(Aliases {
            map: Arc::new(RwLock::new(Arc::new(map))),
        })
    }

    fn table(&self) -> Arc<Table> {
        Arc::clone(&self.map.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Serves `other`'s entries from now on (in this value and every clone of it).
    pub fn replace_with(&self, other: &Aliases) {
        let table = other.table();
        *self.map.write().unwrap_or_else(|e| e.into_inner()) = table;
    }

    /// Expands `address` (lower case `local@domain`) into final addresses: those with no
    /// alias entry. An address without an entry expands to itself.
    pub fn expand(&self, address: &str) -> Vec<String> {
        let mut out = Vec::new();
        expand_into(&self.table(), address, 0, &mut out);
        out.sort();
        out.dedup();
        out
    }
}

fn expand_into(map: &Table, address: &str, depth: usize, out: &mut Vec<String>) {
    let domain = address.rsplit_once('@').map(|(_, d)| d);
    let targets = map
        .get(address)
        .or_else(|| domain.and_then(|d| map.get(&format!("@{d}"))));
    match targets {
        Some(targets) if depth < MAX_DEPTH => {
            for t in targets {
                // An entry that names itself (`a@x a@x, b@x`) keeps the mailbox.
                if t == address {
                    out.push(t.clone());
                } else {
                    expand_into(map, t, depth + 1, out);
                }
            }
        }
        _ => out.push(address.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_chains_lists_and_catch_all() {
        let a = Aliases::parse(
            "# virtual\nsales@example.test  alice, bob@example.test\ninfo@example.test sales@example.test\n@other.test carol\nloop@x loop@x, alice\n",
        )
        .unwrap();
        assert_eq!(a.expand("info@example.test"), ["alice", "bob@example.test"]);
        assert_eq!(a.expand("anything@other.test"), ["carol"]);
        assert_eq!(a.expand("alice@example.test"), ["alice@example.test"]);
        assert_eq!(a.expand("loop@x"), ["alice", "loop@x"]);
    }

    #[test]
    fn replacing_the_table_reaches_every_clone() {
        let a = Aliases::parse("x@d y@d\n").unwrap();
        let shared = a.clone();
        a.replace_with(&Aliases::parse("x@d z@d\n").unwrap());
        assert_eq!(shared.expand("x@d"), ["z@d"]);
    }

    #[test]
    fn cycles_end() {
        let a = Aliases::parse("a@x b@x\nb@x a@x\n").unwrap();
        assert_eq!(a.expand("a@x").len(), 1);
    }

    #[test]
    fn malformed_line_is_reported() {
        assert!(Aliases::parse("lonely\n").is_err());
    }
}
