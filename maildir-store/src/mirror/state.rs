//! The mirror-set record each replica keeps, and the start-up decision made from the two
//! records (DESIGN.md M2, M3).
//!
//! Record format (text, one field a line):
//! ```text
//! gradwell-mirror v1
//! epoch 7
//! stale 1
//! ```
//! `epoch` grows every time the set changes membership; `stale` names the side (0 = primary,
//! 1 = secondary) that this replica's writer fenced, or `none`. The record is written only on
//! a replica that keeps serving, before anything is acknowledged by it alone, so the fenced
//! side never carries the newer epoch.

use super::Side;

const MAGIC: &str = "gradwell-mirror v1";

/// One replica's view of the set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Record {
    pub(crate) epoch: u64,
    pub(crate) stale: Option<Side>,
}

impl Record {
    pub(crate) fn to_text(self) -> String {
        let stale = match self.stale {
            None => "none".to_owned(),
            Some(s) => s.index().to_string(),
        };
        format!("{MAGIC}\nepoch {}\nstale {stale}\n", self.epoch)
    }

    /// Parses a record; `None` when it is not one (treated as damage by the caller).
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let mut lines = text.lines();
        if lines.next()? != MAGIC {
            return None;
        }
        let epoch = lines.next()?.strip_prefix("epoch ")?.parse().ok()?;
        let stale = match lines.next()?.strip_prefix("stale ")? {
            "none" => None,
            "0" => Some(Side::Primary),
            "1" => Some(Side::Secondary),
            _ => return None,
        };
        Some(Self { epoch, stale })
    }
}

/// What one side looked like at start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seen {
    /// Could not be read at all (error or missed deadline): a failed replica.
    Failed,
    /// Readable, with no record yet (a brand-new set, or a replaced disk).
    Blank,
    /// Readable, with this record.
    Has(Record),
}

/// What to do at start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Plan {
    /// Both sides agree at this epoch; write nothing.
    InSync(u64),
    /// A new set: write this epoch on both sides.
    Fresh(u64),
    /// `stale` must not serve. If `record` is set, write it on the other side first.
    Degraded {
        stale: Side,
        epoch: u64,
        write: bool,
    },
    /// Each side says the other is stale, or neither can serve: refuse (MIR-08).
    Refuse(&'static str),
}

/// Decides from the two records. `trust_lone` allows serving from the only readable side
/// when its record does not prove it is the survivor (an operator override).
pub(crate) fn decide(primary: Seen, secondary: Seen, trust_lone: bool) -> Plan {
    use Seen::{Blank, Failed, Has};
    let claims = |seen: Seen, other: Side| matches!(seen, Has(r) if r.stale == Some(other));
    let epoch_of = |seen: Seen| match seen {
        Has(r) => r.epoch,
        _ => 0,
    };
    let p_says = claims(primary, Side::Secondary);
    let s_says = claims(secondary, Side::Primary);
    if p_says && s_says {
        return Plan::Refuse("split brain: each replica recorded the other as stale");
    }
    match (primary, secondary) {
        (Failed, Failed) => Plan::Refuse("both replicas unreadable"),
        (Failed, _) | (_, Failed) => {
            let (lost, alive, alive_seen) = if primary == Failed {
                (Side::Primary, Side::Secondary, secondary)
            } else {
                (Side::Secondary, Side::Primary, primary)
            };
            let proven = claims(alive_seen, lost);
            if claims(alive_seen, alive) || !(proven || trust_lone) || alive_seen == Blank {
                return Plan::Refuse(
                    "one replica is unreadable and the other cannot prove it is current",
                );
            }
            Plan::Degraded {
                stale: lost,
                epoch: epoch_of(alive_seen) + u64::from(!proven),
                write: !proven,
            }
        }
        (Blank, Blank) => Plan::Fresh(1),
        _ if p_says => Plan::Degraded {
            stale: Side::Secondary,
            epoch: epoch_of(primary),
            write: false,
        },
        _ if s_says => Plan::Degraded {
            stale: Side::Primary,
            epoch: epoch_of(secondary),
            write: false,
        },
        (Has(p), Has(s)) if p.epoch == s.epoch => Plan::InSync(p.epoch),
        _ => {
            // Different epochs, or one blank: the older (or blank) side missed changes.
            let stale = if epoch_of(primary) < epoch_of(secondary) {
                Side::Primary
            } else {
                Side::Secondary
            };
            let epoch = epoch_of(primary).max(epoch_of(secondary)) + 1;
            Plan::Degraded {
                stale,
                epoch,
                write: true,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn has(epoch: u64, stale: Option<Side>) -> Seen {
        Seen::Has(Record { epoch, stale })
    }

    #[test]
    fn record_round_trips_and_rejects_junk() {
        for r in [
            Record {
                epoch: 1,
                stale: None,
            },
            Record {
                epoch: u64::MAX,
                stale: Some(Side::Secondary),
            },
            Record {
                epoch: 9,
                stale: Some(Side::Primary),
            },
        ] {
            assert_eq!(Record::parse(&r.to_text()), Some(r));
        }
        for junk in ["", "gradwell-mirror v1\n", "x\nepoch 1\nstale none\n"] {
            assert_eq!(Record::parse(junk), None, "{junk:?}");
        }
        assert_eq!(
            Record::parse("gradwell-mirror v1\nepoch 1\nstale 2\n"),
            None
        );
    }

    #[test]
    fn start_up_decisions() {
        use Seen::{Blank, Failed};
        let p = Side::Primary;
        let s = Side::Secondary;
        let table: &[(Seen, Seen, bool, Plan)] = &[
            (Blank, Blank, false, Plan::Fresh(1)),
            (has(3, None), has(3, None), false, Plan::InSync(3)),
            // The survivor's record wins over a stale snapshot's (MIR-06).
            (
                has(4, Some(s)),
                has(3, None),
                false,
                Plan::Degraded {
                    stale: s,
                    epoch: 4,
                    write: false,
                },
            ),
            (
                has(3, None),
                has(4, Some(p)),
                false,
                Plan::Degraded {
                    stale: p,
                    epoch: 4,
                    write: false,
                },
            ),
            // A replaced, blank disk is a resync target, never a source.
            (
                has(2, None),
                Blank,
                false,
                Plan::Degraded {
                    stale: s,
                    epoch: 3,
                    write: true,
                },
            ),
            (
                Blank,
                has(2, None),
                false,
                Plan::Degraded {
                    stale: p,
                    epoch: 3,
                    write: true,
                },
            ),
            // Older epoch without a mark (should not happen): the older side is stale.
            (
                has(2, None),
                has(5, None),
                false,
                Plan::Degraded {
                    stale: p,
                    epoch: 6,
                    write: true,
                },
            ),
            // Split brain (MIR-08) is refused.
            (
                has(5, Some(s)),
                has(5, Some(p)),
                true,
                Plan::Refuse("split brain: each replica recorded the other as stale"),
            ),
            // A known survivor may serve alone; an unproven lone replica only on override.
            (
                has(4, Some(s)),
                Failed,
                false,
                Plan::Degraded {
                    stale: s,
                    epoch: 4,
                    write: false,
                },
            ),
            (
                has(4, None),
                Failed,
                true,
                Plan::Degraded {
                    stale: s,
                    epoch: 5,
                    write: true,
                },
            ),
            (
                Failed,
                has(4, None),
                true,
                Plan::Degraded {
                    stale: p,
                    epoch: 5,
                    write: true,
                },
            ),
            (
                Failed,
                Blank,
                true,
                Plan::Refuse("one replica is unreadable and the other cannot prove it is current"),
            ),
            (
                Failed,
                has(4, Some(s)),
                true,
                Plan::Refuse("one replica is unreadable and the other cannot prove it is current"),
            ),
            (
                Failed,
                Failed,
                true,
                Plan::Refuse("both replicas unreadable"),
            ),
        ];
        for (i, (a, b, trust, want)) in table.iter().enumerate() {
            assert_eq!(decide(*a, *b, *trust), *want, "row {i}");
        }
        assert!(matches!(
            decide(has(4, None), Failed, false),
            Plan::Refuse(_)
        ));
    }
}
