//! Generates synthetic users' mail in Dovecot's Maildir++ layout, for the migration bench
//! (`scripts/bench-migrate.sh`): every user gets INBOX, `Sent` and `Archive` with
//! `dovecot-uidlist` (UIDVALIDITY, UIDs, UIDNEXT), `dovecot-keywords`, keyword letters and
//! system flags in the file names, INTERNALDATE as the files' mtime, and a `subscriptions`
//! file, so what Dovecot itself would write is what an importer has to read.
//!
//! ```text
//! cargo run --release -p examples --example gen_dovecot_tree -- ROOT USERS [FIRST] [PER_USER]
//! ```
//!
//! Users are `u<FIRST>` … `u<FIRST+USERS-1>` under `ROOT`, `PER_USER` messages each (default
//! 20). Sizes are mixed (60% ~1 KB, 25% ~2 KB, 10% ~4 KB, 5% ~16 KB) and deterministic: the
//! same arguments give the same tree, byte for byte, apart from directory timestamps.

use std::{
    fs::{self, File},
    io::{self, Write},
    path::Path,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

/// The folders of every user: Maildir++ directory (empty for INBOX), and their share of
/// the user's messages in twentieths.
const FOLDERS: [(&str, u32); 3] = [("", 12), (".Sent", 5), (".Archive", 3)];

/// A small deterministic generator (64-bit LCG, Knuth's constants); no crate needed.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) as u32
    }
}

/// A message body of about `size` bytes (LF line ends, as Maildir delivery writes them).
fn message(user: &str, n: u32, size: usize, date: &str) -> Vec<u8> {
    let mut out = format!(
        "From: sender{n}@example.org\nTo: {user}@example.test\nSubject: synthetic {n}\n\
         Date: {date}\nMessage-ID: <{user}.{n}@gen.example>\n\n"
    )
    .into_bytes();
    let line = b"The quick brown fox jumps over the lazy dog, again and again.\n";
    while out.len() < size {
        out.extend_from_slice(line);
    }
    out
}

/// Dates the messages carry: the `Date:` header and the same instant as the file's mtime
/// (INTERNALDATE), one per day of a fortnight in late 2023.
fn pick_date(rng: &mut Lcg) -> (String, SystemTime) {
    let day = rng.next() % 14;
    let (hour, minute) = (rng.next() % 24, rng.next() % 60);
    let header = format!("{:02} Nov 2023 {hour:02}:{minute:02}:00 +0000", day + 1);
    // 2023-11-01 00:00:00 UTC.
    let seconds = 1_698_796_800 + u64::from(day * 86_400 + hour * 3600 + minute * 60);
    (header, UNIX_EPOCH + Duration::from_secs(seconds))
}

fn pick_size(rng: &mut Lcg) -> usize {
    match rng.next() % 100 {
        0..60 => 1024,
        60..85 => 2048,
        85..95 => 4096,
        _ => 16 * 1024,
    }
}

/// System flags then keyword letters, in ASCII order as Maildir wants them.
fn pick_flags(rng: &mut Lcg) -> &'static str {
    match rng.next() % 8 {
        0 => "",
        1 => "S",
        2 => "RS",
        3 => "FS",
        4 => "Sa",
        5 => "FSab",
        6 => "Sb",
        _ => "DS",
    }
}

fn write_user(root: &Path, user: &str, per_user: u32, seed: u64) -> io::Result<()> {
    let home = root.join(user);
    let mut rng = Lcg(seed);
    let mut remaining = per_user;
    for (index, (dir, share)) in FOLDERS.iter().enumerate() {
        let count = if index == FOLDERS.len() - 1 {
            remaining
        } else {
            (per_user * share / 20).min(remaining)
        };
        remaining -= count;
        let maildir = home.join(dir);
        for sub in ["cur", "new", "tmp"] {
            fs::create_dir_all(maildir.join(sub))?;
        }
        let uid_validity = 1_700_000_000 + (seed as u32 % 1_000_000) + index as u32;
        // Start above 1 and leave gaps, as real mailboxes that saw expunges do.
        let mut uid = 1 + rng.next() % 50;
        let mut uidlist = String::new();
        for n in 0..count {
            let size = pick_size(&mut rng);
            let (header, date) = pick_date(&mut rng);
            let body = message(user, n, size, &header);
            let lines = body.iter().filter(|b| **b == b'\n').count();
            let base = format!(
                "{}.M{n}P{index}.gen,S={},W={}",
                1_700_000_000 + n,
                body.len(),
                body.len() + lines
            );
            let path = maildir
                .join("cur")
                .join(format!("{base}:2,{}", pick_flags(&mut rng)));
            let mut file = File::create(&path)?;
            file.write_all(&body)?;
            file.set_modified(date)?;
            uidlist.push_str(&format!("{uid} :{base}\n"));
            uid += if rng.next().is_multiple_of(3) { 2 } else { 1 };
        }
        // The mailbox GUID: 128 random-looking, never-zero bits (Dovecot refuses a zero one).
        let guid = (u128::from(rng.next()) << 96
            | u128::from(rng.next()) << 64
            | u128::from(rng.next()) << 32
            | u128::from(rng.next()))
            | 1;
        let header = format!("3 V{uid_validity} N{uid} G{guid:032x}\n");
        fs::write(maildir.join("dovecot-uidlist"), header + &uidlist)?;
        fs::write(maildir.join("dovecot-keywords"), "0 $Forwarded\n1 Work\n")?;
    }
    fs::write(home.join("subscriptions"), "INBOX\nSent\nArchive\n")?;
    Ok(())
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize, default: u32| -> io::Result<u32> {
        args.get(i).map_or(Ok(default), |s| {
            s.parse().map_err(|_| {
                io::Error::new(io::ErrorKind::InvalidInput, format!("not a number: {s}"))
            })
        })
    };
    let Some(root) = args.first() else {
        eprintln!("usage: gen_dovecot_tree ROOT USERS [FIRST] [PER_USER]");
        std::process::exit(2);
    };
    let users = number(1, 1000)?;
    let first = number(2, 0)?;
    let per_user = number(3, 20)?;
    let root = Path::new(root);
    fs::create_dir_all(root)?;
    for i in first..first + users {
        write_user(root, &format!("u{i}"), per_user, u64::from(i) * 7919 + 1)?;
    }
    Ok(())
}
