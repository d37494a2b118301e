//! Bodies of the cargo-fuzz targets in `/fuzz/fuzz_targets/maildir_*.rs`, as plain functions
//! so crash inputs replay as ordinary tests on stable Rust. Each panics only on a real bug.

use crate::{
    mailbox_name::MailboxName,
    maildir::{filename, index, keywords::KeywordTable, layout, mutf7, structure, uidlist},
};

/// Any file name: parse, re-format with the same flags, parse again, same meaning.
pub fn maildir_filename(data: &[u8]) {
    let Ok(name) = std::str::from_utf8(data) else {
        return;
    };
    let Some(p) = filename::parse(name) else {
        return;
    };
    let again = filename::format(p.base, &p.flags, &p.keyword_letters, &p.other_letters);
    let q = filename::parse(&again).expect("formatted names parse");
    assert_eq!(q.base, p.base);
    assert_eq!(q.flags, p.flags);
    assert_eq!(q.keyword_letters, p.keyword_letters);
    let _ = filename::marker(p.base);
}

/// Any `dovecot-uidlist`: parse never panics; what parses survives our writer.
pub fn maildir_uidlist(data: &[u8]) {
    let Ok((list, used)) = uidlist::parse(data) else {
        return;
    };
    assert!(used <= data.len());
    let bytes = list.to_bytes();
    let (again, again_used) = uidlist::parse(&bytes).expect("our own uidlist parses");
    assert_eq!(again_used, bytes.len());
    assert_eq!(again.records, list.records);
    assert_eq!(again.uid_validity, list.uid_validity);
    assert!(again.next_uid() >= list.next_uid());
}

/// Any `gradwell-index`: replay never panics; compaction keeps what it describes.
pub fn maildir_index(data: &[u8]) {
    let Ok((idx, _)) = index::parse(data) else {
        return;
    };
    let text = idx.compacted();
    let (again, _) = index::parse(text.as_bytes()).expect("our own index parses");
    assert_eq!(again.live, idx.live);
    assert_eq!(again.vanished, idx.vanished);
    assert_eq!(
        (again.pruned, again.pruned_uid),
        (idx.pruned, idx.pruned_uid)
    );
}

/// Any `gradwell-structure` content: decoding record after record never panics, reads
/// nothing past the input, and every record it accepts re-encodes to the same bytes.
pub fn maildir_structure_cache(data: &[u8]) {
    structure::fuzz_records(data);
}

/// Any `dovecot-keywords`: parse never panics; our writer round-trips the table.
pub fn maildir_keywords(data: &[u8]) {
    let table = KeywordTable::parse(&String::from_utf8_lossy(data));
    assert_eq!(KeywordTable::parse(&table.to_text()), table);
}

/// Any mailbox name: valid names map to one directory directly under the user's tree and
/// back; modified UTF-7 decoding accepts only canonical spellings.
pub fn mailbox_name(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(decoded) = mutf7::decode(text) {
        assert_eq!(mutf7::encode(&decoded), text);
    }
    let Ok(name) = MailboxName::new(text) else {
        return;
    };
    let Ok(Some(dir)) = layout::folder_dir(&name) else {
        return;
    };
    assert!(dir.starts_with('.') && dir != "." && dir != "..");
    assert!(!dir.contains('/') && !dir.contains('\0'));
    assert_eq!(layout::parse_folder_dir(&dir), Some(name));
}

/// Any mirror-state record: parsing never panics, and what parses is written back to the
/// same record.
pub fn maildir_mirror_state(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Some(record) = crate::mirror::fuzz_record_round_trip(text) else {
        return;
    };
    assert_eq!(
        crate::mirror::fuzz_record_round_trip(&record),
        Some(record.clone())
    );
}

/// Any placement map: parsing never panics, and what parses is written back to a map that
/// parses to the same text.
pub fn maildir_placement_map(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Some((written, again)) = crate::placement::fuzz_map_round_trip(text) else {
        return;
    };
    assert_eq!(again, Some(written));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_run_clean() {
        maildir_filename(b"1795911967.M166100P12084.vm,S=18,W=21:2,STabc");
        maildir_filename(b"x:2,\xff");
        maildir_uidlist(b"3 V1795911969 N3 Gabc\n1 :a.b.c\n2 W5 :d.e.f:2,S\n");
        maildir_uidlist(b"1 5 9\n3 x\n");
        // Found by cargo fuzz: a version 1 record with an empty file name.
        maildir_uidlist(b"1 1 6 \n6666 \n\0");
        maildir_index(b"gradwell-index 1 V7 Bb\nA 2 1 10 5 0 base S kw\nF 3 1 -\nX 4 1\n");
        // Found by cargo fuzz: a message re-added under an expunged UID.
        maildir_index(b"gradwell-index 1 V7 Bb\nX 4 181\nA 58 181 13 0 0 1 b -\n");
        maildir_keywords(b"0 $Label1\n1 Work\n25 z\n26 over\n");
        maildir_index(b"gradwell-index 1 V7 Bb\nP 9 4\nX 10 5\n");
        maildir_structure_cache(b"R\x01\0\0\0\x05\0\0\0\0\0\0\0\x01\0\x02\0\0\0bxy\0\0\0\0");
        mailbox_name(b"B&APw-cher/x");
        mailbox_name("Bücher/2024".as_bytes());
        mailbox_name(b"a/../b");
        maildir_mirror_state(b"gradwell-mirror v1\nepoch 4\nstale 1\n");
        maildir_mirror_state(b"gradwell-mirror v1\nepoch 99999999999999999999\nstale 0\n");
        maildir_placement_map(b"gradwell-placement v1\ndefault 0\nuser bob 1\nmoving bob 0\n");
        maildir_placement_map(b"gradwell-placement v1\ndefault 18446744073709551616\n");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
        #[test]
        fn arbitrary_inputs(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..120)) {
            maildir_filename(&data);
            maildir_uidlist(&data);
            maildir_structure_cache(&data);
            maildir_index(&data);
            maildir_keywords(&data);
            mailbox_name(&data);
            maildir_mirror_state(&data);
            maildir_placement_map(&data);
        }

        #[test]
        fn arbitrary_names(name in "[a-zA-Z0-9 &ü/.~*:-]{1,30}") {
            mailbox_name(name.as_bytes());
        }
    }
}
