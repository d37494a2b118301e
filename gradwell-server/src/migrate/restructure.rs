//! `gradwell restructure`: reorganising mail in place, each step one atomic `rename(2)`, so
//! a run killed anywhere is finished by running it again (a step already done is skipped).
//!
//! - `layout`: one Dovecot Maildir between Maildir++ (`.Archive.2024/`) and `LAYOUT=fs`
//!   (`Archive/2024/`). Folder directories move whole, with their `dovecot-uidlist`,
//!   `dovecot-keywords` and files, so UIDVALIDITY, UIDs, flags and UIDLs stay; the
//!   subscriptions file needs no change when it is Dovecot's version 2 (TAB-separated names).
//! - `rehash`: users' home directories from one path template to another (`%u` the user,
//!   `%n` the part before `@`, `%d` the domain; `%1u` its first character, `%2.1u` one
//!   character from offset 2, as Dovecot's variables), e.g. `%u` → `%1n/%2.1n/%u`.
//! - `reshard`: users onto other mirror sets, each through the live move of
//!   `gradwell user move` ([`crate::moves::move_user`]).

use std::{
    fs,
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::{Context, bail};

use super::dovecot::Layout;
use crate::{config::Config, moves};

/// What one restructuring step did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Step {
    /// From.
    pub from: PathBuf,
    /// To.
    pub to: PathBuf,
}

/// Folder directories of a Maildir in `layout`, as (levels, directory), parents first.
fn folders(root: &Path, layout: Layout) -> anyhow::Result<Vec<(Vec<String>, PathBuf)>> {
    let mut out = Vec::new();
    match layout {
        Layout::MaildirPlusPlus => {
            for entry in
                fs::read_dir(root).with_context(|| format!("listing {}", root.display()))?
            {
                let entry = entry?;
                let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                    bail!("{}: a folder name is not UTF-8", root.display());
                };
                if let Some(rest) = name.strip_prefix('.')
                    && !rest.is_empty()
                    && entry.path().join("cur").is_dir()
                {
                    out.push((rest.split('.').map(str::to_owned).collect(), entry.path()));
                }
            }
        }
        Layout::Fs => walk_fs(root, &mut Vec::new(), &mut out)?,
    }
    out.sort();
    Ok(out)
}

fn walk_fs(
    dir: &Path,
    levels: &mut Vec<String>,
    out: &mut Vec<(Vec<String>, PathBuf)>,
) -> anyhow::Result<()> {
    for entry in fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let entry = entry?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            bail!("{}: a folder name is not UTF-8", dir.display());
        };
        if matches!(name.as_str(), "cur" | "new" | "tmp") || name.starts_with('.') {
            continue;
        }
        if !entry.file_type()?.is_dir() {
            continue;
        }
        levels.push(name);
        if entry.path().join("cur").is_dir() {
            out.push((levels.clone(), entry.path()));
        }
        walk_fs(&entry.path(), levels, out)?;
        levels.pop();
    }
    Ok(())
}

/// Where a folder lives in `layout`.
fn folder_path(root: &Path, levels: &[String], layout: Layout) -> anyhow::Result<PathBuf> {
    if levels.iter().any(|l| {
        l.is_empty() || l.contains(['/', '.']) || matches!(l.as_str(), "cur" | "new" | "tmp")
    }) {
        bail!("folder {levels:?} cannot be expressed in both layouts");
    }
    Ok(match layout {
        Layout::MaildirPlusPlus => root.join(format!(".{}", levels.join("."))),
        Layout::Fs => levels.iter().fold(root.to_path_buf(), |p, l| p.join(l)),
    })
}

/// Converts the Maildir at `root` from `from` to `to`, in place. Deepest folders move
/// first when leaving `LAYOUT=fs` (a child lives inside its parent's directory there),
/// parents first when entering it.
pub fn change_layout(root: &Path, from: Layout, to: Layout) -> anyhow::Result<Vec<Step>> {
    if !root.join("cur").is_dir() {
        bail!("{} is not a Maildir", root.display());
    }
    if from == to {
        return Ok(Vec::new());
    }
    let mut list = folders(root, from)?;
    if from == Layout::Fs {
        list.reverse();
    }
    let mut steps = Vec::new();
    for (levels, dir) in list {
        let target = folder_path(root, &levels, to)?;
        if target.exists() {
            bail!(
                "{} and {} both exist; resolve by hand",
                dir.display(),
                target.display()
            );
        }
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::rename(&dir, &target)
            .with_context(|| format!("renaming {} to {}", dir.display(), target.display()))?;
        steps.push(Step {
            from: dir,
            to: target,
        });
    }
    // Leaving LAYOUT=fs leaves the empty directories of parents that were no folder.
    if from == Layout::Fs {
        for entry in fs::read_dir(root)? {
            let path = entry?.path();
            if path.is_dir()
                && !path.join("cur").exists()
                && !path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with('.') || matches!(n, "cur" | "new" | "tmp"))
            {
                // Only empty trees go: `remove_dir` refuses anything with files in it.
                remove_empty_tree(&path);
            }
        }
    }
    sync_dir(root)?;
    Ok(steps)
}

fn remove_empty_tree(dir: &Path) {
    if let Ok(entries) = fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.path().is_dir() {
                remove_empty_tree(&e.path());
            }
        }
    }
    let _ = fs::remove_dir(dir);
}

fn sync_dir(dir: &Path) -> anyhow::Result<()> {
    fs::File::open(dir)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("fsync of {}", dir.display()))
}

/// Expands a home path template for `user` (see the module documentation).
pub fn expand(template: &str, user: &str) -> anyhow::Result<String> {
    let (local, domain) = user.split_once('@').unwrap_or((user, ""));
    let mut out = String::new();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = String::new();
        while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit() || **d == '.') {
            spec.push(*d);
            chars.next();
        }
        let value = match chars.next() {
            Some('u') => user,
            Some('n') => local,
            Some('d') => domain,
            Some('%') => "%",
            other => bail!("template {template:?}: unknown variable %{spec}{other:?}"),
        };
        let (offset, len) = match spec.split_once('.') {
            Some((o, l)) => (o.parse().unwrap_or(0), l.parse().ok()),
            None if spec.is_empty() => (0, None),
            None => (0, spec.parse().ok()),
        };
        let picked: String = value
            .chars()
            .skip(offset)
            .take(len.unwrap_or(usize::MAX))
            .collect();
        if picked.is_empty() || picked.contains('/') || picked == "." || picked == ".." {
            bail!("template {template:?} gives no usable path part for {user:?}");
        }
        out.push_str(&picked);
    }
    Ok(out)
}

/// Moves each user's home under `base` from template `from` to template `to`.
pub fn rehash(base: &Path, from: &str, to: &str, users: &[String]) -> anyhow::Result<Vec<Step>> {
    let mut steps = Vec::new();
    for user in users {
        let old = base.join(expand(from, user)?);
        let new = base.join(expand(to, user)?);
        if old == new {
            continue;
        }
        match (old.exists(), new.exists()) {
            (true, false) => {
                if let Some(parent) = new.parent() {
                    fs::create_dir_all(parent)?;
                }
                fs::rename(&old, &new)
                    .with_context(|| format!("renaming {} to {}", old.display(), new.display()))?;
                if let Some(parent) = new.parent() {
                    sync_dir(parent)?;
                }
                steps.push(Step { from: old, to: new });
            }
            // Done by an earlier (perhaps interrupted) run.
            (false, true) => {}
            (true, true) => bail!("{user}: both {} and {} exist", old.display(), new.display()),
            (false, false) => bail!("{user}: no home at {}", old.display()),
        }
    }
    Ok(steps)
}

/// Moves users to mirror sets (`user set` per line of `plan`) with the live move.
pub fn reshard(config: &Config, plan: &str, wait: Duration) -> anyhow::Result<Vec<String>> {
    let mut done = Vec::new();
    for (n, line) in plan.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (user, set) = line
            .split_once(char::is_whitespace)
            .context(format!("plan line {}: want `user set`", n + 1))?;
        let set: usize = set
            .trim()
            .parse()
            .with_context(|| format!("plan line {}: bad set", n + 1))?;
        done.push(moves::move_user(&config.storage, user, set, wait)?);
    }
    Ok(done)
}

/// `gradwell restructure`.
#[derive(Debug, clap::Subcommand)]
pub enum RestructureArgs {
    /// Convert one Dovecot Maildir between Maildir++ and LAYOUT=fs, in place.
    Layout {
        /// The user's Maildir.
        #[arg(long)]
        path: PathBuf,
        /// The layout it has.
        #[arg(long, value_enum)]
        from: Layout,
        /// The layout it gets.
        #[arg(long, value_enum)]
        to: Layout,
    },
    /// Move users' homes under BASE from one path template to another.
    Rehash {
        /// The directory the templates are relative to.
        #[arg(long)]
        base: PathBuf,
        /// The template the homes are at now (e.g. `%u`).
        #[arg(long)]
        from: String,
        /// The template they move to (e.g. `%1n/%1.1n/%u`).
        #[arg(long)]
        to: String,
        /// A file with one user name per line.
        #[arg(long)]
        users: PathBuf,
    },
    /// Move users to other mirror sets (a plan of `user set` lines) with the live move.
    Reshard {
        /// The configuration whose storage holds the users.
        #[arg(long, short)]
        config: PathBuf,
        /// The plan file.
        #[arg(long)]
        plan: PathBuf,
        /// Seconds to wait for a running server to finish each move.
        #[arg(long, default_value_t = 600)]
        wait_secs: u64,
    },
}

/// Runs `gradwell restructure`, printing each step.
pub fn run(args: RestructureArgs) -> anyhow::Result<()> {
    let print = |steps: Vec<Step>| {
        for s in &steps {
            println!("{} -> {}", s.from.display(), s.to.display());
        }
        println!("{} moved", steps.len());
    };
    match args {
        RestructureArgs::Layout { path, from, to } => print(change_layout(&path, from, to)?),
        RestructureArgs::Rehash {
            base,
            from,
            to,
            users,
        } => {
            let text = fs::read_to_string(&users)
                .with_context(|| format!("reading {}", users.display()))?;
            let users: Vec<String> = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_owned)
                .collect();
            print(rehash(&base, &from, &to, &users)?);
        }
        RestructureArgs::Reshard {
            config,
            plan,
            wait_secs,
        } => {
            let text =
                fs::read_to_string(&plan).with_context(|| format!("reading {}", plan.display()))?;
            let config = Config::load(&config)?;
            for line in reshard(&config, &text, Duration::from_secs(wait_secs))? {
                println!("{line}");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_known_answers() {
        assert_eq!(
            expand("%u", "bob@example.test").unwrap(),
            "bob@example.test"
        );
        assert_eq!(
            expand("%d/%n", "bob@example.test").unwrap(),
            "example.test/bob"
        );
        assert_eq!(expand("%1n/%1.1n/%n", "bob").unwrap(), "b/o/bob");
        assert_eq!(expand("%2u/%u", "bob").unwrap(), "bo/bob");
        assert_eq!(expand("100%%", "x").unwrap(), "100%");
        assert!(expand("%d", "bob").is_err(), "no domain");
        assert!(expand("%x", "bob").is_err());
    }

    fn maildir(dir: &Path) {
        for sub in ["cur", "new", "tmp"] {
            fs::create_dir_all(dir.join(sub)).unwrap();
        }
    }

    #[test]
    fn layout_round_trip_keeps_every_file() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        maildir(root);
        for f in [".Sent", ".Archive.2024", ".Archive.2024.Q1", ".Lists"] {
            maildir(&root.join(f));
            fs::write(root.join(f).join("dovecot-uidlist"), f).unwrap();
        }
        let steps = change_layout(root, Layout::MaildirPlusPlus, Layout::Fs).unwrap();
        assert_eq!(steps.len(), 4);
        assert_eq!(
            fs::read_to_string(root.join("Archive/2024/Q1/dovecot-uidlist")).unwrap(),
            ".Archive.2024.Q1"
        );
        assert!(
            !root.join("Archive/cur").exists(),
            "a parent that was no folder"
        );
        // Again: nothing to do.
        assert!(
            change_layout(root, Layout::MaildirPlusPlus, Layout::Fs)
                .unwrap()
                .is_empty()
        );
        change_layout(root, Layout::Fs, Layout::MaildirPlusPlus).unwrap();
        for f in [".Sent", ".Archive.2024", ".Archive.2024.Q1", ".Lists"] {
            assert_eq!(
                fs::read_to_string(root.join(f).join("dovecot-uidlist")).unwrap(),
                f
            );
        }
        assert!(!root.join("Archive").exists());
    }

    #[test]
    fn rehash_moves_and_resumes() {
        let dir = tempfile::tempdir().unwrap();
        let users = ["alice".to_owned(), "bob".to_owned()];
        for u in &users {
            maildir(&dir.path().join(u));
        }
        // An earlier run moved alice and was killed.
        fs::create_dir_all(dir.path().join("a/l")).unwrap();
        fs::rename(dir.path().join("alice"), dir.path().join("a/l/alice")).unwrap();
        let steps = rehash(dir.path(), "%u", "%1u/%1.1u/%u", &users).unwrap();
        assert_eq!(steps.len(), 1);
        assert!(dir.path().join("b/o/bob/cur").is_dir());
        assert!(dir.path().join("a/l/alice/cur").is_dir());
        assert!(
            rehash(dir.path(), "%u", "%1u/%1.1u/%u", &users)
                .unwrap()
                .is_empty()
        );
    }
}
