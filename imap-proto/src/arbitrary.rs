//! proptest strategies that build every value through its validating constructor, for the
//! round-trip properties (encode → decode gives the value back, nothing left over).

use std::num::NonZeroU32;

use proptest::{collection::vec, option, prelude::*};

use crate::types::{
    command::{
        AppendData, AppendMessage, Base64, Command, CommandBody, ListPattern, ListReturnOption,
        ListSelectOption, SelectParameter, StoreKind,
    },
    core::{
        AString, Atom, AtomExt, IString, Literal, Literal8, LiteralMode, NString, NUMBER64_MAX,
        Number64, NzNumber64, Quoted, Tag,
    },
    datetime::{Date, DateTime},
    fetch::{FetchAttribute, FetchItems, Partial, Section, SectionText},
    flag::Flag,
    mailbox::Mailbox,
    non_empty::NonEmpty,
    search::{SearchKey, SearchReturnOption},
    secret::Secret,
    sequence::{SeqNumber, Sequence, SequenceSet},
    status::StatusItem,
};

pub(crate) fn non_empty<T: std::fmt::Debug>(
    item: impl Strategy<Value = T>,
    max: usize,
) -> impl Strategy<Value = NonEmpty<T>> {
    // vec(…, 1..) is never empty, so try_from cannot fail.
    vec(item, 1..=max).prop_map(|v| NonEmpty::try_from(v).unwrap_or_else(|_| unreachable!()))
}

pub(crate) fn tag() -> impl Strategy<Value = Tag> {
    "[A-Za-z0-9.]{1,6}".prop_map(|s| Tag::try_from(s.as_str()).unwrap())
}

pub(crate) fn atom() -> impl Strategy<Value = Atom> {
    "[A-Za-z0-9$_.=-]{1,8}".prop_map(|s| Atom::try_from(s.as_str()).unwrap())
}

pub(crate) fn number64() -> impl Strategy<Value = Number64> {
    (0..=NUMBER64_MAX).prop_map(|n| Number64::try_from(n).unwrap())
}

pub(crate) fn nz_number64() -> impl Strategy<Value = NzNumber64> {
    (1..=NUMBER64_MAX).prop_map(|n| NzNumber64::try_from(n).unwrap())
}

pub(crate) fn nz_u32() -> impl Strategy<Value = NonZeroU32> {
    (1..=u32::MAX).prop_map(|n| NonZeroU32::new(n).unwrap())
}

pub(crate) fn literal_mode() -> impl Strategy<Value = LiteralMode> {
    prop_oneof![Just(LiteralMode::Sync), Just(LiteralMode::NonSync)]
}

pub(crate) fn istring() -> impl Strategy<Value = IString> {
    prop_oneof![
        "[^\r\n\0]{0,10}".prop_map(|s| IString::Quoted(Quoted::try_from(s.as_str()).unwrap())),
        (vec(1u8..=255, 0..12), literal_mode())
            .prop_map(|(d, m)| IString::Literal(Literal::new(d, m).unwrap())),
    ]
}

pub(crate) fn astring() -> impl Strategy<Value = AString> {
    prop_oneof![
        "[A-Za-z0-9\\]\\[.!#-]{1,8}"
            .prop_map(|s| AString::Atom(AtomExt::try_from(s.as_str()).unwrap())),
        istring().prop_map(AString::String),
    ]
}

pub(crate) fn mailbox() -> impl Strategy<Value = Mailbox> {
    prop_oneof![
        Just(Mailbox::Inbox),
        "\\PC{0,8}".prop_map(|s| Mailbox::try_from(s.as_str()).unwrap()),
    ]
}

pub(crate) fn seq_number() -> impl Strategy<Value = SeqNumber> {
    prop_oneof![
        Just(SeqNumber::Largest),
        nz_u32().prop_map(SeqNumber::Value)
    ]
}

pub(crate) fn sequence_set() -> impl Strategy<Value = SequenceSet> {
    let sequence = prop_oneof![
        seq_number().prop_map(Sequence::Single),
        (seq_number(), seq_number()).prop_map(|(a, b)| Sequence::Range(a, b)),
    ];
    prop_oneof![
        Just(SequenceSet::LastResult),
        non_empty(sequence, 4).prop_map(SequenceSet::Set),
    ]
}

pub(crate) fn date() -> impl Strategy<Value = Date> {
    (0u16..=9999, 1u8..=12, 1u8..=28).prop_map(|(y, m, d)| Date::new(y, m, d).unwrap())
}

pub(crate) fn date_time() -> impl Strategy<Value = DateTime> {
    (date(), 0u8..24, 0u8..60, 0u8..=60, -5999i16..=5999)
        .prop_map(|(d, h, m, s, z)| DateTime::new(d, (h, m, s), z).unwrap())
}

pub(crate) fn flag() -> impl Strategy<Value = Flag> {
    prop_oneof![
        Just(Flag::Answered),
        Just(Flag::Flagged),
        Just(Flag::Deleted),
        Just(Flag::Seen),
        Just(Flag::Draft),
        atom().prop_map(Flag::Keyword),
        "X[a-z]{1,6}"
            .prop_map(|s| Flag::Extension(Atom::try_from(s.as_str()).unwrap().try_into().unwrap())),
    ]
}

fn status_item() -> impl Strategy<Value = StatusItem> {
    proptest::sample::select(StatusItem::ALL.map(|(item, _)| item).to_vec())
}

pub(crate) fn search_key() -> impl Strategy<Value = SearchKey> {
    let leaf = prop_oneof![
        proptest::sample::select(SearchKey::FLAGS.map(|(k, _)| k).to_vec()),
        astring().prop_map(SearchKey::Subject),
        astring().prop_map(SearchKey::Bcc),
        (astring(), astring()).prop_map(|(n, v)| SearchKey::Header(n, v)),
        date().prop_map(SearchKey::SentSince),
        date().prop_map(SearchKey::Before),
        atom().prop_map(SearchKey::Keyword),
        number64().prop_map(SearchKey::Larger),
        number64().prop_map(SearchKey::ModSeq),
        sequence_set().prop_map(SearchKey::Uid),
        sequence_set().prop_map(SearchKey::SequenceSet),
    ];
    leaf.prop_recursive(4, 16, 3, |inner| {
        prop_oneof![
            inner.clone().prop_map(|k| SearchKey::Not(Box::new(k))),
            (inner.clone(), inner.clone())
                .prop_map(|(a, b)| SearchKey::Or(Box::new(a), Box::new(b))),
            non_empty(inner, 3).prop_map(SearchKey::And),
        ]
    })
}

fn part() -> impl Strategy<Value = Vec<NonZeroU32>> {
    vec(nz_u32(), 0..3)
}

fn section() -> impl Strategy<Value = Section> {
    let text = prop_oneof![
        Just(SectionText::Header),
        Just(SectionText::Text),
        Just(SectionText::Mime),
        non_empty(astring(), 3).prop_map(SectionText::HeaderFields),
        non_empty(astring(), 3).prop_map(SectionText::HeaderFieldsNot),
    ];
    (part(), option::of(text))
        .prop_filter_map("MIME needs a part", |(p, t)| Section::new(p, t).ok())
}

fn partial() -> impl Strategy<Value = Partial> {
    (number64(), nz_number64()).prop_map(|(offset, length)| Partial { offset, length })
}

pub(crate) fn fetch_items() -> impl Strategy<Value = FetchItems> {
    let attribute = prop_oneof![
        proptest::sample::select(FetchAttribute::SIMPLE.map(|(a, _)| a).to_vec()),
        (any::<bool>(), section(), option::of(partial())).prop_map(|(peek, section, partial)| {
            FetchAttribute::BodySection {
                peek,
                section,
                partial,
            }
        }),
        (any::<bool>(), part(), option::of(partial())).prop_map(|(peek, part, partial)| {
            FetchAttribute::Binary {
                peek,
                part,
                partial,
            }
        }),
        part().prop_map(|part| FetchAttribute::BinarySize { part }),
    ];
    prop_oneof![
        Just(FetchItems::All),
        Just(FetchItems::Fast),
        Just(FetchItems::Full),
        non_empty(attribute, 4).prop_map(FetchItems::Attributes),
    ]
}

fn select_parameters() -> impl Strategy<Value = Vec<SelectParameter>> {
    let qresync = (
        nz_u32(),
        nz_number64(),
        option::of(sequence_set()),
        option::of((sequence_set(), sequence_set())),
    )
        .prop_map(
            |(uid_validity, mod_seq, known_uids, seq_match)| SelectParameter::QResync {
                uid_validity,
                mod_seq,
                known_uids,
                seq_match,
            },
        );
    vec(prop_oneof![Just(SelectParameter::CondStore), qresync], 0..2)
}

fn list_pattern() -> impl Strategy<Value = ListPattern> {
    vec(1u8..=255, 0..8).prop_map(|b| ListPattern::new(b).unwrap())
}

fn base64() -> impl Strategy<Value = Base64> {
    prop_oneof![
        Just(Base64::try_from("").unwrap()),
        "([A-Za-z0-9+/]{4}){1,3}([A-Za-z0-9+/]{2}==)?"
            .prop_map(|s| Base64::try_from(s.as_str()).unwrap()),
    ]
}

fn append_message() -> impl Strategy<Value = AppendMessage> {
    let data = prop_oneof![
        (vec(1u8..=255, 0..12), literal_mode())
            .prop_map(|(d, m)| AppendData::Literal(Literal::new(d, m).unwrap())),
        (vec(any::<u8>(), 0..12), literal_mode())
            .prop_map(|(data, mode)| AppendData::Binary(Literal8 { data, mode })),
    ];
    (option::of(vec(flag(), 0..3)), option::of(date_time()), data)
        .prop_map(|(flags, date, data)| AppendMessage { flags, date, data })
}

fn list_command() -> impl Strategy<Value = CommandBody> {
    let selection = prop_oneof![
        Just(vec![]),
        Just(vec![ListSelectOption::Subscribed]),
        Just(vec![
            ListSelectOption::SpecialUse,
            ListSelectOption::RecursiveMatch
        ]),
        Just(vec![ListSelectOption::Remote]),
    ];
    let return_option = prop_oneof![
        Just(ListReturnOption::Subscribed),
        Just(ListReturnOption::Children),
        Just(ListReturnOption::SpecialUse),
        non_empty(status_item(), 3).prop_map(ListReturnOption::Status),
    ];
    (
        selection,
        mailbox(),
        non_empty(list_pattern(), 3),
        option::of(vec(return_option, 0..3)),
    )
        .prop_map(
            |(selection, reference, patterns, return_options)| CommandBody::List {
                selection,
                reference,
                patterns,
                return_options,
            },
        )
}

fn message_command() -> impl Strategy<Value = CommandBody> {
    let store_kind = prop_oneof![
        Just(StoreKind::Replace),
        Just(StoreKind::Add),
        Just(StoreKind::Remove)
    ];
    prop_oneof![
        (
            any::<bool>(),
            option::of(vec(
                proptest::sample::select(SearchReturnOption::ALL.map(|(o, _)| o).to_vec()),
                0..3
            )),
            option::of(astring()),
            non_empty(search_key(), 3)
        )
            .prop_map(
                |(uid, return_options, charset, criteria)| CommandBody::Search {
                    uid,
                    return_options,
                    charset,
                    criteria
                }
            ),
        (
            any::<bool>(),
            sequence_set(),
            fetch_items(),
            option::of(nz_number64()),
            any::<bool>()
        )
            .prop_map(
                |(uid, set, items, changed_since, vanished)| CommandBody::Fetch {
                    uid,
                    set,
                    items,
                    vanished: vanished && uid && changed_since.is_some(),
                    changed_since,
                }
            ),
        (
            any::<bool>(),
            sequence_set(),
            option::of(number64()),
            store_kind,
            any::<bool>(),
            vec(flag(), 0..4)
        )
            .prop_map(|(uid, set, unchanged_since, kind, silent, flags)| {
                CommandBody::Store {
                    uid,
                    set,
                    unchanged_since,
                    kind,
                    silent,
                    flags,
                }
            }),
        (any::<bool>(), sequence_set(), mailbox())
            .prop_map(|(uid, set, mailbox)| CommandBody::Copy { uid, set, mailbox }),
        (any::<bool>(), sequence_set(), mailbox())
            .prop_map(|(uid, set, mailbox)| CommandBody::Move { uid, set, mailbox }),
        sequence_set().prop_map(CommandBody::UidExpunge),
    ]
}

fn mailbox_command() -> impl Strategy<Value = CommandBody> {
    prop_oneof![
        (mailbox(), select_parameters()).prop_map(|(mailbox, parameters)| CommandBody::Select {
            mailbox,
            parameters
        }),
        (mailbox(), select_parameters()).prop_map(|(mailbox, parameters)| CommandBody::Examine {
            mailbox,
            parameters
        }),
        (mailbox(), option::of(vec(atom(), 0..3))).prop_map(|(mailbox, special_use)| {
            CommandBody::Create {
                mailbox,
                special_use,
            }
        }),
        mailbox().prop_map(CommandBody::Delete),
        mailbox().prop_map(CommandBody::Subscribe),
        mailbox().prop_map(CommandBody::Unsubscribe),
        (mailbox(), mailbox()).prop_map(|(from, to)| CommandBody::Rename { from, to }),
        (mailbox(), list_pattern())
            .prop_map(|(reference, pattern)| CommandBody::Lsub { reference, pattern }),
        (mailbox(), non_empty(status_item(), 4))
            .prop_map(|(mailbox, items)| CommandBody::Status { mailbox, items }),
        (mailbox(), non_empty(append_message(), 3))
            .prop_map(|(mailbox, messages)| CommandBody::Append { mailbox, messages }),
        list_command(),
    ]
}

fn session_command() -> impl Strategy<Value = CommandBody> {
    prop_oneof![
        Just(CommandBody::Capability),
        Just(CommandBody::Noop),
        Just(CommandBody::Logout),
        Just(CommandBody::StartTls),
        Just(CommandBody::Namespace),
        Just(CommandBody::Idle),
        Just(CommandBody::Check),
        Just(CommandBody::Close),
        Just(CommandBody::Unselect),
        Just(CommandBody::Expunge),
        Just(CommandBody::Unauthenticate),
        (atom(), option::of(base64())).prop_map(|(mechanism, ir)| CommandBody::Authenticate {
            mechanism,
            initial_response: ir.map(Secret::new),
        }),
        (astring(), astring()).prop_map(|(username, password)| CommandBody::Login {
            username,
            password: Secret::new(password),
        }),
        non_empty(atom(), 3).prop_map(CommandBody::Enable),
        option::of(vec(
            (istring(), istring().prop_map(Some).prop_map(NString)),
            0..3
        ))
        .prop_map(CommandBody::Id),
        atom().prop_map(CommandBody::Compress),
    ]
}

pub(crate) fn command() -> impl Strategy<Value = Command> {
    (
        tag(),
        prop_oneof![session_command(), mailbox_command(), message_command()],
    )
        .prop_map(|(tag, body)| Command::new(tag, body))
}
