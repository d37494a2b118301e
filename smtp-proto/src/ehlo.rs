//! The EHLO reply (RFC 5321 §4.1.1.1): the server builds the keyword list, the client parses
//! it with its parameters.
//!
//! ```text
//! ehlo-ok-rsp = ( "250" SP Domain [ SP ehlo-greet ] CRLF )
//!             / ( "250-" Domain [ SP ehlo-greet ] CRLF
//!                 *( "250-" ehlo-line CRLF ) "250" SP ehlo-line CRLF )
//! ehlo-line   = ehlo-keyword *( SP ehlo-param )
//! ehlo-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
//! ehlo-param  = 1*(%d33-126)
//! ```

use std::borrow::Cow;

use crate::reply::{Reply, ReplyCode, ReplyError};

/// One service extension line: a keyword and its parameters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EhloKeyword<'a> {
    keyword: Cow<'a, str>,
    params: Vec<Cow<'a, str>>,
}

impl<'a> EhloKeyword<'a> {
    /// Validates the keyword and parameters against the grammar above.
    pub fn new<P: Into<Cow<'a, str>>>(
        keyword: impl Into<Cow<'a, str>>,
        params: impl IntoIterator<Item = P>,
    ) -> Result<Self, ReplyError> {
        let keyword = keyword.into();
        let params: Vec<Cow<'a, str>> = params.into_iter().map(Into::into).collect();
        let keyword_ok = keyword
            .as_bytes()
            .first()
            .is_some_and(u8::is_ascii_alphanumeric)
            && keyword
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        let params_ok = params
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_graphic()));
        if keyword_ok && params_ok {
            Ok(EhloKeyword { keyword, params })
        } else {
            Err(ReplyError::Malformed("ehlo-line"))
        }
    }

    /// The keyword as sent (compare case-insensitively).
    pub fn keyword(&self) -> &str {
        &self.keyword
    }

    /// The parameters.
    pub fn params(&self) -> &[Cow<'a, str>] {
        &self.params
    }

    /// Copies borrowed text so the value outlives the input buffer.
    pub fn into_owned(self) -> EhloKeyword<'static> {
        EhloKeyword {
            keyword: Cow::Owned(self.keyword.into_owned()),
            params: self
                .params
                .into_iter()
                .map(|p| Cow::Owned(p.into_owned()))
                .collect(),
        }
    }
}

/// A positive EHLO (or LHLO) reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EhloResponse<'a> {
    domain: Cow<'a, str>,
    greeting: Option<Cow<'a, str>>,
    keywords: Vec<EhloKeyword<'a>>,
}

impl<'a> EhloResponse<'a> {
    /// Builds the reply a server sends. `domain` is its host name; `greeting` optional text.
    pub fn new(
        domain: impl Into<Cow<'a, str>>,
        greeting: Option<Cow<'a, str>>,
        keywords: Vec<EhloKeyword<'a>>,
    ) -> Result<Self, ReplyError> {
        let domain = domain.into();
        let printable = |s: &str| !s.contains(['\r', '\n']);
        if domain.is_empty()
            || !domain.bytes().all(|b| b.is_ascii_graphic() || b >= 0x80)
            || !greeting
                .as_deref()
                .is_none_or(|g| !g.is_empty() && printable(g))
        {
            return Err(ReplyError::Malformed("EHLO domain or greeting"));
        }
        Ok(EhloResponse {
            domain,
            greeting,
            keywords,
        })
    }

    /// `250 localhost` with no keywords: what a server falls back to.
    pub(crate) fn fallback() -> EhloResponse<'static> {
        EhloResponse {
            domain: Cow::Borrowed("localhost"),
            greeting: None,
            keywords: Vec::new(),
        }
    }

    /// The server's domain from the first line.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// The greeting text after the domain, if any.
    pub fn greeting(&self) -> Option<&str> {
        self.greeting.as_deref()
    }

    /// The extension lines in order.
    pub fn keywords(&self) -> &[EhloKeyword<'a>] {
        &self.keywords
    }

    /// The extension named `keyword` (case-insensitive), if advertised.
    pub fn get(&self, keyword: &str) -> Option<&EhloKeyword<'a>> {
        self.keywords
            .iter()
            .find(|k| k.keyword.eq_ignore_ascii_case(keyword))
    }

    /// Whether `keyword` is advertised.
    pub fn has(&self, keyword: &str) -> bool {
        self.get(keyword).is_some()
    }

    /// The `SIZE` limit (RFC 1870), if advertised with a non-zero number.
    pub fn size(&self) -> Option<u64> {
        self.get("SIZE")?
            .params
            .first()?
            .parse()
            .ok()
            .filter(|&n| n > 0)
    }

    /// The SASL mechanisms of the `AUTH` line (RFC 4954).
    pub fn auth_mechanisms(&self) -> impl Iterator<Item = &str> {
        self.get("AUTH")
            .into_iter()
            .flat_map(|k| k.params.iter().map(|p| p.as_ref()))
    }

    /// The reply to send.
    pub fn to_reply(&self) -> Reply<'a> {
        let first = match &self.greeting {
            Some(g) => Cow::Owned(format!("{} {g}", self.domain)),
            None => self.domain.clone(),
        };
        let rest = self.keywords.iter().map(|k| {
            let mut line = k.keyword.to_string();
            for p in &k.params {
                line.push(' ');
                line.push_str(p);
            }
            Cow::Owned(line)
        });
        let lines: Vec<Cow<'a, str>> = std::iter::once(first).chain(rest).collect();
        // The domain and every keyword were validated on construction, none contains CR or
        // LF, and the first line starts with a domain, which never reads as a status; still
        // fall back to the plain domain rather than panic.
        Reply::new(ReplyCode::OK, None, lines)
            .unwrap_or_else(|_| Reply::fixed(250, None, "localhost"))
    }

    /// Reads a 250 reply to EHLO. Lines that do not follow the ehlo-line grammar are
    /// skipped: a client must work with servers that send odd lines such as `AUTH=LOGIN`.
    pub fn from_reply(reply: &Reply<'a>) -> Result<Self, ReplyError> {
        if reply.code() != ReplyCode::OK {
            return Err(ReplyError::Malformed("EHLO reply is not 250"));
        }
        let (first, rest) = reply
            .lines()
            .split_first()
            .ok_or(ReplyError::Malformed("no text line"))?;
        let (domain, greeting) = match first.split_once(' ') {
            Some((d, g)) => (d, Some(g)),
            None => (first.as_ref(), None),
        };
        let keywords = rest
            .iter()
            .filter_map(|line| {
                let mut words = line.split(' ').filter(|w| !w.is_empty());
                let keyword = words.next()?;
                EhloKeyword::new(
                    keyword.to_owned(),
                    words.map(str::to_owned).collect::<Vec<_>>(),
                )
                .ok()
            })
            .collect();
        let greeting = greeting
            .filter(|g| !g.is_empty())
            .map(|g| Cow::Owned(g.to_owned()));
        EhloResponse::new(domain.to_owned(), greeting, keywords)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::decode_reply;

    #[test]
    fn parse_known_ehlo() {
        let input = b"250-mx.example.org Hello client\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n\
250-AUTH PLAIN LOGIN\r\n250-AUTH=LOGIN\r\n250-8BITMIME\r\n250 CHUNKING\r\n";
        let (_, reply) = decode_reply(input, 1000, 100).expect("valid reply");
        let ehlo = EhloResponse::from_reply(&reply).expect("valid EHLO");
        assert_eq!(ehlo.domain(), "mx.example.org");
        assert_eq!(ehlo.greeting(), Some("Hello client"));
        assert!(ehlo.has("pipelining") && ehlo.has("CHUNKING") && !ehlo.has("STARTTLS"));
        assert_eq!(ehlo.size(), Some(10_240_000));
        assert_eq!(
            ehlo.auth_mechanisms().collect::<Vec<_>>(),
            ["PLAIN", "LOGIN"]
        );
        assert_eq!(ehlo.keywords().len(), 5, "AUTH=LOGIN is skipped");
    }

    #[test]
    fn build_and_read_back() {
        let ehlo = EhloResponse::new(
            "mx.test",
            None,
            vec![
                EhloKeyword::new("PIPELINING", Vec::<&str>::new()).expect("valid"),
                EhloKeyword::new("SIZE", ["1000"]).expect("valid"),
            ],
        )
        .expect("valid");
        let mut out = Vec::new();
        ehlo.to_reply().encode(&mut out);
        assert_eq!(out, b"250-mx.test\r\n250-PIPELINING\r\n250 SIZE 1000\r\n");
        let (_, reply) = decode_reply(&out, 1000, 100).expect("valid reply");
        assert_eq!(EhloResponse::from_reply(&reply), Ok(ehlo));
        assert!(EhloKeyword::new("-X", Vec::<&str>::new()).is_err());
        assert!(EhloKeyword::new("X", [""]).is_err());
    }
}
