//! Direct delivery by MX lookup (RFC 5321 §5.1) with hickory-resolver, for a relay without
//! a smart host: the domain's MX hosts by preference, the domain itself when it has no MX
//! (the implicit MX), and a permanent failure for a null MX (RFC 7505) or a domain that
//! does not exist.

use std::net::IpAddr;

use hickory_resolver::{
    TokioResolver,
    config::{NameServerConfig, ResolverConfig},
    net::{DnsError, NetError, runtime::TokioRuntimeProvider},
    proto::{
        op::ResponseCode,
        rr::{Name, RData},
    },
};

use super::{RelayConfig, client::Outcome};

/// One host to try: where to connect and the name its certificate must carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// The name checked in its certificate (the smart host or MX host name).
    pub tls_name: String,
}

/// MX resolution for the relay.
#[derive(Clone)]
pub struct MxResolver {
    resolver: TokioResolver,
    port: u16,
}

impl std::fmt::Debug for MxResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MxResolver")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl MxResolver {
    /// A resolver using `relay.dns_servers`, or the system's (`/etc/resolv.conf`).
    pub fn new(relay: &RelayConfig) -> anyhow::Result<MxResolver> {
        let provider = TokioRuntimeProvider::default();
        let builder = if relay.dns_servers.is_empty() {
            TokioResolver::builder(provider)?
        } else {
            let servers = relay
                .dns_servers
                .iter()
                .map(|s| {
                    let mut server = NameServerConfig::udp_and_tcp(s.ip());
                    for c in &mut server.connections {
                        c.port = s.port();
                    }
                    server
                })
                .collect();
            TokioResolver::builder_with_config(
                ResolverConfig::from_parts(None, Vec::new(), servers),
                provider,
            )
        };
        Ok(MxResolver {
            resolver: builder.build()?,
            port: relay.mx_port,
        })
    }

    /// The hosts for `domain` in the order to try them, or the outcome for every
    /// recipient in it when there is none.
    pub async fn targets(&self, domain: &str) -> Result<Vec<Target>, Outcome> {
        let fqdn = format!("{}.", domain.trim_end_matches('.'));
        let names = match self.resolver.mx_lookup(fqdn.as_str()).await {
            Ok(lookup) => {
                let mut mx: Vec<(u16, Name)> = lookup
                    .answers()
                    .iter()
                    .filter_map(|r| match &r.data {
                        RData::MX(mx) => Some((mx.preference, mx.exchange.clone())),
                        _ => None,
                    })
                    .collect();
                // RFC 7505 §3: a single MX with the root as exchange: no mail accepted.
                if mx.len() == 1 && mx[0].1.is_root() {
                    return Err(Outcome::Failed(format!(
                        "556 5.1.10 {domain} does not accept mail (null MX)"
                    )));
                }
                mx.sort_by_key(|(preference, _)| *preference);
                mx.into_iter()
                    .filter(|(_, n)| !n.is_root())
                    .map(|(_, n)| n.to_ascii())
                    .collect()
            }
            // RFC 5321 §5.1: no MX records: the domain itself is the implicit MX.
            Err(e) if no_records(&e) == Some(ResponseCode::NoError) => vec![fqdn],
            Err(e) if no_records(&e) == Some(ResponseCode::NXDomain) => {
                return Err(Outcome::Failed(format!(
                    "550 5.1.2 {domain}: no such domain"
                )));
            }
            Err(e) => {
                return Err(Outcome::Deferred(format!(
                    "4.4.3 MX lookup for {domain} failed: {e}"
                )));
            }
        };
        let mut targets = Vec::new();
        for name in names {
            match self.resolver.lookup_ip(name.as_str()).await {
                Ok(ips) => targets.extend(ips.iter().map(|ip: IpAddr| Target {
                    host: ip.to_string(),
                    port: self.port,
                    tls_name: name.trim_end_matches('.').to_owned(),
                })),
                Err(e) => tracing::info!(host = %name, error = %e, "MX host has no address"),
            }
        }
        if targets.is_empty() {
            return Err(Outcome::Deferred(format!(
                "4.4.4 no address for any mail host of {domain}"
            )));
        }
        Ok(targets)
    }
}

/// The response code of a "no records" answer.
fn no_records(e: &NetError) -> Option<ResponseCode> {
    match e {
        NetError::Dns(DnsError::NoRecordsFound(n)) => Some(n.response_code),
        _ => None,
    }
}
