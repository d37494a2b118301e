//! The two searches of the DATA decoder: the last LF of a line-limit window and the next
//! `\n.`. On a 10 KB body the decoder makes about fifteen of them, so their fixed cost per
//! call counts: where the CPU has AVX2 the vector searchers of `memchr` are built once and
//! called directly, skipping the run-time dispatch of `memchr::memrchr` and
//! `memmem::Finder::find` (about a tenth of the time on a 10 KB body). Elsewhere the
//! portable `memchr` functions are used. Both give the same answers.

use std::sync::LazyLock;

use memchr::{memmem, memrchr};

/// `\n.`, whose octets are rare as a pair; a search for `\r\n.` would stop at every line
/// end, because CR and LF are both common. The caller checks the CR before a hit.
const LF_DOT: &[u8] = b"\n.";

/// The searchers, built once.
#[derive(Debug)]
pub(crate) struct Search {
    portable_lf_dot: memmem::Finder<'static>,
    #[cfg(target_arch = "x86_64")]
    avx2: Option<(
        memchr::arch::x86_64::avx2::memchr::One,
        memchr::arch::x86_64::avx2::packedpair::Finder,
    )>,
}

static SEARCH: LazyLock<Search> = LazyLock::new(|| Search {
    portable_lf_dot: memmem::Finder::new(LF_DOT),
    #[cfg(target_arch = "x86_64")]
    avx2: memchr::arch::x86_64::avx2::memchr::One::new(b'\n')
        .zip(memchr::arch::x86_64::avx2::packedpair::Finder::new(LF_DOT)),
});

impl Search {
    /// The searchers of this process.
    pub(crate) fn get() -> &'static Search {
        &SEARCH
    }

    /// The position of the last LF in `haystack`.
    #[inline]
    pub(crate) fn last_lf(&self, haystack: &[u8]) -> Option<usize> {
        #[cfg(target_arch = "x86_64")]
        if let Some((lf, _)) = &self.avx2 {
            return lf.rfind(haystack);
        }
        memrchr(b'\n', haystack)
    }

    /// The position of the first `\n.` in `haystack`.
    #[inline]
    pub(crate) fn lf_dot(&self, haystack: &[u8]) -> Option<usize> {
        #[cfg(target_arch = "x86_64")]
        if let Some((_, pair)) = &self.avx2 {
            // The vector searcher needs a minimum length (it panics below it).
            if haystack.len() >= pair.min_haystack_len() {
                return pair.find(haystack, LF_DOT);
            }
        }
        self.portable_lf_dot.find(haystack)
    }

    /// The portable searches alone, to compare against.
    #[cfg(test)]
    fn portable() -> Search {
        Search {
            portable_lf_dot: memmem::Finder::new(LF_DOT),
            #[cfg(target_arch = "x86_64")]
            avx2: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn vector_and_portable_searches_agree(
            haystack in proptest::collection::vec(
                prop_oneof![Just(b'\n'), Just(b'.'), Just(b'\r'), any::<u8>()], 0..300),
            sparse in any::<bool>(),
        ) {
            // Sparse haystacks are long stretches with few hits, as in real mail.
            let haystack: Vec<u8> = if sparse {
                haystack.iter().map(|&b| if b == b'\n' || b == b'.' { b } else { b'a' })
                    .chain(std::iter::repeat_n(b'a', 200)).collect()
            } else {
                haystack
            };
            let (fast, slow) = (Search::get(), Search::portable());
            for start in [0, 1, 5, 31, 64] {
                let h = haystack.get(start..).unwrap_or_default();
                prop_assert_eq!(fast.last_lf(h), slow.last_lf(h));
                prop_assert_eq!(fast.lf_dot(h), slow.lf_dot(h));
                prop_assert_eq!(slow.lf_dot(h), h.windows(2).position(|w| w == LF_DOT));
                prop_assert_eq!(slow.last_lf(h), h.iter().rposition(|&b| b == b'\n'));
            }
        }
    }
}
