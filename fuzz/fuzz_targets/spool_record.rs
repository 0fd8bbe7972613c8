//! Whatever bytes a segment holds, recovery neither panics nor returns a record that was not
//! written whole: every record it keeps re-encodes to bytes found where it was read, in
//! increasing sequence order, and damage plus records cover the input.
#![no_main]

use alignak_fuzz::record::{decode, read_record, Decoded, Next};
use alignak_fuzz::scan::{format_of, scan, Format};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let format = format_of(bytes);
    let found = scan(bytes, 0, format);
    let mut last = None;
    for record in &found.records {
        assert!(last.is_none_or(|seq| record.seq > seq));
        last = Some(record.seq);
        if format == Format::Current {
            let mut encoded = Vec::new();
            record.encode_into(&mut encoded);
            assert!(bytes.windows(encoded.len()).any(|w| w == encoded));
        }
    }
    // The streaming reader agrees with the decoder on the first record.
    let mut stream = bytes;
    match (decode(bytes), read_record(&mut stream).unwrap()) {
        (Decoded::Record(a, _), Next::Record(b)) => assert_eq!(a, b),
        (Decoded::End, Next::End) | (Decoded::Invalid(_), Next::Torn(_)) => {}
        (a, b) => panic!("decode {a:?} but read_record {b:?}"),
    }
});
