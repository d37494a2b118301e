//! Raw DEFLATE on both directions of a connection (IMAP COMPRESS=DEFLATE, RFC 4978).
//!
//! Memory stays bounded whatever the client sends: compressed input waits in a fixed
//! buffer of [`RAW_CAPACITY`] octets, and inflating never produces more than the caller's
//! read buffer holds, so a decompression bomb yields its output one read at a time, under
//! the session's own line and literal limits, like plain input.

use std::io;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// Compressed octets read from the socket and not yet inflated, at most.
const RAW_CAPACITY: usize = 16 * 1024;

/// Output room added per deflate call.
const OUT_STEP: usize = 4 * 1024;

/// The compressor, the decompressor and the compressed input between reads.
pub(crate) struct Deflate {
    deflater: Compress,
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
    /// Both directions start now; RFC 4978 §4: DEFLATE "without any zlib header".
    pub(crate) fn new() -> Self {
        Self {
            deflater: Compress::new(Compression::default(), false),
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
        let mut consumed = 0;
        loop {
            out.reserve(OUT_STEP);
            let before = self.deflater.total_in();
            self.deflater
                .compress_vec(
                    data.get(consumed..).unwrap_or_default(),
                    out,
                    FlushCompress::Sync,
                )
                .map_err(io::Error::other)?;
            consumed +=
                usize::try_from(self.deflater.total_in() - before).map_err(io::Error::other)?;
            // The flush is complete once deflate stops with output room to spare.
            if consumed >= data.len() && out.len() < out.capacity() {
                return Ok(());
            }
        }
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
