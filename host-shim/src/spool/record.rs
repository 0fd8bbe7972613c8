//! The spool's record framing.
//!
//! A record is `MAGIC | seq: u64 LE | len: u32 LE | crc32(seq, len, payload): u32 LE | payload`,
//! where the payload is the command's creation time (`f64` bits, LE) followed by the command
//! line. The magic lets recovery find the next record after damaged bytes (`scan.rs`); the
//! sequence number says exactly which records a damaged stretch cost; the checksum covers the
//! header too, so a flipped length or sequence number is caught like a flipped payload byte.
//!
//! The previous version wrote `len: u32 LE | crc32(payload): u32 LE | payload`, with sequence
//! numbers implied by the segment's name. Its records are still read (`decode_v1`) so that an
//! upgrade delivers what the old version acknowledged: the last byte of the magic can never be
//! the high byte of an old record's length (at most 0x01), so the two formats cannot be taken
//! for one another at a segment's start.

use std::io::{self, Read};

use alignak_module_abi::ExternalCommand;

pub const MAGIC: [u8; 4] = [0xA7, b'S', b'P', 0xF2];
pub const HEADER: usize = 20;
/// A command line longer than this is refused (the HTTP body limit is far below it anyway).
pub const MAX_PAYLOAD: usize = 16 * 1024 * 1024;
/// Header of the previous version's records.
pub const V1_HEADER: usize = 8;

/// A command as kept in the spool.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Its sequence number: its place in the order of everything ever appended.
    pub seq: u64,
    pub created: f64,
    pub line: String,
}

impl Record {
    pub fn from_command(seq: u64, command: &ExternalCommand) -> Record {
        Record {
            seq,
            created: command.creation_timestamp,
            line: command.cmd_line.to_string(),
        }
    }

    /// Bytes the record takes on disk.
    pub fn size(&self) -> u64 {
        (HEADER + 8 + self.line.len()) as u64
    }

    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let payload_len = (8 + self.line.len()) as u32;
        let created = self.created.to_bits().to_le_bytes();
        let crc = checksum(self.seq, payload_len, &[&created, self.line.as_bytes()]);
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&self.seq.to_le_bytes());
        out.extend_from_slice(&payload_len.to_le_bytes());
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&created);
        out.extend_from_slice(self.line.as_bytes());
    }
}

fn checksum(seq: u64, len: u32, payload: &[&[u8]]) -> u32 {
    let mut crc = crc32fast::Hasher::new();
    crc.update(&seq.to_le_bytes());
    crc.update(&len.to_le_bytes());
    for part in payload {
        crc.update(part);
    }
    crc.finalize()
}

/// What decoding at one position found.
#[derive(Debug, PartialEq)]
pub enum Decoded {
    /// A valid record, and the bytes it takes.
    Record(Record, usize),
    /// Nothing: the bytes end exactly here.
    End,
    /// Not a valid record here: cut short, wrong magic, impossible length, bad checksum...
    Invalid(String),
}

/// Decodes the record at the start of `bytes`.
pub fn decode(bytes: &[u8]) -> Decoded {
    if let Err(found) = whole_header(bytes, HEADER) {
        return found;
    }
    if bytes[..4] != MAGIC {
        return Decoded::Invalid("no record marker".into());
    }
    let seq = u64::from_le_bytes(bytes[4..12].try_into().unwrap_or_default());
    let len = u32::from_le_bytes(bytes[12..16].try_into().unwrap_or_default());
    let crc = u32::from_le_bytes(bytes[16..20].try_into().unwrap_or_default());
    let payload = match payload_after(bytes, HEADER, len as usize) {
        Ok(payload) => payload,
        Err(found) => return found,
    };
    if checksum(seq, len, &[payload]) != crc {
        return Decoded::Invalid("a record whose checksum does not match".into());
    }
    record(seq, payload, HEADER)
}

/// `Err` with what the bytes hold when they are no whole header of `header` bytes.
fn whole_header(bytes: &[u8], header: usize) -> Result<(), Decoded> {
    if bytes.is_empty() {
        return Err(Decoded::End);
    }
    if bytes.len() < header {
        return Err(Decoded::Invalid(format!(
            "a record header cut after {} bytes",
            bytes.len()
        )));
    }
    Ok(())
}

/// The `len` payload bytes after a `header`-byte header, if the length is possible and the
/// bytes are all there.
fn payload_after(bytes: &[u8], header: usize, len: usize) -> Result<&[u8], Decoded> {
    if !(8..=MAX_PAYLOAD + 8).contains(&len) {
        return Err(Decoded::Invalid(format!(
            "an impossible record length {len}"
        )));
    }
    bytes.get(header..header + len).ok_or_else(|| {
        Decoded::Invalid(format!(
            "a record cut after {} of {len} bytes",
            bytes.len() - header
        ))
    })
}

/// The record a checked payload holds, which took `header` bytes before it.
fn record(seq: u64, payload: &[u8], header: usize) -> Decoded {
    match payload_fields(payload) {
        Some((created, line)) => {
            Decoded::Record(Record { seq, created, line }, header + payload.len())
        }
        None => Decoded::Invalid("a record that is not UTF-8".into()),
    }
}

fn payload_fields(payload: &[u8]) -> Option<(f64, String)> {
    let bits = u64::from_le_bytes(payload.get(..8)?.try_into().ok()?);
    let line = String::from_utf8(payload.get(8..)?.to_vec()).ok()?;
    Some((f64::from_bits(bits), line))
}

/// Decodes a record of the previous version at the start of `bytes`, giving it `seq`.
pub fn decode_v1(bytes: &[u8], seq: u64) -> Decoded {
    if let Err(found) = whole_header(bytes, V1_HEADER) {
        return found;
    }
    let len = u32::from_le_bytes(bytes[0..4].try_into().unwrap_or_default()) as usize;
    let crc = u32::from_le_bytes(bytes[4..8].try_into().unwrap_or_default());
    let payload = match payload_after(bytes, V1_HEADER, len) {
        Ok(payload) => payload,
        Err(found) => return found,
    };
    if crc32fast::hash(payload) != crc {
        return Decoded::Invalid("a record whose checksum does not match".into());
    }
    record(seq, payload, V1_HEADER)
}

/// What reading the next record from a stream found.
#[derive(Debug, PartialEq)]
pub enum Next {
    Record(Record),
    /// A clean end of file, at a record boundary.
    End,
    /// A record that is cut short or invalid.
    Torn(String),
}

/// Reads one record from a stream (the delivery thread's reader, on a recovered spool).
pub fn read_record(input: &mut impl Read) -> io::Result<Next> {
    let mut header = [0u8; HEADER];
    let got = read_full(input, &mut header)?;
    if got == 0 {
        return Ok(Next::End);
    }
    if got < HEADER {
        return Ok(Next::Torn(format!("a record header cut after {got} bytes")));
    }
    let len = u32::from_le_bytes([header[12], header[13], header[14], header[15]]) as usize;
    if header[..4] != MAGIC || !(8..=MAX_PAYLOAD + 8).contains(&len) {
        // `decode` says which.
        return Ok(match decode(&header) {
            Decoded::Invalid(why) => Next::Torn(why),
            _ => Next::Torn("an invalid record header".into()),
        });
    }
    // One allocation of the record's size: a copy of the header grown to it reallocates.
    let mut bytes = Vec::with_capacity(HEADER + len);
    bytes.extend_from_slice(&header);
    bytes.resize(HEADER + len, 0);
    let got = read_full(input, &mut bytes[HEADER..])?;
    bytes.truncate(HEADER + got);
    Ok(match decode(&bytes) {
        Decoded::Record(record, _) => Next::Record(record),
        Decoded::End => Next::End,
        Decoded::Invalid(why) => Next::Torn(why),
    })
}

/// Like `read_exact`, but says how much it got instead of failing at end of file.
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match input.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

#[cfg(test)]
pub mod tests {
    use super::*;

    pub fn record(seq: u64, line: &str) -> Record {
        Record {
            seq,
            created: 1700000000.25,
            line: line.into(),
        }
    }

    /// A record as the previous version wrote it.
    pub fn encode_v1(record: &Record, out: &mut Vec<u8>) {
        let mut payload = record.created.to_bits().to_le_bytes().to_vec();
        payload.extend_from_slice(record.line.as_bytes());
        out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        out.extend_from_slice(&payload);
    }

    #[test]
    fn records_round_trip_and_a_cut_or_flipped_byte_is_invalid() {
        let mut bytes = Vec::new();
        record(7, "A;1").encode_into(&mut bytes);
        record(8, "B;ünïcode").encode_into(&mut bytes);
        let first = record(7, "A;1").size() as usize;
        assert_eq!(bytes.len(), first + record(8, "B;ünïcode").size() as usize);
        assert_eq!(decode(&bytes), Decoded::Record(record(7, "A;1"), first));
        assert_eq!(
            decode(&bytes[first..]),
            Decoded::Record(record(8, "B;ünïcode"), bytes.len() - first)
        );
        assert_eq!(decode(&[]), Decoded::End);
        let mut stream = &bytes[..];
        assert_eq!(
            read_record(&mut stream).unwrap(),
            Next::Record(record(7, "A;1"))
        );
        assert_eq!(
            read_record(&mut stream).unwrap(),
            Next::Record(record(8, "B;ünïcode"))
        );
        assert_eq!(read_record(&mut stream).unwrap(), Next::End);

        for cut in 1..first {
            assert!(
                matches!(decode(&bytes[..cut]), Decoded::Invalid(_)),
                "cut at {cut}"
            );
            let mut stream = &bytes[..cut];
            assert!(matches!(read_record(&mut stream).unwrap(), Next::Torn(_)));
        }
        // Every byte of the record, header included, is covered.
        for at in 0..first {
            let mut flipped = bytes.clone();
            flipped[at] ^= 0x40;
            assert!(
                !matches!(decode(&flipped), Decoded::Record(ref r, _) if *r == record(7, "A;1")),
                "flip at {at}"
            );
        }
    }

    #[test]
    fn the_previous_format_is_recognised_and_read() {
        let mut old = Vec::new();
        encode_v1(&record(0, "OLD;1"), &mut old);
        let mut new = Vec::new();
        record(0, "NEW;1").encode_into(&mut new);
        assert!(matches!(decode_v1(&new, 0), Decoded::Invalid(_)));
        assert_eq!(
            decode_v1(&old, 41),
            Decoded::Record(record(41, "OLD;1"), old.len())
        );
        assert!(matches!(decode(&old), Decoded::Invalid(_)));
    }
}
