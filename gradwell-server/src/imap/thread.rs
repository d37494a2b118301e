//! THREAD (RFC 5256 §3, "BASE.6.4.THREAD"): ORDEREDSUBJECT, and REFERENCES: parent links
//! from Message-ID, References and In-Reply-To, placeholders pruned, then root threads
//! merged by base subject (step 5), siblings in date order.

use std::{collections::HashMap, num::NonZeroU32};

use imap_proto::types::{
    response::Data,
    search::SearchKey,
    sort::{Thread, ThreadAlgorithm},
};

use super::{
    Reply, Session,
    base_subject::BaseSubject,
    mime,
    search::{Keyed, base_subject, sent},
};

/// Message IDs in a header value: every `<...>`.
fn ids(value: &str) -> Vec<String> {
    value
        .split('<')
        .skip(1)
        .filter_map(|s| s.split_once('>').map(|(id, _)| id.trim().to_owned()))
        .filter(|id| !id.is_empty())
        .collect()
}

/// One node of the REFERENCES tree: a message, or a placeholder for an unseen parent.
#[derive(Debug, Default)]
struct Node {
    message: Option<usize>,
    parent: Option<usize>,
    children: Vec<usize>,
}

/// Whether `ancestor` is `node` or above it (so linking would make a loop).
fn is_ancestor(nodes: &[Node], ancestor: usize, mut node: usize) -> bool {
    let mut steps = 0;
    loop {
        if node == ancestor {
            return true;
        }
        match nodes[node].parent {
            Some(p) if steps < nodes.len() => {
                node = p;
                steps += 1;
            }
            _ => return false,
        }
    }
}

fn link(nodes: &mut [Node], parent: usize, child: usize) {
    if nodes[child].parent.is_some() || is_ancestor(nodes, child, parent) {
        return;
    }
    nodes[child].parent = Some(parent);
    nodes[parent].children.push(child);
}

/// RFC 5256 §3 REFERENCES steps 1 to 6: link, gather the root set, prune placeholders, sort
/// by date, merge by subject, sort siblings. Returns the root threads.
fn references(messages: &[Keyed], number: &dyn Fn(&Keyed) -> u32) -> Vec<Thread> {
    let mut nodes: Vec<Node> = Vec::new();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    fn node_for(nodes: &mut Vec<Node>, by_id: &mut HashMap<String, usize>, id: &str) -> usize {
        *by_id.entry(id.to_owned()).or_insert_with(|| {
            nodes.push(Node::default());
            nodes.len() - 1
        })
    }
    for (i, m) in messages.iter().enumerate() {
        let own = mime::field(&m.2, "Message-ID").and_then(|v| ids(v).into_iter().next());
        // A duplicate or missing Message-ID gets a node of its own.
        let me = match own {
            Some(id) if by_id.get(&id).is_none_or(|n| nodes[*n].message.is_none()) => {
                node_for(&mut nodes, &mut by_id, &id)
            }
            _ => {
                nodes.push(Node::default());
                nodes.len() - 1
            }
        };
        nodes[me].message = Some(i);
        let mut chain = mime::field(&m.2, "References").map(ids).unwrap_or_default();
        if chain.is_empty() {
            chain = mime::field(&m.2, "In-Reply-To")
                .map(ids)
                .unwrap_or_default()
                .into_iter()
                .take(1)
                .collect();
        }
        let chain: Vec<usize> = chain
            .iter()
            .map(|id| node_for(&mut nodes, &mut by_id, id))
            .collect();
        for pair in chain.windows(2) {
            link(&mut nodes, pair[0], pair[1]);
        }
        if let Some(parent) = chain.last() {
            // The message's own References decide its parent (RFC 5256 §3 REFERENCES
            // step 1.B).
            if let Some(old) = nodes[me].parent.take() {
                nodes[old].children.retain(|c| *c != me);
            }
            link(&mut nodes, *parent, me);
        }
    }
    let date = |nodes: &[Node], n: usize| -> i64 {
        first_message(nodes, n).map_or(i64::MAX, |m| sent(&messages[m]))
    };
    let roots: Vec<usize> = (0..nodes.len())
        .filter(|n| nodes[*n].parent.is_none())
        .collect();
    let mut roots = prune(&mut nodes, roots);
    // Step 4: "Sort the messages under the root (top-level siblings only) by sent date".
    roots.sort_by_key(|r| (date(&nodes, *r), *r));
    let subject = |nodes: &[Node], n: usize| {
        first_message(nodes, n).map(|m| {
            super::base_subject::extract(mime::field(&messages[m].2, "Subject").unwrap_or(""))
        })
    };
    let mut roots = merge_by_subject(&mut nodes, roots, &subject);
    // Step 6 sorts every set of siblings, the root set too, by sent date.
    roots.sort_by_key(|r| (date(&nodes, *r), *r));
    roots
        .into_iter()
        .flat_map(|r| build(&nodes, r, messages, number, &date))
        .collect()
}

/// The message that dates and names node `n`: its own, or for a placeholder its earliest
/// child's (RFC 5256 §3 REFERENCES step 4: "sort its children by sent date and then use the
/// first child for the top-level sort"; step 5 (B)(i) takes the subject from "its first
/// child if the current message is a dummy"; message indices are in arrival order, so the
/// earliest is the smallest date, then index).
fn first_message(nodes: &[Node], n: usize) -> Option<usize> {
    nodes[n].message.or_else(|| {
        nodes[n]
            .children
            .iter()
            .filter_map(|c| first_message(nodes, *c))
            .min()
    })
}

/// Step 3, "Prune dummy messages from the thread tree": a placeholder without children goes;
/// one with children is replaced by them, except at the root where it stays when it has
/// several ("Do not promote the children if doing so would make them children of the root,
/// unless there is only one child."). Returns the new root set.
fn prune(nodes: &mut [Node], roots: Vec<usize>) -> Vec<usize> {
    let mut out = Vec::new();
    for root in roots {
        let children = pruned_children(nodes, root);
        nodes[root].children.clone_from(&children);
        match (nodes[root].message, children.as_slice()) {
            (None, []) => {}
            (None, [only]) => {
                nodes[*only].parent = None;
                out.push(*only);
            }
            _ => out.push(root),
        }
    }
    out
}

/// The children of `top` with placeholders below it replaced by their own (pruned) children;
/// message nodes below get their pruned children too. Children first, without recursion.
fn pruned_children(nodes: &mut [Node], top: usize) -> Vec<usize> {
    let mut lifted: HashMap<usize, Vec<usize>> = HashMap::new();
    let order = pre_order(nodes, top);
    for &n in order.iter().rev() {
        let mut kept = Vec::new();
        for child in std::mem::take(&mut nodes[n].children) {
            if nodes[child].message.is_some() {
                kept.push(child);
            } else {
                let grandchildren = lifted.remove(&child).unwrap_or_default();
                for g in &grandchildren {
                    nodes[*g].parent = Some(n);
                }
                kept.extend(grandchildren);
            }
        }
        if n == top || nodes[n].message.is_none() {
            lifted.insert(n, kept);
        } else {
            nodes[n].children = kept;
        }
    }
    lifted.remove(&top).unwrap_or_default()
}

/// Step 5, "Gather together messages under the root that have the same base subject text."
fn merge_by_subject(
    nodes: &mut Vec<Node>,
    roots: Vec<usize>,
    subject: &dyn Fn(&[Node], usize) -> Option<BaseSubject>,
) -> Vec<usize> {
    let is_dummy = |nodes: &[Node], n: usize| nodes[n].message.is_none();
    // (A) The thread subject is the base subject of the root message, or of a dummy's first
    // child; "If the thread subject is empty, skip this message."
    let subjects: Vec<Option<BaseSubject>> = roots
        .iter()
        .map(|r| subject(nodes, *r).filter(|s| !s.text.is_empty()))
        .collect();
    // (B) The subject table: one root per base subject, preferring a dummy, then a message
    // that is not a reply or forward.
    let mut table: HashMap<&str, (usize, bool)> = HashMap::new();
    for (root, s) in roots.iter().zip(&subjects) {
        let Some(s) = s else { continue };
        match table.get(s.text.as_str()) {
            None => {
                table.insert(&s.text, (*root, s.reply));
            }
            // (B) Replace the table's message when it is not a dummy and either the current
            // message is a dummy, or the table's is a reply or forward and the current one is
            // not.
            Some((old, old_reply))
                if !is_dummy(nodes, *old)
                    && (is_dummy(nodes, *root) || (*old_reply && !s.reply)) =>
            {
                table.insert(&s.text, (*root, s.reply));
            }
            Some(_) => {}
        }
    }
    // (C) Merge every other root with the same subject into the table's.
    let mut replaced: HashMap<usize, usize> = HashMap::new();
    let first_dummy = nodes.len();
    for (root, s) in roots.iter().copied().zip(&subjects) {
        let Some((entry, entry_reply)) = s.as_ref().and_then(|s| table.get(s.text.as_str())) else {
            continue;
        };
        let entry = replaced.get(entry).copied().unwrap_or(*entry);
        // A table root already gathered under a new dummy with an earlier root is done.
        if entry == root || nodes[root].parent.is_some() {
            continue;
        }
        let current_reply = s.as_ref().is_some_and(|s| s.reply);
        if is_dummy(nodes, entry) && is_dummy(nodes, root) {
            // Two dummies: the current one's children join the table's dummy.
            for child in std::mem::take(&mut nodes[root].children) {
                nodes[child].parent = Some(entry);
                nodes[entry].children.push(child);
            }
        } else if is_dummy(nodes, entry) || (current_reply && !entry_reply) {
            // Into the table's dummy; or a reply or forward under the table's message when
            // that is not one.
            nodes[root].parent = Some(entry);
            nodes[entry].children.push(root);
        } else {
            // Otherwise both go under a new dummy, which takes the table entry's place.
            nodes.push(Node::default());
            let dummy = nodes.len() - 1;
            for child in [entry, root] {
                nodes[child].parent = Some(dummy);
                nodes[dummy].children.push(child);
            }
            replaced.insert(entry, dummy);
        }
    }
    // What is left at the root: untouched roots, and the dummies made here, minus merged
    // roots and emptied dummies.
    roots
        .into_iter()
        .chain(first_dummy..nodes.len())
        .filter(|n| {
            nodes[*n].parent.is_none()
                && (nodes[*n].message.is_some() || !nodes[*n].children.is_empty())
        })
        .collect()
}

/// Nodes of the tree under `top`, parents before children. Iterative: a chain of replies can
/// be as long as the mailbox (hostile mail included), too deep for recursion.
fn pre_order(nodes: &[Node], top: usize) -> Vec<usize> {
    let mut order = Vec::new();
    let mut stack = vec![top];
    while let Some(n) = stack.pop() {
        order.push(n);
        stack.extend(nodes[n].children.iter().copied());
    }
    order
}

/// The threads below `top`: itself when it holds a message, else its children (a
/// placeholder at the root with several children stays as a nested group), with siblings in
/// date order (RFC 5256 §3 REFERENCES step 6). Built children first, without recursion.
fn build(
    nodes: &[Node],
    top: usize,
    messages: &[Keyed],
    number: &dyn Fn(&Keyed) -> u32,
    date: &dyn Fn(&[Node], usize) -> i64,
) -> Vec<Thread> {
    let mut built: HashMap<usize, Vec<Thread>> = HashMap::new();
    for n in pre_order(nodes, top).into_iter().rev() {
        let mut children = nodes[n].children.clone();
        children.sort_by_key(|c| (date(nodes, *c), *c));
        let below: Vec<Thread> = children
            .into_iter()
            .flat_map(|c| built.remove(&c).unwrap_or_default())
            .collect();
        let threads = match nodes[n].message {
            None if n == top && below.len() >= 2 => Thread::nested(below).into_iter().collect(),
            None => below,
            Some(m) => match NonZeroU32::new(number(&messages[m])) {
                Some(me) => vec![join(me, below)],
                None => below,
            },
        };
        built.insert(n, threads);
    }
    built.remove(&top).unwrap_or_default()
}

/// `me` followed by its replies: one reply continues the chain, several branch.
fn join(me: NonZeroU32, below: Vec<Thread>) -> Thread {
    let mut below = below;
    if below.len() == 1
        && let Some(Thread::Members { chain, branches }) = below.pop()
    {
        let mut full = vec![me];
        full.extend(chain);
        return Thread::members(full.clone(), branches.clone()).unwrap_or(Thread::Members {
            chain: full,
            branches,
        });
    }
    Thread::members(vec![me], below.clone()).unwrap_or(Thread::Members {
        chain: vec![me],
        branches: below,
    })
}

/// RFC 5256 §3 ORDEREDSUBJECT: by base subject, then date; each group's later messages
/// are replies to its first.
fn ordered_subject(messages: &[Keyed], number: &dyn Fn(&Keyed) -> u32) -> Vec<Thread> {
    let mut order: Vec<(String, i64, usize)> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let subject = base_subject(mime::field(&m.2, "Subject").unwrap_or(""));
            (subject, sent(m), i)
        })
        .collect();
    order.sort();
    let mut groups: Vec<Vec<(i64, usize)>> = Vec::new();
    let mut last: Option<&str> = None;
    for (subject, date, i) in &order {
        if last != Some(subject.as_str()) {
            groups.push(Vec::new());
            last = Some(subject.as_str());
        }
        if let Some(g) = groups.last_mut() {
            g.push((*date, *i));
        }
    }
    groups.sort_by_key(|g| g.first().copied());
    groups
        .into_iter()
        .filter_map(|g| {
            let mut ids = g
                .iter()
                .filter_map(|(_, i)| NonZeroU32::new(number(&messages[*i])));
            let first = ids.next()?;
            let replies: Vec<Thread> = ids
                .map(|n| Thread::Members {
                    chain: vec![n],
                    branches: Vec::new(),
                })
                .collect();
            Some(join(first, replies))
        })
        .collect()
}

impl Session {
    pub(super) fn thread(
        &mut self,
        uid_mode: bool,
        algorithm: &ThreadAlgorithm,
        search: &[SearchKey],
    ) -> Reply {
        let messages = match self.with_headers(search, true) {
            Ok(m) => m,
            Err(r) => return r,
        };
        let number = |k: &Keyed| if uid_mode { k.1.uid.get() } else { k.0 };
        let threads = match algorithm {
            ThreadAlgorithm::OrderedSubject => ordered_subject(&messages, &number),
            ThreadAlgorithm::References => references(&messages, &number),
            ThreadAlgorithm::Other(_) => return Reply::bad("unknown threading algorithm"),
        };
        self.data(Data::Thread(threads));
        Reply::ok("THREAD completed")
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use maildir_store::{Flags, MessageMeta, ModSeq, Uid};

    use super::*;

    fn msg(seq: u32, headers: &[(&str, &str)]) -> Keyed {
        let meta = MessageMeta::new(
            Uid::new(seq).unwrap(), // Unwrap: test numbers are nonzero.
            Flags::new(),
            10,
            UNIX_EPOCH + Duration::from_secs(u64::from(seq) * 60),
            ModSeq::new(1),
        );
        let fields = headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        (seq, meta, fields)
    }

    fn show(threads: &[Thread]) -> String {
        fn one(t: &Thread, out: &mut String) {
            out.push('(');
            match t {
                Thread::Members { chain, branches } => {
                    let nums: Vec<String> = chain.iter().map(|n| n.to_string()).collect();
                    out.push_str(&nums.join(" "));
                    for b in branches {
                        out.push(' ');
                        one(b, out);
                    }
                }
                Thread::Nested(ts) => ts.iter().for_each(|t| one(t, out)),
            }
            out.push(')');
        }
        let mut out = String::new();
        threads.iter().for_each(|t| one(t, &mut out));
        out
    }

    #[test]
    fn references_known_answer() {
        let messages = [
            msg(1, &[("Message-ID", "<a>"), ("Subject", "x")]),
            msg(2, &[("Message-ID", "<b>"), ("References", "<a>")]),
            msg(3, &[("Message-ID", "<c>"), ("References", "<a> <b>")]),
            msg(4, &[("Message-ID", "<d>"), ("In-Reply-To", "<a>")]),
            msg(5, &[("Message-ID", "<e>")]),
        ];
        let got = references(&messages, &|k| k.0);
        assert_eq!(show(&got), "(1 (2 3) (4))(5)");
    }

    type Headers<'a> = &'a [(&'a str, &'a str)];

    /// RFC 5256 §3 REFERENCES step 5 (C), one case each.
    #[test]
    fn references_merge_threads_by_subject() {
        let table: &[(&[Headers], &str)] = &[
            // A reply goes under the original it shares a subject with.
            (
                &[
                    &[("Message-ID", "<a>"), ("Subject", "Lunch")],
                    &[("Message-ID", "<b>"), ("Subject", "Re: lunch")],
                ],
                "(1 2)",
            ),
            // (B): a non-reply replaces a reply in the table, so the earlier reply goes
            // below the later original.
            (
                &[
                    &[("Message-ID", "<a>"), ("Subject", "Fwd: x")],
                    &[("Message-ID", "<b>"), ("Subject", "x")],
                ],
                "(2 1)",
            ),
            // Two originals with one subject go under a new dummy.
            (
                &[
                    &[("Message-ID", "<a>"), ("Subject", "Party")],
                    &[("Message-ID", "<b>"), ("Subject", "[club] party")],
                ],
                "((1)(2))",
            ),
            // A dummy in the table (two replies to an unseen <p>) takes the others in.
            (
                &[
                    &[
                        ("Message-ID", "<a>"),
                        ("References", "<p>"),
                        ("Subject", "s"),
                    ],
                    &[
                        ("Message-ID", "<b>"),
                        ("References", "<p>"),
                        ("Subject", "Re: s"),
                    ],
                    &[("Message-ID", "<c>"), ("Subject", "Re: s")],
                ],
                "((1)(2)(3))",
            ),
            // Two dummies with one subject: the children of the second join the first.
            (
                &[
                    &[
                        ("Message-ID", "<a>"),
                        ("References", "<p>"),
                        ("Subject", "t"),
                    ],
                    &[
                        ("Message-ID", "<b>"),
                        ("References", "<p>"),
                        ("Subject", "t"),
                    ],
                    &[
                        ("Message-ID", "<c>"),
                        ("References", "<q>"),
                        ("Subject", "Re: t"),
                    ],
                    &[
                        ("Message-ID", "<d>"),
                        ("References", "<q>"),
                        ("Subject", "t"),
                    ],
                ],
                "((1)(2)(3)(4))",
            ),
            // "If the thread subject is empty, skip this message."
            (
                &[
                    &[("Message-ID", "<a>")],
                    &[("Message-ID", "<b>"), ("Subject", "Re:")],
                ],
                "(1)(2)",
            ),
            // Linked threads are not split; merged roots keep their replies.
            (
                &[
                    &[("Message-ID", "<a>"), ("Subject", "plan")],
                    &[("Message-ID", "<b>"), ("Subject", "other")],
                    &[
                        ("Message-ID", "<c>"),
                        ("Subject", "Re: plan"),
                        ("References", "<x>"),
                    ],
                    &[
                        ("Message-ID", "<d>"),
                        ("Subject", "Re: plan"),
                        ("In-Reply-To", "<c>"),
                    ],
                ],
                "(1 3 4)(2)",
            ),
        ];
        for (headers, expected) in table {
            let messages: Vec<Keyed> = headers
                .iter()
                .zip(1..)
                .map(|(h, seq)| msg(seq, h))
                .collect();
            let got = references(&messages, &|k| k.0);
            assert_eq!(show(&got), *expected, "{headers:?}");
        }
    }

    /// A reply chain as long as the mailbox (hostile mail can make one) is threaded without
    /// recursion: it fits a thread with a 256 KiB stack.
    #[test]
    fn long_reply_chains_need_no_deep_stack() {
        let messages: Vec<Keyed> = (1..=5_000u32)
            .map(|seq| {
                let id = format!("<m{seq}>");
                let parent = format!("<m{}>", seq - 1);
                msg(seq, &[("Message-ID", &id), ("In-Reply-To", &parent)])
            })
            .collect();
        let shown = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || show(&references(&messages, &|k| k.0)))
            .unwrap()
            .join()
            .unwrap();
        let expected: Vec<String> = (1..=5_000u32).map(|n| n.to_string()).collect();
        assert_eq!(shown, format!("({})", expected.join(" ")));
    }

    #[test]
    fn reference_loops_are_ignored() {
        let messages = [
            msg(1, &[("Message-ID", "<a>"), ("References", "<b>")]),
            msg(2, &[("Message-ID", "<b>"), ("References", "<a>")]),
        ];
        let got = references(&messages, &|k| k.0);
        assert_eq!(show(&got), "(2 1)");
    }

    #[test]
    fn ordered_subject_known_answer() {
        let messages = [
            msg(1, &[("Subject", "Hello")]),
            msg(2, &[("Subject", "other")]),
            msg(3, &[("Subject", "Re: hello")]),
            msg(4, &[("Subject", "hello")]),
        ];
        let got = ordered_subject(&messages, &|k| k.0);
        assert_eq!(show(&got), "(1 (3) (4))(2)");
    }
}
