//! Per-user control files: `dovecot-uidvalidity`, `subscriptions`, `gradwell-special-use`.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    io::ErrorKind,
    path::Path,
    time::SystemTime,
};

use crate::{
    error::StoreError,
    mailbox_name::MailboxName,
    maildir::{Ctx, layout, lock::DotLock},
    types::SpecialUse,
};

const UIDVALIDITY: &str = "dovecot-uidvalidity";
const SUBSCRIPTIONS: &str = "subscriptions";
const SPECIAL_USE: &str = "gradwell-special-use";

fn read_text(path: &Path) -> Result<String, StoreError> {
    match fs::read(path) {
        Ok(b) => Ok(String::from_utf8_lossy(&b).into_owned()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(String::new()),
        Err(e) => Err(StoreError::io("reading user control file")(e)),
    }
}

/// Hands out a UIDVALIDITY larger than every earlier one of this user: the larger of the
/// current time and the last value plus one (Dovecot keeps the last one in the same file, as
/// 8 hex digits), so a re-created mailbox never repeats an old UIDVALIDITY.
pub(crate) fn next_uid_validity(ctx: &Ctx, user_dir: &Path) -> Result<u32, StoreError> {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let now = u32::try_from(now).unwrap_or(u32::MAX);
    update_last_uid_validity(ctx, user_dir, |last| now.max(last.saturating_add(1)).max(1))
}

/// Records that `v` was handed out (a mirror's secondary adopting its primary's value), so
/// later ones of this user are larger.
pub(crate) fn note_uid_validity(ctx: &Ctx, user_dir: &Path, v: u32) -> Result<(), StoreError> {
    // The value only ever grows, so one read without the lock that already covers `v` is
    // final (an import adopting its source's older values writes nothing).
    if last_uid_validity(&user_dir.join(UIDVALIDITY))? >= v {
        return Ok(());
    }
    update_last_uid_validity(ctx, user_dir, |last| last.max(v)).map(|_| ())
}

fn last_uid_validity(path: &Path) -> Result<u32, StoreError> {
    Ok(u32::from_str_radix(read_text(path)?.trim(), 16).unwrap_or(0))
}

fn update_last_uid_validity(
    ctx: &Ctx,
    user_dir: &Path,
    next: impl FnOnce(u32) -> u32,
) -> Result<u32, StoreError> {
    let path = user_dir.join(UIDVALIDITY);
    let lock = DotLock::acquire(&path, &ctx.lock_policy())?;
    let next = next(last_uid_validity(&path)?);
    lock.replace_target(format!("{next:08x}").as_bytes(), |f| ctx.fsync_data(f))?;
    Ok(next)
}

/// The subscribed names. Reads Dovecot's version 2 (`V\t2`, a blank line, then TAB-separated
/// levels) and the older one-name-per-line form with `.` separators; unreadable lines are
/// skipped.
pub(crate) fn subscriptions(user_dir: &Path) -> Result<BTreeSet<MailboxName>, StoreError> {
    let text = read_text(&user_dir.join(SUBSCRIPTIONS))?;
    let mut lines = text.lines().peekable();
    let v2 = lines.peek() == Some(&"V\t2");
    if v2 {
        lines.next();
        if lines.peek() == Some(&"") {
            lines.next();
        }
    }
    Ok(lines
        .filter(|l| !l.is_empty())
        .filter_map(|l| {
            if v2 {
                layout::parse_subscription_line(l)
            } else {
                layout::parse_subscription_line(&l.replace('.', "\t"))
            }
        })
        .collect())
}

/// Rewrites the subscriptions file in Dovecot's version 2 format, unless `change` leaves it
/// as it is.
pub(crate) fn set_subscriptions(
    ctx: &Ctx,
    user_dir: &Path,
    change: impl Fn(&mut BTreeSet<MailboxName>),
) -> Result<(), StoreError> {
    if changes_nothing(subscriptions(user_dir)?, &change) {
        return Ok(());
    }
    let path = user_dir.join(SUBSCRIPTIONS);
    let lock = DotLock::acquire(&path, &ctx.lock_policy())?;
    let mut subs = subscriptions(user_dir)?;
    change(&mut subs);
    let mut text = String::from("V\t2\n\n");
    for s in &subs {
        text.push_str(&layout::subscription_line(s));
        text.push('\n');
    }
    lock.replace_target(text.as_bytes(), |f| ctx.fsync_data(f))
        .map(|_| ())
}

/// Whether `change` leaves `current` (read without the lock) as it is. Then there is nothing
/// to write: the change is idempotent (add or remove names), so it holds at this read, and a
/// writer racing with us is ordered after it. Saves a lock file and a rename per call, e.g.
/// the special-use table on every rename of a folder without attributes.
fn changes_nothing<T: Clone + PartialEq>(current: T, change: &impl Fn(&mut T)) -> bool {
    let mut changed = current.clone();
    change(&mut changed);
    changed == current
}

/// Special-use attributes: lines `<attribute> <TAB-separated levels>`.
pub(crate) fn special_uses(
    user_dir: &Path,
) -> Result<BTreeMap<MailboxName, SpecialUse>, StoreError> {
    let text = read_text(&user_dir.join(SPECIAL_USE))?;
    Ok(text
        .lines()
        .filter_map(|l| {
            let (attr, name) = l.split_once(' ')?;
            Some((
                layout::parse_subscription_line(name)?,
                SpecialUse::from_imap(attr)?,
            ))
        })
        .collect())
}

/// Changes the special-use table, unless `change` leaves it as it is.
pub(crate) fn set_special_uses(
    ctx: &Ctx,
    user_dir: &Path,
    change: impl Fn(&mut BTreeMap<MailboxName, SpecialUse>),
) -> Result<(), StoreError> {
    if changes_nothing(special_uses(user_dir)?, &change) {
        return Ok(());
    }
    let path = user_dir.join(SPECIAL_USE);
    let lock = DotLock::acquire(&path, &ctx.lock_policy())?;
    let mut table = special_uses(user_dir)?;
    change(&mut table);
    let mut text = String::new();
    for (name, attr) in &table {
        text.push_str(attr.as_imap());
        text.push(' ');
        text.push_str(&layout::subscription_line(name));
        text.push('\n');
    }
    lock.replace_target(text.as_bytes(), |f| ctx.fsync_data(f))
        .map(|_| ())
}
