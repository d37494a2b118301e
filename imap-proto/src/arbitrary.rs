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
    quota::{QuotaLimit, QuotaResource},
    search::{EntryType, ModSeqEntry, SearchKey, SearchReturnOption},
    secret::Secret,
    sequence::{SeqNumber, Sequence, SequenceSet},
    sort::{SortCriterion, SortKey, Thread, ThreadAlgorithm},
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
        // No controls, U+2028 or U+2029, which no mailbox name may hold (RFC 6855 §3).
        "[^\\p{C}\u{2028}\u{2029}]{0,8}".prop_map(|s| Mailbox::try_from(s.as_str()).unwrap()),
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
        (
            option::of((
                flag(),
                prop_oneof![
                    Just(EntryType::Private),
                    Just(EntryType::Shared),
                    Just(EntryType::All)
                ]
            )),
            number64()
        )
            .prop_map(|(entry, value)| SearchKey::ModSeq {
                entry: entry.map(|(flag, kind)| ModSeqEntry { flag, kind }),
                value
            }),
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
        (vec(any::<u8>(), 0..12), literal_mode())
            .prop_map(|(data, mode)| AppendData::Utf8(Literal8 { data, mode })),
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
        (
            any::<bool>(),
            non_empty(sort_criterion(), 3),
            astring(),
            non_empty(search_key(), 2)
        )
            .prop_map(|(uid, criteria, charset, search)| CommandBody::Sort {
                uid,
                criteria,
                charset,
                search
            }),
        (any::<bool>(), atom(), astring(), non_empty(search_key(), 2)).prop_map(
            |(uid, name, charset, search)| {
                CommandBody::Thread {
                    uid,
                    algorithm: ThreadAlgorithm::from_atom(name),
                    charset,
                    search,
                }
            }
        ),
        astring().prop_map(CommandBody::GetQuota),
        mailbox().prop_map(CommandBody::GetQuotaRoot),
        (
            astring(),
            vec(
                (atom(), number64()).prop_map(|(name, limit)| QuotaLimit { name, limit }),
                0..3
            )
        )
            .prop_map(|(root, limits)| CommandBody::SetQuota { root, limits }),
    ]
}

fn sort_criterion() -> impl Strategy<Value = SortCriterion> {
    (
        any::<bool>(),
        proptest::sample::select(SortKey::ALL.map(|(k, _)| k).to_vec()),
    )
        .prop_map(|(reverse, key)| SortCriterion { reverse, key })
}

pub(crate) fn thread() -> impl Strategy<Value = Thread> {
    let leaf = vec(nz_u32(), 1..3).prop_map(|chain| Thread::members(chain, vec![]).unwrap());
    leaf.prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            vec(inner.clone(), 2..4).prop_map(|t| Thread::nested(t).unwrap()),
            (vec(nz_u32(), 1..3), vec(inner, 2..4))
                .prop_map(|(chain, branches)| Thread::members(chain, branches).unwrap()),
        ]
    })
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

// Responses.

use crate::types::{
    body::{
        Body, BodyExtension, BodyFields, BodyKind, BodyStructure, Disposition, ExtensionTail,
        LanguageTail, LocationTail, MultiPartExtension, SinglePartExtension,
    },
    envelope::{Address, Envelope},
    flag::{FlagFetch, FlagPerm},
    response::{
        BinaryData, Code, Continuation, Data, ESearchItem, FetchData, Greeting, GreetingKind,
        ListExtendedItem, ListItem, NamespaceEntry, OtherCode, Response, ResponseText, SimpleCode,
        StatusKind, Tagged, TaggedExtComp, TaggedExtSimple, TaggedExtValue, Text,
    },
};

fn text() -> impl Strategy<Value = Text> {
    "([A-Za-z0-9,.!-][A-Za-z0-9 ,.!-]{0,10})?".prop_map(|s| Text::try_from(s.as_str()).unwrap())
}

fn nstring() -> impl Strategy<Value = NString> {
    option::of(istring()).prop_map(NString)
}

fn code() -> impl Strategy<Value = Code> {
    prop_oneof![
        proptest::sample::select(SimpleCode::ALL.map(|(c, _)| c).to_vec()).prop_map(Code::Simple),
        vec(astring(), 0..3).prop_map(Code::BadCharset),
        non_empty(atom(), 3).prop_map(Code::Capability),
        vec(
            prop_oneof![Just(FlagPerm::Asterisk), flag().prop_map(FlagPerm::Flag)],
            0..3
        )
        .prop_map(Code::PermanentFlags),
        nz_u32().prop_map(Code::UidNext),
        nz_u32().prop_map(Code::UidValidity),
        nz_u32().prop_map(Code::Unseen),
        (nz_u32(), sequence_set())
            .prop_map(|(uid_validity, uids)| Code::AppendUid { uid_validity, uids }),
        (nz_u32(), sequence_set(), sequence_set()).prop_map(
            |(uid_validity, source, destination)| {
                Code::CopyUid {
                    uid_validity,
                    source,
                    destination,
                }
            }
        ),
        nz_number64().prop_map(Code::HighestModSeq),
        sequence_set().prop_map(Code::Modified),
        (regex("X[A-Z]{1,6}"), option::of(regex("[a-z0-9 ()]{1,6}"))).prop_map(|(name, args)| {
            Code::Other(OtherCode::new(Atom::try_from(name.as_str()).unwrap(), args).unwrap())
        }),
    ]
}

fn response_text() -> impl Strategy<Value = ResponseText> {
    (option::of(code()), text()).prop_map(|(code, text)| ResponseText { code, text })
}

fn address() -> impl Strategy<Value = Address> {
    (nstring(), nstring(), nstring(), nstring()).prop_map(|(name, adl, mailbox, host)| Address {
        name,
        adl,
        mailbox,
        host,
    })
}

fn envelope() -> impl Strategy<Value = Envelope> {
    let list = || vec(address(), 0..3);
    (
        (nstring(), nstring(), list(), list(), list()),
        (list(), list(), list(), nstring(), nstring()),
    )
        .prop_map(
            |((date, subject, from, sender, reply_to), (to, cc, bcc, in_reply_to, message_id))| {
                Envelope {
                    date,
                    subject,
                    from,
                    sender,
                    reply_to,
                    to,
                    cc,
                    bcc,
                    in_reply_to,
                    message_id,
                }
            },
        )
}

fn quoted(text: &str) -> IString {
    IString::Quoted(Quoted::try_from(text).unwrap())
}

fn parameters() -> impl Strategy<Value = Vec<(IString, IString)>> {
    vec((istring(), istring()), 0..3)
}

fn body_fields() -> impl Strategy<Value = BodyFields> {
    (parameters(), nstring(), nstring(), istring(), any::<u32>()).prop_map(
        |(parameters, id, description, encoding, octets)| BodyFields {
            parameters,
            id,
            description,
            encoding,
            octets,
        },
    )
}

fn body_extension() -> impl Strategy<Value = BodyExtension> {
    let leaf = prop_oneof![
        nstring().prop_map(BodyExtension::NString),
        number64().prop_map(BodyExtension::Number),
    ];
    leaf.prop_recursive(2, 6, 3, |inner| {
        non_empty(inner, 3).prop_map(BodyExtension::List)
    })
}

fn extension_tail() -> impl Strategy<Value = ExtensionTail> {
    let disposition = option::of(
        (istring(), parameters()).prop_map(|(kind, parameters)| Disposition { kind, parameters }),
    );
    let location = option::of((nstring(), vec(body_extension(), 0..2)).prop_map(
        |(location, extensions)| LocationTail {
            location,
            extensions,
        },
    ));
    let language = option::of((vec(istring(), 0..3), location).prop_map(
        |(languages, location)| LanguageTail {
            languages,
            location,
        },
    ));
    (disposition, language).prop_map(|(disposition, language)| ExtensionTail {
        disposition,
        language,
    })
}

fn regex(pattern: &str) -> impl Strategy<Value = String> + use<> {
    proptest::string::string_regex(pattern).unwrap()
}

fn single_ext() -> BoxedStrategy<Option<SinglePartExtension>> {
    option::of(
        (nstring(), option::of(extension_tail()))
            .prop_map(|(md5, tail)| SinglePartExtension { md5, tail }),
    )
    .boxed()
}

pub(crate) fn body_structure() -> impl Strategy<Value = BodyStructure> {
    let basic = (
        prop_oneof![Just("IMAGE"), Just("APPLICATION"), Just("MESSAGE")],
        prop_oneof![Just("PNG"), Just("PDF"), Just("DELIVERY-STATUS")],
        body_fields(),
        single_ext(),
    )
        .prop_map(|(t, s, fields, extension)| BodyStructure::Single {
            body: Box::new(Body::new(quoted(t), quoted(s), fields, BodyKind::Basic).unwrap()),
            extension,
        });
    let text = (regex("[A-Z]{1,5}"), body_fields(), number64(), single_ext()).prop_map(
        |(subtype, fields, lines, extension)| BodyStructure::Single {
            body: Box::new(
                Body::new(
                    quoted("TEXT"),
                    quoted(&subtype),
                    fields,
                    BodyKind::Text { lines },
                )
                .unwrap(),
            ),
            extension,
        },
    );
    let leaf = prop_oneof![basic, text];
    leaf.prop_recursive(3, 8, 3, move |inner| {
        let multi_ext = option::of(
            (parameters(), option::of(extension_tail()))
                .prop_map(|(parameters, tail)| MultiPartExtension { parameters, tail }),
        );
        prop_oneof![
            (non_empty(inner.clone(), 3), regex("[A-Z]{1,6}"), multi_ext).prop_map(
                |(parts, subtype, extension)| {
                    BodyStructure::Multi {
                        parts,
                        subtype: quoted(&subtype),
                        extension,
                    }
                }
            ),
            (body_fields(), envelope(), inner, number64(), single_ext()).prop_map(
                |(fields, envelope, body, lines, extension)| {
                    BodyStructure::Single {
                        body: Box::new(
                            Body::new(
                                quoted("MESSAGE"),
                                quoted("RFC822"),
                                fields,
                                BodyKind::Message {
                                    envelope: Box::new(envelope),
                                    body: Box::new(body),
                                    lines,
                                },
                            )
                            .unwrap(),
                        ),
                        extension,
                    }
                },
            ),
        ]
    })
}

fn fetch_data() -> impl Strategy<Value = FetchData> {
    prop_oneof![
        vec(
            prop_oneof![Just(FlagFetch::Recent), flag().prop_map(FlagFetch::Flag)],
            0..3
        )
        .prop_map(FetchData::Flags),
        envelope().prop_map(|e| FetchData::Envelope(Box::new(e))),
        date_time().prop_map(FetchData::InternalDate),
        number64().prop_map(FetchData::Rfc822Size),
        nstring().prop_map(FetchData::Rfc822),
        nstring().prop_map(FetchData::Rfc822Header),
        nstring().prop_map(FetchData::Rfc822Text),
        body_structure().prop_map(|b| FetchData::BodyStructure(Box::new(b))),
        body_structure().prop_map(|b| FetchData::Body(Box::new(b))),
        (section(), option::of(number64()), nstring()).prop_map(|(section, origin, data)| {
            FetchData::BodySection {
                section,
                origin,
                data,
            }
        }),
        (
            part(),
            option::of(prop_oneof![
                istring().prop_map(BinaryData::String),
                (vec(any::<u8>(), 0..8), literal_mode())
                    .prop_map(|(data, mode)| BinaryData::Literal8(Literal8 { data, mode })),
            ])
        )
            .prop_map(|(part, data)| FetchData::Binary { part, data }),
        (part(), number64()).prop_map(|(part, size)| FetchData::BinarySize { part, size }),
        nz_u32().prop_map(FetchData::Uid),
        nz_number64().prop_map(FetchData::ModSeq),
    ]
}

fn delimiter() -> impl Strategy<Value = Option<char>> {
    option::of(proptest::sample::select(vec!['/', '.', '"', '\\', 'ä']))
}

fn tagged_ext_value() -> impl Strategy<Value = TaggedExtValue> {
    let leaf = astring().prop_map(TaggedExtComp::String);
    let comp = leaf.prop_recursive(3, 12, 3, |inner| {
        non_empty(inner, 3).prop_map(TaggedExtComp::List)
    });
    prop_oneof![
        number64().prop_map(|n| TaggedExtValue::Simple(TaggedExtSimple::Number(n))),
        // A set of one number reads back as a number.
        sequence_set()
            .prop_filter("not a plain number", |set| {
                !crate::encode::to_bytes(set).iter().all(u8::is_ascii_digit)
            })
            .prop_map(|set| TaggedExtValue::Simple(TaggedExtSimple::Set(set))),
        vec(comp, 0..3).prop_map(TaggedExtValue::Comp),
    ]
}

fn list_item() -> impl Strategy<Value = ListItem> {
    let extended = vec(
        prop_oneof![
            non_empty(istring(), 2).prop_map(ListExtendedItem::ChildInfo),
            mailbox().prop_map(ListExtendedItem::OldName),
            ("X-[A-Z]{1,6}", tagged_ext_value()).prop_map(|(tag, value)| {
                ListExtendedItem::Other {
                    tag: AString::try_from(tag.as_str()).unwrap(),
                    value,
                }
            }),
        ],
        0..2,
    );
    (vec(atom(), 0..3), delimiter(), mailbox(), extended).prop_map(
        |(attributes, delimiter, mailbox, extended)| ListItem {
            attributes,
            delimiter,
            mailbox,
            extended,
        },
    )
}

fn namespaces() -> impl Strategy<Value = Vec<NamespaceEntry>> {
    vec(
        (istring(), delimiter())
            .prop_map(|(prefix, delimiter)| NamespaceEntry { prefix, delimiter }),
        0..3,
    )
}

fn status_kind() -> impl Strategy<Value = StatusKind> {
    prop_oneof![
        Just(StatusKind::Ok),
        Just(StatusKind::No),
        Just(StatusKind::Bad)
    ]
}

fn data() -> impl Strategy<Value = Data> {
    let esearch_item = prop_oneof![
        nz_u32().prop_map(ESearchItem::Min),
        nz_u32().prop_map(ESearchItem::Max),
        sequence_set().prop_map(ESearchItem::All),
        any::<u32>().prop_map(ESearchItem::Count),
        nz_number64().prop_map(ESearchItem::ModSeq),
    ];
    prop_oneof![
        (status_kind(), response_text()).prop_map(|(kind, text)| Data::Status { kind, text }),
        response_text().prop_map(Data::Bye),
        non_empty(atom(), 4).prop_map(Data::Capability),
        vec(atom(), 0..3).prop_map(Data::Enabled),
        list_item().prop_map(Data::List),
        list_item().prop_map(Data::Lsub),
        (mailbox(), vec((status_item(), number64()), 0..4))
            .prop_map(|(mailbox, items)| Data::MailboxStatus { mailbox, items }),
        (vec(nz_u32(), 0..4), option::of(nz_number64()))
            .prop_map(|(numbers, mod_seq)| Data::Search { numbers, mod_seq }),
        (option::of(tag()), any::<bool>(), vec(esearch_item, 0..3))
            .prop_map(|(tag, uid, items)| Data::ESearch { tag, uid, items }),
        vec(flag(), 0..4).prop_map(Data::Flags),
        any::<u32>().prop_map(Data::Exists),
        any::<u32>().prop_map(Data::Recent),
        nz_u32().prop_map(Data::Expunge),
        (nz_u32(), non_empty(fetch_data(), 3)).prop_map(|(seq, items)| Data::Fetch { seq, items }),
        (any::<bool>(), sequence_set())
            .prop_map(|(earlier, uids)| Data::Vanished { earlier, uids }),
        (namespaces(), namespaces(), namespaces()).prop_map(|(personal, other, shared)| {
            Data::Namespace {
                personal,
                other,
                shared,
            }
        }),
        option::of(vec((istring(), nstring()), 0..3)).prop_map(Data::Id),
        vec(nz_u32(), 0..4).prop_map(Data::Sort),
        vec(thread(), 0..3).prop_map(Data::Thread),
        (
            astring(),
            non_empty(
                (atom(), number64(), number64()).prop_map(|(name, usage, limit)| QuotaResource {
                    name,
                    usage,
                    limit
                }),
                3
            )
        )
            .prop_map(|(root, resources)| Data::Quota { root, resources }),
        (mailbox(), vec(astring(), 0..3))
            .prop_map(|(mailbox, roots)| Data::QuotaRoot { mailbox, roots }),
    ]
}

/// Continuation text always holds a space, so it can never be read back as base64.
fn continuation() -> impl Strategy<Value = Continuation> {
    prop_oneof![
        (option::of(code()), regex("[a-z]{1,5} [a-z ]{0,5}")).prop_map(|(code, text)| {
            Continuation::Text(ResponseText {
                code,
                text: Text::try_from(text.as_str()).unwrap(),
            })
        }),
        "([A-Za-z0-9+/]{4}){1,3}"
            .prop_map(|s| Continuation::Base64(Base64::try_from(s.as_str()).unwrap())),
    ]
}

pub(crate) fn response() -> impl Strategy<Value = Response> {
    prop_oneof![
        (tag(), status_kind(), response_text())
            .prop_map(|(tag, kind, text)| Response::Tagged(Tagged { tag, kind, text })),
        data().prop_map(Response::Data),
        continuation().prop_map(Response::Continuation),
    ]
}

pub(crate) fn greeting() -> impl Strategy<Value = Greeting> {
    (
        prop_oneof![
            Just(GreetingKind::Ok),
            Just(GreetingKind::PreAuth),
            Just(GreetingKind::Bye)
        ],
        response_text(),
    )
        .prop_map(|(kind, text)| Greeting { kind, text })
}
