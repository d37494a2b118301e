//! `MemStore`: the whole store in one process's memory, for tests and for server unit tests.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    io::Read,
    sync::{Arc, Mutex, MutexGuard},
};

use crate::{
    error::StoreError,
    mailbox_name::MailboxName,
    pop3::default_uidl,
    store::{MAX_STRUCTURE_RECORD, MailStore, check_rename, rename_inbox, select_part, with_crlf},
    types::{
        AppendRequest, ChangeSet, CopyResult, ExpungeSelector, FlagChange, FlagUpdate, Flags,
        Keyword, MailboxAttributes, MailboxInfo, MailboxView, MessageMeta, ModSeq, Pop3Entry,
        QuotaUsage, ReadPart, SpecialUse, StoreOutcome, SystemFlag, Uid, UidValidity, UserId,
    },
};

/// Keyword slots per mailbox, the same as Maildir's `a`–`z`.
const KEYWORD_LIMIT: usize = 26;

/// An in-memory [`MailStore`]. Cheap to create; all data is lost when it is dropped.
#[derive(Debug, Default)]
pub struct MemStore {
    state: Mutex<State>,
    /// The mirror-set record when this store is one side of a mirror.
    mirror_state: Mutex<Option<String>>,
}

#[derive(Debug, Default)]
struct State {
    users: HashMap<UserId, UserTree>,
    last_uid_validity: u32,
}

#[derive(Debug, Default)]
struct UserTree {
    mailboxes: BTreeMap<MailboxName, Mailbox>,
    subscriptions: BTreeSet<MailboxName>,
}

#[derive(Debug)]
struct Mailbox {
    uid_validity: UidValidity,
    uid_next: Uid,
    highest_modseq: ModSeq,
    messages: BTreeMap<Uid, Message>,
    vanished: Vec<(Uid, ModSeq)>,
    keywords: BTreeSet<Keyword>,
    special_use: Option<SpecialUse>,
    /// POP3 UIDL and order recorded by a migration, by UID.
    pop3: BTreeMap<Uid, (Option<String>, Option<u32>)>,
}

#[derive(Debug, Clone)]
struct Message {
    meta: MessageMeta,
    body: Arc<Vec<u8>>,
    /// The structure record kept by [`MailStore::cache_structure`].
    structure: Option<Arc<Vec<u8>>>,
}

impl MemStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    pub(crate) fn user_ids(&self) -> Vec<UserId> {
        let mut users: Vec<UserId> = self.lock().users.keys().cloned().collect();
        users.sort();
        users
    }

    pub(crate) fn mirror_state(&self) -> Option<String> {
        self.mirror_state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn set_mirror_state(&self, text: String) {
        *self.mirror_state.lock().unwrap_or_else(|e| e.into_inner()) = Some(text);
    }

    /// Gives a mailbox that never held a message the UIDVALIDITY `v` (for mirrors).
    /// [`crate::mirror::Restore::restore_pop3`].
    pub(crate) fn set_pop3(
        &self,
        user: &UserId,
        name: &MailboxName,
        entries: &[(Uid, Option<String>, Option<u32>)],
    ) -> Result<(), StoreError> {
        let mut state = self.lock();
        let mb = state.mailbox(user, name)?;
        for (uid, uidl, order) in entries {
            if !mb.messages.contains_key(uid) {
                continue;
            }
            let slot = mb.pop3.entry(*uid).or_default();
            if uidl.is_some() {
                slot.0.clone_from(uidl);
            }
            if order.is_some() {
                slot.1 = *order;
            }
        }
        Ok(())
    }

    pub(crate) fn adopt_uid_validity(
        &self,
        user: &UserId,
        name: &MailboxName,
        v: UidValidity,
    ) -> Result<(), StoreError> {
        let mut state = self.lock();
        state.last_uid_validity = state.last_uid_validity.max(v.get());
        let mb = state.mailbox(user, name)?;
        if mb.uid_validity == v {
            return Ok(());
        }
        if mb.uid_next != Uid::MIN || !mb.vanished.is_empty() {
            return Err(StoreError::ReplicasDiverged {
                detail: format!("{name} has UIDVALIDITY {} and mail", mb.uid_validity),
            });
        }
        mb.uid_validity = v;
        Ok(())
    }

    /// Resync: stores `body` under exactly `meta`'s UID, flags, date and modseq.
    pub(crate) fn restore_message(
        &self,
        user: &UserId,
        name: &MailboxName,
        meta: &MessageMeta,
        body: &[u8],
    ) -> Result<(), StoreError> {
        let mut state = self.lock();
        let mb = state.mailbox(user, name)?;
        if meta.uid < mb.uid_next {
            return Err(StoreError::ReplicasDiverged {
                detail: format!("UID {} is below UIDNEXT {}", meta.uid, mb.uid_next),
            });
        }
        mb.admit_keywords(&meta.flags)?;
        mb.uid_next = meta.uid.next().ok_or(StoreError::Corrupt {
            file: "mailbox",
            detail: "UID space exhausted".into(),
        })?;
        mb.highest_modseq = mb.highest_modseq.max(meta.modseq);
        let mut meta = meta.clone();
        meta.size = body.len() as u64;
        let body = Arc::new(body.to_vec());
        mb.messages.insert(
            meta.uid,
            Message {
                meta,
                body,
                structure: None,
            },
        );
        Ok(())
    }

    /// Resync: gives a message exactly these flags at exactly this modseq.
    pub(crate) fn restore_flags(
        &self,
        user: &UserId,
        name: &MailboxName,
        uid: Uid,
        flags: &Flags,
        modseq: ModSeq,
    ) -> Result<(), StoreError> {
        let mut state = self.lock();
        let mb = state.mailbox(user, name)?;
        mb.admit_keywords(flags)?;
        let m = mb
            .messages
            .get_mut(&uid)
            .ok_or(StoreError::NoSuchMessage(uid))?;
        m.meta.flags = flags.clone();
        m.meta.modseq = modseq;
        mb.highest_modseq = mb.highest_modseq.max(modseq);
        Ok(())
    }

    /// Resync: removes these messages (those present), recording every one as expunged at
    /// `modseq` and keeping UIDNEXT above them.
    pub(crate) fn restore_expunge(
        &self,
        user: &UserId,
        name: &MailboxName,
        uids: &[Uid],
        modseq: ModSeq,
    ) -> Result<(), StoreError> {
        let mut state = self.lock();
        let mb = state.mailbox(user, name)?;
        for &uid in uids {
            mb.messages.remove(&uid);
            if !mb.vanished.iter().any(|(u, _)| *u == uid) {
                mb.vanished.push((uid, modseq));
            }
            // Never hand out a UID the peer used, even one this replica never saw.
            if let Some(next) = uid.next() {
                mb.uid_next = mb.uid_next.max(next);
            }
        }
        mb.highest_modseq = mb.highest_modseq.max(modseq);
        Ok(())
    }

    /// Scrub repair: empties a mailbox, tombstones too, as if it never held a message.
    pub(crate) fn reset_mailbox(
        &self,
        user: &UserId,
        name: &MailboxName,
    ) -> Result<(), StoreError> {
        let mut state = self.lock();
        let mb = state.mailbox(user, name)?;
        mb.messages.clear();
        mb.vanished.clear();
        mb.keywords.clear();
        mb.uid_next = Uid::MIN;
        mb.highest_modseq = ModSeq::new(1);
        Ok(())
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent data (every mutation is completed
        // before anything can fail), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl State {
    fn new_mailbox(&mut self, special_use: Option<SpecialUse>) -> Mailbox {
        self.last_uid_validity = self.last_uid_validity.wrapping_add(1).max(1);
        Mailbox {
            // Unwrap: max(1) above makes it non-zero.
            uid_validity: UidValidity::new(self.last_uid_validity).expect("non-zero"),
            uid_next: Uid::MIN,
            highest_modseq: ModSeq::new(1),
            messages: BTreeMap::new(),
            vanished: Vec::new(),
            keywords: BTreeSet::new(),
            special_use,
            pop3: BTreeMap::new(),
        }
    }

    fn user(&mut self, user: &UserId) -> &mut UserTree {
        if !self.users.contains_key(user) {
            let inbox = self.new_mailbox(None);
            let mut tree = UserTree::default();
            tree.mailboxes.insert(MailboxName::inbox(), inbox);
            self.users.insert(user.clone(), tree);
        }
        // Unwrap: inserted just above when missing.
        self.users.get_mut(user).expect("user tree exists")
    }

    /// Creates every missing ancestor of `name`.
    fn ensure_parents(&mut self, user: &UserId, name: &MailboxName) {
        let mut parent = name.parent();
        while let Some(p) = parent {
            if !self.user(user).mailboxes.contains_key(&p) {
                let mb = self.new_mailbox(None);
                self.user(user).mailboxes.insert(p.clone(), mb);
            }
            parent = p.parent();
        }
    }

    fn mailbox(&mut self, user: &UserId, name: &MailboxName) -> Result<&mut Mailbox, StoreError> {
        self.user(user)
            .mailboxes
            .get_mut(name)
            .ok_or(StoreError::NoSuchMailbox)
    }
}

impl Mailbox {
    fn bump(&mut self) -> ModSeq {
        self.highest_modseq = self.highest_modseq.next();
        self.highest_modseq
    }

    fn admit_keywords(&mut self, flags: &Flags) -> Result<(), StoreError> {
        let mut all = self.keywords.clone();
        all.extend(flags.keywords().cloned());
        if all.len() > KEYWORD_LIMIT {
            return Err(StoreError::TooManyKeywords {
                limit: KEYWORD_LIMIT,
            });
        }
        self.keywords = all;
        Ok(())
    }

    fn insert(&mut self, mut meta: MessageMeta, body: Arc<Vec<u8>>) -> Result<Uid, StoreError> {
        self.admit_keywords(&meta.flags)?;
        let uid = self.uid_next;
        self.uid_next = uid.next().ok_or(StoreError::Corrupt {
            file: "mailbox",
            detail: "UID space exhausted".into(),
        })?;
        meta.uid = uid;
        meta.modseq = self.bump();
        self.messages.insert(
            uid,
            Message {
                meta,
                body,
                structure: None,
            },
        );
        Ok(uid)
    }

    /// The UIDs among `uids` that exist, ascending, each once.
    fn existing(&self, uids: &[Uid]) -> Vec<Uid> {
        let mut found: Vec<Uid> = uids
            .iter()
            .copied()
            .filter(|u| self.messages.contains_key(u))
            .collect();
        found.sort_unstable();
        found.dedup();
        found
    }

    fn remove(&mut self, uids: &[Uid]) -> Vec<Uid> {
        let removed = self.existing(uids);
        for uid in &removed {
            self.messages.remove(uid);
            let modseq = self.bump();
            self.vanished.push((*uid, modseq));
        }
        removed
    }

    fn view(&self) -> MailboxView {
        MailboxView::new(
            self.uid_validity,
            self.uid_next,
            self.highest_modseq,
            self.messages.values().map(|m| m.meta.clone()).collect(),
        )
    }
}

fn read_all(message: &mut dyn Read) -> Result<Vec<u8>, StoreError> {
    let mut body = Vec::new();
    message
        .read_to_end(&mut body)
        .map_err(StoreError::io("reading appended message"))?;
    Ok(body)
}

/// Copies messages while the caller holds the store lock.
fn copy_locked(
    state: &mut State,
    user: &UserId,
    from: &MailboxName,
    uids: &[Uid],
    to: &MailboxName,
) -> Result<CopyResult, StoreError> {
    state.mailbox(user, to)?;
    let src = state.mailbox(user, from)?;
    let mut picked: Vec<Message> = uids
        .iter()
        .filter_map(|u| src.messages.get(u).cloned())
        .collect();
    picked.sort_by_key(|m| m.meta.uid);
    picked.dedup_by_key(|m| m.meta.uid);
    let dst = state.mailbox(user, to)?;
    let mut all = Flags::new();
    for m in &picked {
        all = all.union(&m.meta.flags);
    }
    dst.admit_keywords(&all)?;
    let mut mapping = Vec::with_capacity(picked.len());
    for m in picked {
        let old = m.meta.uid;
        mapping.push((old, dst.insert(m.meta, m.body)?));
    }
    Ok(CopyResult::new(dst.uid_validity, mapping))
}

impl MailStore for MemStore {
    fn list_mailboxes(&self, user: &UserId) -> Result<Vec<MailboxInfo>, StoreError> {
        let mut state = self.lock();
        let tree = state.user(user);
        let names: Vec<&MailboxName> = tree.mailboxes.keys().collect();
        let mut out: Vec<MailboxInfo> = tree
            .mailboxes
            .iter()
            .map(|(name, mb)| {
                let has_children = names.iter().any(|n| n.is_below(name));
                let subscribed = tree.subscriptions.contains(name);
                MailboxInfo::new(
                    name.clone(),
                    MailboxAttributes::new(has_children, subscribed, mb.special_use),
                )
            })
            .collect();
        out.sort_by_key(|i| (!i.name.is_inbox(), i.name.clone()));
        Ok(out)
    }

    fn subscriptions(&self, user: &UserId) -> Result<Vec<MailboxName>, StoreError> {
        let mut state = self.lock();
        Ok(state.user(user).subscriptions.iter().cloned().collect())
    }

    fn create_mailbox(
        &self,
        user: &UserId,
        name: &MailboxName,
        special_use: Option<SpecialUse>,
    ) -> Result<(), StoreError> {
        let mut state = self.lock();
        if state.user(user).mailboxes.contains_key(name) {
            return Err(StoreError::MailboxExists);
        }
        state.ensure_parents(user, name);
        let mb = state.new_mailbox(special_use);
        state.user(user).mailboxes.insert(name.clone(), mb);
        Ok(())
    }

    fn delete_mailbox(&self, user: &UserId, name: &MailboxName) -> Result<(), StoreError> {
        if name.is_inbox() {
            return Err(StoreError::InboxIsSpecial);
        }
        let mut state = self.lock();
        let tree = state.user(user);
        if !tree.mailboxes.contains_key(name) {
            return Err(StoreError::NoSuchMailbox);
        }
        if tree.mailboxes.keys().any(|n| n.is_below(name)) {
            return Err(StoreError::HasChildren);
        }
        tree.mailboxes.remove(name);
        Ok(())
    }

    fn rename_mailbox(
        &self,
        user: &UserId,
        from: &MailboxName,
        to: &MailboxName,
    ) -> Result<(), StoreError> {
        if from.is_inbox() {
            return rename_inbox(self, user, to);
        }
        check_rename(from, to)?;
        let mut state = self.lock();
        let tree = state.user(user);
        if !tree.mailboxes.contains_key(from) {
            return Err(StoreError::NoSuchMailbox);
        }
        if tree.mailboxes.contains_key(to) {
            return Err(StoreError::MailboxExists);
        }
        let moving: Vec<MailboxName> = tree
            .mailboxes
            .keys()
            .filter(|n| *n == from || n.is_below(from))
            .cloned()
            .collect();
        let mut renamed = Vec::with_capacity(moving.len());
        for old in &moving {
            let new = old
                .rebase(from, to)
                .ok_or(StoreError::InvalidMailboxName(crate::NameError::Length))?;
            if tree.mailboxes.contains_key(&new) {
                return Err(StoreError::MailboxExists);
            }
            renamed.push((old.clone(), new));
        }
        for (old, new) in renamed {
            if let Some(mb) = tree.mailboxes.remove(&old) {
                tree.mailboxes.insert(new, mb);
            }
        }
        state.ensure_parents(user, to);
        Ok(())
    }

    fn set_subscribed(
        &self,
        user: &UserId,
        name: &MailboxName,
        subscribed: bool,
    ) -> Result<(), StoreError> {
        let mut state = self.lock();
        let subs = &mut state.user(user).subscriptions;
        if subscribed {
            subs.insert(name.clone());
        } else {
            subs.remove(name);
        }
        Ok(())
    }

    fn open(&self, user: &UserId, name: &MailboxName) -> Result<MailboxView, StoreError> {
        Ok(self.lock().mailbox(user, name)?.view())
    }

    fn append(
        &self,
        user: &UserId,
        name: &MailboxName,
        message: &mut dyn Read,
        request: &AppendRequest,
    ) -> Result<Uid, StoreError> {
        self.lock().mailbox(user, name)?;
        let body = with_crlf(read_all(message)?);
        let meta = MessageMeta::new(
            Uid::MIN,
            request.flags.clone(),
            body.len() as u64,
            request.internal_date,
            ModSeq::ZERO,
        );
        self.lock()
            .mailbox(user, name)?
            .insert(meta, Arc::new(body))
    }

    fn copy(
        &self,
        user: &UserId,
        from: &MailboxName,
        uids: &[Uid],
        to: &MailboxName,
    ) -> Result<CopyResult, StoreError> {
        copy_locked(&mut self.lock(), user, from, uids, to)
    }

    fn move_messages(
        &self,
        user: &UserId,
        from: &MailboxName,
        uids: &[Uid],
        to: &MailboxName,
    ) -> Result<CopyResult, StoreError> {
        // One lock for both steps: no other caller sees the message in both or neither.
        let mut state = self.lock();
        let result = copy_locked(&mut state, user, from, uids, to)?;
        let moved: Vec<Uid> = result.mapping.iter().map(|(old, _)| *old).collect();
        state.mailbox(user, from)?.remove(&moved);
        Ok(result)
    }

    fn store_flags(
        &self,
        user: &UserId,
        name: &MailboxName,
        uids: &[Uid],
        change: &FlagChange,
        unchanged_since: Option<ModSeq>,
    ) -> Result<StoreOutcome, StoreError> {
        let mut state = self.lock();
        let mb = state.mailbox(user, name)?;
        let targets = mb.existing(uids);
        let mut out = StoreOutcome::default();
        for uid in targets {
            let Some(current) = mb.messages.get(&uid).map(|m| m.meta.clone()) else {
                continue;
            };
            if unchanged_since.is_some_and(|limit| current.modseq > limit) {
                out.modified.push(uid);
                continue;
            }
            let new = change.apply(&current.flags);
            if new == current.flags {
                out.updated
                    .push(FlagUpdate::new(uid, new, current.modseq, false));
                continue;
            }
            mb.admit_keywords(&new)?;
            let modseq = mb.bump();
            if let Some(m) = mb.messages.get_mut(&uid) {
                m.meta.flags = new.clone();
                m.meta.modseq = modseq;
            }
            out.updated.push(FlagUpdate::new(uid, new, modseq, true));
        }
        Ok(out)
    }

    fn expunge(
        &self,
        user: &UserId,
        name: &MailboxName,
        which: &ExpungeSelector,
    ) -> Result<Vec<Uid>, StoreError> {
        let mut state = self.lock();
        let mb = state.mailbox(user, name)?;
        let deleted = |m: &Message| m.meta.flags.contains(SystemFlag::Deleted);
        let chosen: Vec<Uid> = match which {
            ExpungeSelector::AllDeleted => mb
                .messages
                .values()
                .filter(|m| deleted(m))
                .map(|m| m.meta.uid)
                .collect(),
            ExpungeSelector::DeletedAmong(set) => set
                .iter()
                .copied()
                .filter(|u| mb.messages.get(u).is_some_and(deleted))
                .collect(),
            ExpungeSelector::Uids(set) => set.clone(),
        };
        Ok(mb.remove(&chosen))
    }

    fn read(
        &self,
        user: &UserId,
        name: &MailboxName,
        uid: Uid,
        part: ReadPart,
    ) -> Result<Vec<u8>, StoreError> {
        let body = {
            let mut state = self.lock();
            let mb = state.mailbox(user, name)?;
            let msg = mb
                .messages
                .get(&uid)
                .ok_or(StoreError::NoSuchMessage(uid))?;
            Arc::clone(&msg.body)
        };
        select_part(body.to_vec(), part)
    }

    fn cached_structure(
        &self,
        user: &UserId,
        name: &MailboxName,
        uid: Uid,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let mut state = self.lock();
        let mb = state.mailbox(user, name)?;
        Ok(mb
            .messages
            .get(&uid)
            .and_then(|m| m.structure.as_ref())
            .map(|s| s.to_vec()))
    }

    fn cache_structure(
        &self,
        user: &UserId,
        name: &MailboxName,
        uid: Uid,
        record: &[u8],
    ) -> Result<(), StoreError> {
        if record.len() > MAX_STRUCTURE_RECORD {
            return Ok(());
        }
        let mut state = self.lock();
        let mb = state.mailbox(user, name)?;
        if let Some(m) = mb.messages.get_mut(&uid) {
            m.structure = Some(Arc::new(record.to_vec()));
        }
        Ok(())
    }

    fn changes_since(
        &self,
        user: &UserId,
        name: &MailboxName,
        since: ModSeq,
    ) -> Result<ChangeSet, StoreError> {
        let mut state = self.lock();
        let mb = state.mailbox(user, name)?;
        let changed = mb
            .messages
            .values()
            .filter(|m| m.meta.modseq > since)
            .map(|m| m.meta.clone())
            .collect();
        let mut vanished: Vec<Uid> = mb
            .vanished
            .iter()
            .filter(|(_, m)| *m > since)
            .map(|(u, _)| *u)
            .collect();
        vanished.sort_unstable();
        Ok(ChangeSet::new(
            mb.uid_validity,
            mb.uid_next,
            mb.highest_modseq,
            changed,
            vanished,
        ))
    }

    fn quota_usage(&self, user: &UserId) -> Result<QuotaUsage, StoreError> {
        let mut state = self.lock();
        let mut usage = QuotaUsage::default();
        for mb in state.user(user).mailboxes.values() {
            for m in mb.messages.values() {
                usage.messages += 1;
                usage.bytes = usage.bytes.saturating_add(m.meta.size);
            }
        }
        Ok(usage)
    }

    fn pop3_view(&self, user: &UserId) -> Result<Vec<Pop3Entry>, StoreError> {
        let mut state = self.lock();
        let inbox = state.mailbox(user, &MailboxName::inbox())?;
        let recorded = |uid: &Uid| inbox.pop3.get(uid);
        let mut entries: Vec<(u32, Pop3Entry)> = inbox
            .messages
            .values()
            .map(|m| {
                let (uidl, order) = recorded(&m.meta.uid).cloned().unwrap_or_default();
                let uidl = uidl.unwrap_or_else(|| default_uidl(m.meta.uid, inbox.uid_validity));
                let entry = Pop3Entry::new(m.meta.uid, uidl, m.meta.size);
                (order.unwrap_or(u32::MAX), entry)
            })
            .collect();
        // Migrated messages keep their recorded POP3 order; the rest follow by UID.
        entries.sort_by_key(|(order, e)| (*order, e.uid));
        Ok(entries.into_iter().map(|(_, e)| e).collect())
    }
}
