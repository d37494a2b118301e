//! STAT, LIST and UIDL (RFC 1939 §5, §7): deleted messages are left out; sizes are exact
//! octet counts of the message as RETR sends it (CRLF line ends, before byte-stuffing).

use pop3_proto::{MsgNo, Response, ScanListing, Stat, UidListing, UniqueId};

use super::{Session, status};

impl Session {
    fn live(&self) -> impl Iterator<Item = (MsgNo, usize)> + '_ {
        self.deleted
            .iter()
            .enumerate()
            .filter(|(_, d)| !**d)
            .filter_map(|(i, _)| Some((MsgNo::new(u32::try_from(i + 1).ok()?)?, i)))
    }

    pub(super) fn stat(&mut self) {
        let (count, size) = self.live().fold((0u32, 0u64), |(c, s), (_, i)| {
            (c + 1, s + self.entries[i].size)
        });
        self.respond(Response::Stat(Stat { count, size }));
    }

    pub(super) fn list(&mut self, msg: Option<MsgNo>) {
        let response = match msg {
            Some(msg) => match self.entry(msg) {
                Ok(i) => Response::Scan(ScanListing {
                    msg,
                    size: self.entries[i].size,
                }),
                Err(r) => r,
            },
            None => Response::ScanList {
                text: Default::default(),
                entries: self
                    .live()
                    .map(|(msg, i)| ScanListing {
                        msg,
                        size: self.entries[i].size,
                    })
                    .collect(),
            },
        };
        self.respond(response);
    }

    fn unique_id(&self, i: usize) -> Option<UniqueId> {
        UniqueId::try_from(self.entries[i].uidl.as_bytes()).ok()
    }

    pub(super) fn uidl(&mut self, msg: Option<MsgNo>) {
        let response = match msg {
            Some(msg) => match self.entry(msg) {
                Ok(i) => match self.unique_id(i) {
                    Some(uid) => Response::Uid(UidListing { msg, uid }),
                    None => status(false, "message has no valid unique-id"),
                },
                Err(r) => r,
            },
            None => Response::UidList {
                text: Default::default(),
                entries: self
                    .live()
                    .filter_map(|(msg, i)| {
                        Some(UidListing {
                            msg,
                            uid: self.unique_id(i)?,
                        })
                    })
                    .collect(),
            },
        };
        self.respond(response);
    }
}
