//! The PROXY protocol header (HAProxy, versions 1 and 2) on listeners that enable it: the
//! real client address arrives before the first protocol byte.
//!
//! The header is read with exact-size reads, so no byte of the session that follows is
//! consumed here (an implicit-TLS ClientHello may follow at once).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use tokio::io::{AsyncRead, AsyncReadExt};

/// The v2 signature (spec §2.2).
const V2_SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";
/// Longest v1 line, CRLF included (spec §2.1, the worst case: "... = 107 chars").
const V1_MAX: usize = 107;
/// Largest v2 address block accepted (addresses plus TLVs).
const V2_MAX: usize = 1024;

/// Why a header was refused; the connection is closed.
#[derive(Debug, thiserror::Error)]
pub enum ProxyError {
    /// Not a PROXY header, or a malformed one.
    #[error("bad PROXY protocol header: {0}")]
    Malformed(&'static str),
    /// The connection failed while reading.
    #[error("reading PROXY header: {0}")]
    Io(#[from] std::io::Error),
}

/// Reads a v1 or v2 header. `Ok(None)` is a valid header that carries no address (`UNKNOWN`,
/// `LOCAL`): the connection's own address stands.
pub async fn read_header<S: AsyncRead + Unpin>(
    stream: &mut S,
) -> Result<Option<SocketAddr>, ProxyError> {
    let mut start = [0u8; 12];
    stream.read_exact(&mut start[..5]).await?;
    if &start[..5] == b"PROXY" {
        let mut line = b"PROXY".to_vec();
        while !line.ends_with(b"\r\n") {
            if line.len() >= V1_MAX {
                return Err(ProxyError::Malformed("v1 line too long"));
            }
            line.push(stream.read_u8().await?);
        }
        return parse_v1(&line);
    }
    stream.read_exact(&mut start[5..]).await?;
    if start != V2_SIGNATURE {
        return Err(ProxyError::Malformed("no PROXY signature"));
    }
    let mut head = [0u8; 4];
    stream.read_exact(&mut head).await?;
    let len = usize::from(u16::from_be_bytes([head[2], head[3]]));
    if len > V2_MAX {
        return Err(ProxyError::Malformed("v2 address block too long"));
    }
    let mut body = vec![0u8; len];
    stream.read_exact(&mut body).await?;
    parse_v2(head[0], head[1], &body)
}

/// `PROXY TCP4|TCP6|UNKNOWN src dst sport dport\r\n`.
pub fn parse_v1(line: &[u8]) -> Result<Option<SocketAddr>, ProxyError> {
    let bad = || ProxyError::Malformed("v1 syntax");
    let text = std::str::from_utf8(line).map_err(|_| bad())?;
    let text = text.strip_suffix("\r\n").ok_or_else(bad)?;
    let fields: Vec<&str> = text.split(' ').collect();
    match fields.as_slice() {
        ["PROXY", "UNKNOWN", ..] => Ok(None),
        ["PROXY", proto @ ("TCP4" | "TCP6"), src, _dst, sport, _dport] => {
            let ip: IpAddr = src.parse().map_err(|_| bad())?;
            if ip.is_ipv4() != (*proto == "TCP4") {
                return Err(bad());
            }
            let port: u16 = sport.parse().map_err(|_| bad())?;
            Ok(Some(SocketAddr::new(ip, port)))
        }
        _ => Err(bad()),
    }
}

/// The v2 block after the signature: version/command, family/protocol and the addresses.
pub fn parse_v2(ver_cmd: u8, family: u8, body: &[u8]) -> Result<Option<SocketAddr>, ProxyError> {
    if ver_cmd >> 4 != 2 {
        return Err(ProxyError::Malformed("v2 version"));
    }
    match ver_cmd & 0x0f {
        0 => return Ok(None), // LOCAL: a health check from the proxy itself.
        1 => {}
        _ => return Err(ProxyError::Malformed("v2 command")),
    }
    let short = || ProxyError::Malformed("v2 address block too short");
    match family >> 4 {
        1 => {
            let a: [u8; 12] = body
                .get(..12)
                .and_then(|s| s.try_into().ok())
                .ok_or_else(short)?;
            let ip = Ipv4Addr::new(a[0], a[1], a[2], a[3]);
            Ok(Some(SocketAddr::new(
                ip.into(),
                u16::from_be_bytes([a[8], a[9]]),
            )))
        }
        2 => {
            let a: [u8; 36] = body
                .get(..36)
                .and_then(|s| s.try_into().ok())
                .ok_or_else(short)?;
            let mut ip = [0u8; 16];
            ip.copy_from_slice(&a[..16]);
            let port = u16::from_be_bytes([a[32], a[33]]);
            Ok(Some(SocketAddr::new(Ipv6Addr::from(ip).into(), port)))
        }
        // AF_UNSPEC or AF_UNIX: no usable address; keep the connection's own.
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_known_answers() {
        let a = parse_v1(b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n").unwrap();
        assert_eq!(a, Some("192.0.2.1:56324".parse().unwrap()));
        let a = parse_v1(b"PROXY TCP6 2001:db8::1 2001:db8::2 1 2\r\n").unwrap();
        assert_eq!(a, Some("[2001:db8::1]:1".parse().unwrap()));
        assert_eq!(parse_v1(b"PROXY UNKNOWN\r\n").unwrap(), None);
        assert!(parse_v1(b"PROXY TCP4 2001:db8::1 1.2.3.4 1 2\r\n").is_err());
        assert!(parse_v1(b"PROXY TCP4 1.2.3.4 1.2.3.4 99999 2\r\n").is_err());
        assert!(parse_v1(b"PROXY TCP4 1.2.3.4\r\n").is_err());
    }

    #[test]
    fn v2_known_answers() {
        let body = [192, 0, 2, 1, 198, 51, 100, 2, 0x1f, 0x90, 0, 25];
        assert_eq!(
            parse_v2(0x21, 0x11, &body).unwrap(),
            Some("192.0.2.1:8080".parse().unwrap())
        );
        assert_eq!(parse_v2(0x20, 0x00, &[]).unwrap(), None);
        assert!(parse_v2(0x21, 0x11, &body[..5]).is_err());
        assert!(parse_v2(0x11, 0x11, &body).is_err());
    }

    #[tokio::test]
    async fn reads_exactly_the_header() {
        let mut wire: Vec<u8> = V2_SIGNATURE.to_vec();
        wire.extend_from_slice(&[0x21, 0x11, 0, 12, 10, 0, 0, 1, 10, 0, 0, 2, 0, 80, 0, 25]);
        wire.extend_from_slice(b"EHLO x\r\n");
        let mut r = &wire[..];
        let a = read_header(&mut r).await.unwrap();
        assert_eq!(a, Some("10.0.0.1:80".parse().unwrap()));
        assert_eq!(r, b"EHLO x\r\n");
        let mut r = &b"PROXY TCP4 10.1.1.1 10.2.2.2 5 6\r\nUSER a\r\n"[..];
        assert_eq!(
            read_header(&mut r).await.unwrap(),
            Some("10.1.1.1:5".parse().unwrap())
        );
        assert_eq!(r, b"USER a\r\n");
        assert!(
            read_header(&mut &b"HELLO there, not proxy"[..])
                .await
                .is_err()
        );
    }
}
