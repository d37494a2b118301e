//! Raw DEFLATE on both directions of a connection (IMAP COMPRESS=DEFLATE, RFC 4978).
//!
//! Memory stays bounded whatever the client sends: compressed input waits in a fixed
//! buffer of [`RAW_CAPACITY`] octets, and inflating never produces more than the caller's
//! read buffer holds, so a decompression bomb yields its output one read at a time, under
//! the session's own line and literal limits, like plain input.
//!
//! The compressor's state (about 240 KiB with miniz_oxide: a 32 KiB window, hash chains and
//! a code buffer) exists only while the connection writes more than a little: small writes
//! with no compressor at hand (an IDLE session's `* 4 EXISTS`, a SELECT's answer) go out as
//! DEFLATE stored blocks (RFC 1951 §3.2.4), which need no state, and
//! [`Deflate::release_compressor`] drops the compressor once the connection has been quiet for
//! a while; the next large write makes a fresh one. That is safe because every write ends
//! byte-aligned with nothing pending (a sync flush, or a whole stored block): a fresh
//! compressor just starts without history, and its blocks continue the same DEFLATE stream
//! for the client. The decompressor stays: the client's compressor may refer back to its
//! 32 KiB window.

use std::{
    io,
    time::{Duration, Instant},
};

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// Compressed octets read from the socket and not yet inflated, at most.
const RAW_CAPACITY: usize = 16 * 1024;

/// Output room added per deflate call.
const OUT_STEP: usize = 4 * 1024;

/// Writes up to this size go out as stored blocks when no compressor is alive.
const STORED_MAX: usize = 1024;

/// The compressor, the decompressor and the compressed input between reads.
pub(crate) struct Deflate {
    /// `None` while the connection is quiet; made again on the next write.
    deflater: Option<Compress>,
    /// When the compressor last wrote; `None` when there is no compressor.
    written_at: Option<Instant>,
    inflater: Decompress,
    /// Compressed input; `raw[start..end]` is not inflated yet.
    raw: Box<[u8]>,
    start: usize,
    end: usize,
    /// The client ended its DEFLATE stream; nothing after that is input.
    ended: bool,
}

impl std::fmt::Debug for Deflate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deflate")
            .field("pending", &(self.end - self.start))
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

/// What [`Deflate::inflate`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Inflated {
    /// This many plain octets are in the caller's buffer.
    Data(usize),
    /// More compressed input is needed.
    NeedInput,
    /// The client ended its stream: treat as end of input.
    End,
}

impl Deflate {
    /// Both directions start now, as raw DEFLATE (RFC 1951) without a zlib wrapper: RFC 4978
    /// §4 says of zlib that "The windowBits value must be in the range -8 to -15, or else
    /// deflateInit2() uses the wrong format".
    pub(crate) fn new() -> Self {
        Self {
            deflater: None,
            written_at: None,
            inflater: Decompress::new(false),
            raw: vec![0; RAW_CAPACITY].into_boxed_slice(),
            start: 0,
            end: 0,
            ended: false,
        }
    }

    /// Compresses `data` onto `out` and sync-flushes, so the client can read every
    /// response sent so far without waiting for more.
    pub(crate) fn compress(&mut self, data: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
        if self.deflater.is_none() && data.len() <= STORED_MAX {
            stored_blocks(data, out);
            return Ok(());
        }
        self.written_at = Some(Instant::now());
        let deflater = self
            .deflater
            .get_or_insert_with(|| Compress::new(Compression::default(), false));
        let mut consumed = 0;
        loop {
            out.reserve(OUT_STEP);
            let before = deflater.total_in();
            deflater
                .compress_vec(
                    data.get(consumed..).unwrap_or_default(),
                    out,
                    FlushCompress::Sync,
                )
                .map_err(io::Error::other)?;
            consumed += usize::try_from(deflater.total_in() - before).map_err(io::Error::other)?;
            // The flush is complete once deflate stops with output room to spare.
            if consumed >= data.len() && out.len() < out.capacity() {
                return Ok(());
            }
        }
    }

    /// Drops the compressor's state until the next write (see the module docs); call it when
    /// the connection has been quiet for a while.
    pub(crate) fn release_compressor(&mut self) {
        self.deflater = None;
        self.written_at = None;
    }

    /// Releases the compressor if nothing was written for `after` by `now`; otherwise
    /// returns how much longer the connection must stay quiet (`None`: no compressor left).
    pub(crate) fn release_if_quiet(&mut self, now: Instant, after: Duration) -> Option<Duration> {
        let left = self
            .written_at?
            .checked_add(after)?
            .checked_duration_since(now)
            .filter(|left| !left.is_zero());
        if left.is_none() {
            self.release_compressor();
        }
        left
    }

    /// Where the next socket read goes: the free tail of the raw buffer, after moving
    /// pending input to the front. Empty only when the buffer is full of pending input.
    pub(crate) fn raw_space(&mut self) -> &mut [u8] {
        if self.start > 0 {
            self.raw.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        self.raw.get_mut(self.end..).unwrap_or_default()
    }

    /// Records that `n` octets were read into [`Deflate::raw_space`].
    pub(crate) fn raw_filled(&mut self, n: usize) {
        self.end = (self.end + n).min(self.raw.len());
    }

    /// Inflates pending input into `buf` (never more than it holds).
    pub(crate) fn inflate(&mut self, buf: &mut [u8]) -> io::Result<Inflated> {
        if self.ended {
            return Ok(Inflated::End);
        }
        if buf.is_empty() {
            return Ok(Inflated::NeedInput);
        }
        // Even with no input pending the inflater may hold output that did not fit last time.
        let (in_before, out_before) = (self.inflater.total_in(), self.inflater.total_out());
        let input = self.raw.get(self.start..self.end).unwrap_or_default();
        let status = self
            .inflater
            .decompress(input, buf, FlushDecompress::None)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        let used =
            usize::try_from(self.inflater.total_in() - in_before).map_err(io::Error::other)?;
        let produced =
            usize::try_from(self.inflater.total_out() - out_before).map_err(io::Error::other)?;
        self.start = (self.start + used).min(self.end);
        if status == Status::StreamEnd {
            self.ended = true;
        }
        Ok(match produced {
            0 if self.ended => Inflated::End,
            0 if self.start == 0 && self.end == self.raw.len() => {
                // A full buffer that inflates to nothing can never make progress.
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "DEFLATE input makes no progress",
                ));
            }
            0 => Inflated::NeedInput,
            n => Inflated::Data(n),
        })
    }
}

/// `data` as DEFLATE stored blocks (RFC 1951 §3.2.4): "BFINAL" 0 and "BTYPE" 00 in a byte
/// whose other bits pad to the byte boundary, then "LEN" and "NLEN" (its one's complement),
/// little-endian, then LEN octets. The stream must be byte-aligned before, and is after.
fn stored_blocks(data: &[u8], out: &mut Vec<u8>) {
    for block in data.chunks(usize::from(u16::MAX)) {
        // chunks() of u16::MAX octets at most.
        let len = u16::try_from(block.len()).unwrap_or(u16::MAX);
        out.push(0);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client-side stream: raw deflate with a sync flush, as RFC 4978 clients send.
    fn client_deflate(data: &[u8]) -> Vec<u8> {
        let mut c = Deflate::new();
        let mut out = Vec::new();
        c.compress(data, &mut out).unwrap();
        out
    }

    /// Feeds `wire` in `step`-sized reads and inflates into `chunk`-sized buffers.
    fn inflate_all(wire: &[u8], step: usize, chunk: usize) -> Vec<u8> {
        let mut d = Deflate::new();
        let mut plain = Vec::new();
        let mut buf = vec![0; chunk];
        let mut fed = 0;
        loop {
            match d.inflate(&mut buf).unwrap() {
                Inflated::Data(n) => {
                    assert!(n <= chunk);
                    plain.extend_from_slice(&buf[..n]);
                }
                Inflated::End => return plain,
                Inflated::NeedInput if fed == wire.len() => return plain,
                Inflated::NeedInput => {
                    let space = d.raw_space();
                    let n = step.min(space.len()).min(wire.len() - fed);
                    space[..n].copy_from_slice(&wire[fed..fed + n]);
                    d.raw_filled(n);
                    fed += n;
                }
            }
        }
    }

    #[test]
    fn round_trip_in_small_reads() {
        let text: Vec<u8> = (0..20_000u32)
            .flat_map(|i| format!("a{i} NOOP\r\n").into_bytes())
            .collect();
        let wire = client_deflate(&text);
        assert!(wire.len() < text.len());
        assert_eq!(inflate_all(&wire, 7, 100), text);
        assert_eq!(inflate_all(&wire, RAW_CAPACITY, 16 * 1024), text);
    }

    #[test]
    fn bomb_is_inflated_one_buffer_at_a_time() {
        // 4 MiB of zeros compress to a few KiB; every inflate call stays within its buffer
        // (`inflate_all` checks) and the raw buffer never grows past its capacity.
        let bomb = vec![0u8; 4 << 20];
        let wire = client_deflate(&bomb);
        assert!(wire.len() < 32 * 1024, "{}", wire.len());
        assert_eq!(inflate_all(&wire, RAW_CAPACITY, 512), bomb);
    }

    /// A compressor released between writes (an IDLE session) leaves one valid stream: the
    /// client inflates what the old and the new compressor wrote with one decompressor.
    #[test]
    fn released_compressor_continues_the_stream() {
        let mut server = Deflate::new();
        let mut wire = Vec::new();
        // Small and without a compressor: a stored block, and still none allocated.
        server.compress(b"* OK small\r\n", &mut wire).unwrap();
        assert!(server.deflater.is_none());
        assert_eq!(&wire[..5], &[0, 12, 0, !12, 0xff]);
        let text = b"* 1 EXISTS\r\n* 1 RECENT\r\n".repeat(50);
        server.compress(&text, &mut wire).unwrap();
        assert!(server.deflater.is_some());
        // A live compressor takes small writes too, until the connection has been quiet.
        server.compress(b"+ idling\r\n", &mut wire).unwrap();
        let now = Instant::now();
        let after = Duration::from_secs(1);
        assert!(server.release_if_quiet(now, after).is_some());
        assert!(server.deflater.is_some());
        assert_eq!(server.release_if_quiet(now + after, after), None);
        assert!(server.deflater.is_none());
        server.compress(b"* 2 EXISTS\r\n", &mut wire).unwrap();
        assert!(server.deflater.is_none());
        server.compress(&text, &mut wire).unwrap();
        let expected = [
            &b"* OK small\r\n"[..],
            &text,
            b"+ idling\r\n",
            b"* 2 EXISTS\r\n",
            &text,
        ]
        .concat();
        assert_eq!(inflate_all(&wire, 5, 64), expected);
    }

    #[test]
    fn garbage_is_an_error() {
        let mut d = Deflate::new();
        let space = d.raw_space();
        space[..4].copy_from_slice(&[0xff; 4]);
        d.raw_filled(4);
        let mut buf = [0u8; 64];
        assert!(d.inflate(&mut buf).is_err());
    }
}
