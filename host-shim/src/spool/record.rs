//! The spool's record framing: `len: u32 LE | crc32(payload): u32 LE | payload`, where the
//! payload is the command's creation time (`f64` bits, LE) followed by the command line.
//! A record whose length runs past the end of the file, or whose checksum does not match, is a
//! torn write: everything from it on is cut.

use std::io::{self, Read};

use alignak_module_abi::ExternalCommand;

pub const HEADER: usize = 8;
/// A command line longer than this is refused (the HTTP body limit is far below it anyway).
pub const MAX_PAYLOAD: usize = 16 * 1024 * 1024;

/// A command as kept in the spool.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub created: f64,
    pub line: String,
}

impl Record {
    pub fn from_command(command: &ExternalCommand) -> Record {
        Record {
            created: command.creation_timestamp,
            line: command.cmd_line.to_string(),
        }
    }

    /// Bytes the record takes on disk.
    pub fn size(&self) -> u64 {
        (HEADER + 8 + self.line.len()) as u64
    }

    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let payload_len = 8 + self.line.len();
        let mut crc = crc32fast::Hasher::new();
        crc.update(&self.created.to_bits().to_le_bytes());
        crc.update(self.line.as_bytes());
        out.extend_from_slice(&(payload_len as u32).to_le_bytes());
        out.extend_from_slice(&crc.finalize().to_le_bytes());
        out.extend_from_slice(&self.created.to_bits().to_le_bytes());
        out.extend_from_slice(self.line.as_bytes());
    }
}

/// What reading the next record found.
#[derive(Debug, PartialEq)]
pub enum Next {
    Record(Record),
    /// A clean end of file, at a record boundary.
    End,
    /// A record that is cut short or fails its checksum: a torn write.
    Torn(String),
}

/// Reads one record; `End` only at a clean boundary.
pub fn read_record(input: &mut impl Read) -> io::Result<Next> {
    let mut header = [0u8; HEADER];
    let got = read_full(input, &mut header)?;
    if got == 0 {
        return Ok(Next::End);
    }
    if got < HEADER {
        return Ok(Next::Torn(format!("a record header cut after {got} bytes")));
    }
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
    let crc = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
    if !(8..=MAX_PAYLOAD + 8).contains(&len) {
        return Ok(Next::Torn(format!("an impossible record length {len}")));
    }
    let mut payload = vec![0u8; len];
    let got = read_full(input, &mut payload)?;
    if got < len {
        return Ok(Next::Torn(format!(
            "a record cut after {got} of {len} bytes"
        )));
    }
    if crc32fast::hash(&payload) != crc {
        return Ok(Next::Torn("a record whose checksum does not match".into()));
    }
    let mut bits = [0u8; 8];
    bits.copy_from_slice(&payload[..8]);
    let Ok(line) = String::from_utf8(payload[8..].to_vec()) else {
        return Ok(Next::Torn("a record that is not UTF-8".into()));
    };
    Ok(Next::Record(Record {
        created: f64::from_bits(u64::from_le_bytes(bits)),
        line,
    }))
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
mod tests {
    use super::*;

    fn record(line: &str) -> Record {
        Record {
            created: 1700000000.25,
            line: line.into(),
        }
    }

    #[test]
    fn records_round_trip_and_a_cut_or_flipped_byte_is_torn() {
        let mut bytes = Vec::new();
        record("A;1").encode_into(&mut bytes);
        record("B;ünïcode").encode_into(&mut bytes);
        assert_eq!(
            bytes.len() as u64,
            record("A;1").size() + record("B;ünïcode").size()
        );
        let mut input = &bytes[..];
        assert_eq!(
            read_record(&mut input).unwrap(),
            Next::Record(record("A;1"))
        );
        assert_eq!(
            read_record(&mut input).unwrap(),
            Next::Record(record("B;ünïcode"))
        );
        assert_eq!(read_record(&mut input).unwrap(), Next::End);

        for cut in 1..record("A;1").size() as usize {
            let mut input = &bytes[..cut];
            assert!(
                matches!(read_record(&mut input).unwrap(), Next::Torn(_)),
                "cut at {cut}"
            );
        }
        let mut flipped = bytes.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 0x40;
        let mut input = &flipped[..];
        read_record(&mut input).unwrap();
        assert!(matches!(read_record(&mut input).unwrap(), Next::Torn(_)));
    }
}
