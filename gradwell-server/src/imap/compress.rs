//! COMPRESS (RFC 4978): the session decides; the driver then deflates the connection
//! ([`crate::net::conn::Next::Deflate`]).

use super::{Reply, Session};
use imap_proto::types::response::SimpleCode;

impl Session {
    /// Answers `COMPRESS algorithm`; an OK means the driver must start DEFLATE right after
    /// sending it.
    pub(super) fn compress(&mut self, algorithm: &str) -> Reply {
        if let Err(reply) = self.user() {
            return reply;
        }
        if self.compressed {
            // RFC 4978 §3: a server that knows the mechanism is active already "MUST send
            // COMPRESSIONACTIVE as resp-text-code".
            return Reply::no("DEFLATE is already active").simple(SimpleCode::CompressionActive);
        }
        if !algorithm.eq_ignore_ascii_case("DEFLATE") {
            return Reply::bad("only DEFLATE is supported");
        }
        if self.proto.buffered() > 0 {
            // RFC 4978 §3: "The client MUST NOT send any further commands until it has seen
            // the result of COMPRESS." Input behind it could be either plain or deflated.
            return Reply::bad("nothing may follow COMPRESS before its answer");
        }
        self.compressed = true;
        Reply::ok("DEFLATE active")
    }
}
