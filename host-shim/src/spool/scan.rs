//! Recovery of one segment's bytes: the valid records, the damaged stretches between them, and
//! a torn tail.
//!
//! After an invalid record, the scan looks for the next record marker from which a whole,
//! checksummed record follows with a later sequence number, so damage costs the records it
//! covers and not the ones after it. Damage with no valid record after it is a torn tail, as
//! a crash in the middle of an append leaves it. A segment of the previous format has no
//! markers: its records are read up to the first invalid one, the rest is a torn tail.

use super::record::{decode, decode_v1, Decoded, Record, MAGIC};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Current,
    /// The previous version's format, to be rewritten in the current one.
    V1,
}

/// Bytes that hold no valid record.
#[derive(Debug, Clone, PartialEq)]
pub struct Damage {
    pub start: usize,
    pub end: usize,
    pub why: String,
    /// Sequence number of the valid record before the damage, if any.
    pub after: Option<u64>,
    /// Sequence number of the valid record after the damage (`None`: a torn tail).
    pub before: Option<u64>,
}

impl Damage {
    /// The sequence numbers the damage certainly took, first and last, given the first one
    /// the segment may hold. `None` when no record can have been there.
    pub fn lost(&self, first_seq: u64) -> Option<(u64, u64)> {
        let from = self.after.map_or(first_seq, |seq| seq + 1);
        let to = self.before?.checked_sub(1)?;
        (from <= to).then_some((from, to))
    }
}

#[derive(Debug, Default)]
pub struct SegmentScan {
    pub records: Vec<Record>,
    /// Sizes on disk, in the current format, of `records`.
    pub sizes: Vec<u64>,
    /// Damaged stretches with valid records after them.
    pub damaged: Vec<Damage>,
    pub torn_tail: Option<Damage>,
}

pub fn format_of(bytes: &[u8]) -> Format {
    // An old record at the start never decodes as a current one (its length would be the
    // marker's bytes, far beyond the maximum), and a current one not as an old one.
    if matches!(decode_v1(bytes, 0), Decoded::Record(..)) {
        Format::V1
    } else {
        Format::Current
    }
}

/// Scans a segment whose records have sequence numbers from `first_seq` on.
pub fn scan(bytes: &[u8], first_seq: u64, format: Format) -> SegmentScan {
    let mut scan = SegmentScan::default();
    let mut pos = 0;
    loop {
        let last = scan.records.last().map(|r| r.seq);
        let next_seq = last.map_or(first_seq, |seq| seq + 1);
        let decoded = match format {
            Format::Current => decode(&bytes[pos..]),
            Format::V1 => decode_v1(&bytes[pos..], next_seq),
        };
        let why = match decoded {
            Decoded::End => return scan,
            Decoded::Record(record, len) if record.seq >= next_seq => {
                scan.sizes.push(record.size());
                scan.records.push(record);
                pos += len;
                continue;
            }
            Decoded::Record(record, _) => format!(
                "a record numbered {} where {next_seq} or later was expected",
                record.seq
            ),
            Decoded::Invalid(why) => why,
        };
        let resync = match format {
            Format::Current => next_valid(bytes, pos + 1, next_seq),
            Format::V1 => None,
        };
        let mut damage = Damage {
            start: pos,
            end: bytes.len(),
            why,
            after: last,
            before: None,
        };
        match resync {
            Some((at, seq)) => {
                damage.end = at;
                damage.before = Some(seq);
                scan.damaged.push(damage);
                pos = at;
            }
            None => {
                scan.torn_tail = Some(damage);
                return scan;
            }
        }
    }
}

/// The first position from `from` on where a valid record numbered `min_seq` or later starts.
fn next_valid(bytes: &[u8], from: usize, min_seq: u64) -> Option<(usize, u64)> {
    let mut at = from;
    while at + MAGIC.len() <= bytes.len() {
        let offset = bytes[at..].windows(MAGIC.len()).position(|w| w == MAGIC)?;
        at += offset;
        if let Decoded::Record(record, _) = decode(&bytes[at..]) {
            if record.seq >= min_seq {
                return Some((at, record.seq));
            }
        }
        at += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::record::tests::{encode_v1, record};
    use super::*;

    fn segment(first: u64, n: u64) -> (Vec<u8>, Vec<usize>) {
        let mut bytes = Vec::new();
        let mut starts = Vec::new();
        for seq in first..first + n {
            starts.push(bytes.len());
            record(seq, &format!("[1] C{seq}")).encode_into(&mut bytes);
        }
        (bytes, starts)
    }

    fn seqs(scan: &SegmentScan) -> Vec<u64> {
        scan.records.iter().map(|r| r.seq).collect()
    }

    #[test]
    fn a_clean_segment_scans_whole() {
        let (bytes, _) = segment(10, 5);
        assert_eq!(format_of(&bytes), Format::Current);
        let scan = scan(&bytes, 10, Format::Current);
        assert_eq!(seqs(&scan), [10, 11, 12, 13, 14]);
        assert!(scan.damaged.is_empty() && scan.torn_tail.is_none());
    }

    #[test]
    fn damage_in_the_middle_costs_only_the_damaged_record() {
        let (mut bytes, starts) = segment(10, 5);
        // Four bytes overwritten inside record 12's payload.
        let at = starts[2] + 24;
        bytes[at..at + 4].copy_from_slice(b"XXXX");
        let scan = scan(&bytes, 10, Format::Current);
        assert_eq!(seqs(&scan), [10, 11, 13, 14]);
        assert_eq!(scan.damaged.len(), 1);
        assert_eq!(scan.damaged[0].lost(10), Some((12, 12)));
        assert_eq!(
            (scan.damaged[0].start, scan.damaged[0].end),
            (starts[2], starts[3])
        );
        assert!(scan.torn_tail.is_none());
    }

    #[test]
    fn a_damaged_header_or_inserted_garbage_is_skipped() {
        let (mut bytes, starts) = segment(0, 4);
        bytes[starts[1]] ^= 0xFF;
        let scan1 = scan(&bytes, 0, Format::Current);
        assert_eq!(seqs(&scan1), [0, 2, 3]);
        assert_eq!(scan1.damaged[0].lost(0), Some((1, 1)));

        let (mut bytes, starts) = segment(0, 3);
        bytes.splice(starts[1]..starts[1], b"garbage".iter().copied());
        let scan2 = scan(&bytes, 0, Format::Current);
        assert_eq!(seqs(&scan2), [0, 1, 2]);
        assert_eq!(scan2.damaged.len(), 1);
        assert_eq!(scan2.damaged[0].lost(0), None);
    }

    #[test]
    fn a_cut_tail_is_torn_and_keeps_what_comes_before() {
        let (bytes, starts) = segment(0, 3);
        let cut = &bytes[..bytes.len() - 5];
        let scan = scan(cut, 0, Format::Current);
        assert_eq!(seqs(&scan), [0, 1]);
        let torn = scan.torn_tail.unwrap();
        assert_eq!(
            (torn.start, torn.end, torn.after),
            (starts[2], cut.len(), Some(1))
        );
    }

    #[test]
    fn a_replayed_older_record_is_damage() {
        let (mut bytes, starts) = segment(0, 3);
        let first = bytes[..starts[1]].to_vec();
        bytes.extend_from_slice(&first);
        let scan = scan(&bytes, 0, Format::Current);
        assert_eq!(seqs(&scan), [0, 1, 2]);
        assert!(scan.torn_tail.is_some());
    }

    #[test]
    fn an_old_segment_is_read_with_implied_sequence_numbers() {
        let mut bytes = Vec::new();
        for i in 0..3 {
            encode_v1(&record(0, &format!("OLD;{i}")), &mut bytes);
        }
        assert_eq!(format_of(&bytes), Format::V1);
        let whole = scan(&bytes, 40, Format::V1);
        assert_eq!(seqs(&whole), [40, 41, 42]);
        assert_eq!(whole.records[2].line, "OLD;2");
        let cut = scan(&bytes[..bytes.len() - 1], 40, Format::V1);
        assert_eq!(seqs(&cut), [40, 41]);
        assert!(cut.torn_tail.is_some());
    }
}
