//! What the child tells the parent: one JSON line per step, written with a single `write(2)`.
//! The signal handler writes `Crash` by hand (no allocation there), so its shape is fixed here too.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Record {
    /// A step ran (or could not) and this is what happened. A repeated step says how often.
    Step {
        step: usize,
        obs: Obs,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        iterations: Option<u64>,
    },
    /// The top-level list finished: the child is about to exit normally.
    Done,
    /// The child could not prepare the case (drop capabilities, set limits): the harness broke.
    Broken { reason: String },
    /// A fault outside any probe: the harness itself was hit. Written by the signal handler.
    Crash {
        signo: i32,
        code: i32,
        addr: u64,
        ip: u64,
    },
}

/// The observed outcome of one step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Obs {
    /// The call returned this value (an address, a count, 0), with what it observed.
    Ok {
        value: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        data: Option<Data>,
    },
    /// The call failed with this errno.
    Err { errno: i32 },
    /// A load, store or jump was stopped by a signal.
    Fault { signo: i32, code: i32, addr: u64 },
    /// The step did not run: an argument named a step that failed, or could not be evaluated.
    NotRun { reason: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Data {
    Bytes(Bytes),
    Maps(Vec<MapsEntry>),
    Smaps(Vec<SmapsEntry>),
    Stat {
        size: u64,
        blocks: u64,
        /// st_mtime and st_ctime in nanoseconds since the epoch: compared with another `stat`
        /// step's, never shown (they differ every run).
        #[serde(default)]
        mtime_ns: i64,
        #[serde(default)]
        ctime_ns: i64,
    },
    /// `status`: VmLck of /proc/self/status, in bytes; `None` when the file has no such line.
    Status {
        vmlck: Option<u64>,
    },
    /// `seals`: the seals F_GET_SEALS reported.
    Seals(u64),
    Faults {
        minflt: u64,
        majflt: u64,
    },
    Resident(Vec<bool>),
    /// `pagemap`: one entry a page, with only its flag bits (55 to 63): the page frame number
    /// and swap location in the low bits differ from run to run and never leave the child.
    Pagemap(Vec<u64>),
    /// `uffd_served`: the message the serving thread read (its address is the step's value).
    UffdMessage {
        event: u8,
        flags: u64,
    },
    /// `compare`: the first offset where mapping and file differ, if any.
    Diff(Option<u64>),
    /// `wait`: how the child ended.
    Exited(i32),
    Killed(i32),
}

/// Bytes read, kept compact: a run of one value (a page of zeros) is a byte and a count, so that
/// recording it allocates nothing and the JSON stays readable. Serialized as `"00*4096"` or hex.
#[derive(Debug, Clone, PartialEq)]
pub enum Bytes {
    Run { byte: u8, len: usize },
    Raw(Vec<u8>),
}

impl Bytes {
    pub fn of(data: &[u8]) -> Bytes {
        match data.first() {
            Some(&b) if data.len() > 1 && data.iter().all(|x| *x == b) => Bytes::Run {
                byte: b,
                len: data.len(),
            },
            _ => Bytes::Raw(data.to_vec()),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Bytes::Run { len, .. } => *len,
            Bytes::Raw(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, i: usize) -> Option<u8> {
        match self {
            Bytes::Run { byte, len } => (i < *len).then_some(*byte),
            Bytes::Raw(v) => v.get(i).copied(),
        }
    }

    pub fn to_vec(&self) -> Vec<u8> {
        match self {
            Bytes::Run { byte, len } => vec![*byte; *len],
            Bytes::Raw(v) => v.clone(),
        }
    }
}

impl Serialize for Bytes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let text = match self {
            Bytes::Run { byte, len } => format!("{byte:02x}*{len}"),
            Bytes::Raw(v) => v.iter().map(|b| format!("{b:02x}")).collect(),
        };
        s.serialize_str(&text)
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Bytes, D::Error> {
        use serde::de::Error;
        let text = String::deserialize(d)?;
        let hex = |h: &str| u8::from_str_radix(h, 16).map_err(D::Error::custom);
        if let Some((b, n)) = text.split_once('*') {
            return Ok(Bytes::Run {
                byte: hex(b)?,
                len: n.parse().map_err(D::Error::custom)?,
            });
        }
        if text.len() % 2 != 0 {
            return Err(D::Error::custom("odd number of hex digits"));
        }
        (0..text.len())
            .step_by(2)
            .map(|i| hex(&text[i..i + 2]))
            .collect::<Result<Vec<u8>, _>>()
            .map(Bytes::Raw)
    }
}

/// One mapping of /proc/self/smaps: its range (clipped to the query), VmFlags, and the Rss and
/// Locked of the whole mapping, in bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SmapsEntry {
    pub start: u64,
    pub end: u64,
    pub vmflags: Vec<String>,
    pub rss: u64,
    pub locked: u64,
    /// AnonHugePages: the bytes of the mapping held by transparent huge pages.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub anon_huge: u64,
    /// ProtectionKey: the mapping's protection key; absent where the kernel has no pkeys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pkey: Option<u64>,
    /// KernelPageSize and MMUPageSize, in bytes; absent where smaps has no such line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kernel_page: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mmu_page: Option<u64>,
    /// The whole mapping's range, which Rss and Locked count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mapping: Option<(u64, u64)>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A line of /proc/self/maps, clipped to the queried range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MapsEntry {
    pub start: u64,
    pub end: u64,
    pub perms: String,
    pub offset: u64,
    pub path: String,
}

impl Record {
    pub fn encode(&self) -> Vec<u8> {
        let mut line = serde_json::to_vec(self).expect("records always serialize");
        line.push(b'\n');
        line
    }
}

/// Splits a byte stream into records. A line that does not decode is reported as such, because
/// a garbled stream means the harness broke.
pub fn decode(stream: &[u8]) -> Vec<Result<Record, String>> {
    stream
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            serde_json::from_slice(l)
                .map_err(|e| format!("undecodable record {:?}: {e}", String::from_utf8_lossy(l)))
        })
        .collect()
}

/// Formats a `Crash` record into `buf` without allocating, for use in a signal handler.
/// Returns the length written.
pub fn format_crash(buf: &mut [u8; 160], signo: i32, code: i32, addr: u64, ip: u64) -> usize {
    let mut w = Cursor { buf, len: 0 };
    w.put(b"{\"crash\":{\"signo\":");
    w.int(signo as i64);
    w.put(b",\"code\":");
    w.int(code as i64);
    w.put(b",\"addr\":");
    w.uint(addr);
    w.put(b",\"ip\":");
    w.uint(ip);
    w.put(b"}}\n");
    w.len
}

struct Cursor<'a> {
    buf: &'a mut [u8; 160],
    len: usize,
}

impl Cursor<'_> {
    fn put(&mut self, bytes: &[u8]) {
        for b in bytes {
            if self.len < self.buf.len() {
                self.buf[self.len] = *b;
                self.len += 1;
            }
        }
    }

    fn uint(&mut self, mut v: u64) {
        let mut digits = [0u8; 20];
        let mut n = 0;
        loop {
            digits[n] = b'0' + (v % 10) as u8;
            n += 1;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        digits[..n].reverse();
        self.put(&digits[..n]);
    }

    fn int(&mut self, v: i64) {
        if v < 0 {
            self.put(b"-");
        }
        self.uint(v.unsigned_abs());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crash_records_decode() {
        let mut buf = [0u8; 160];
        let n = format_crash(&mut buf, 11, -6, u64::MAX, 0x7fff_0000_1234);
        let records = decode(&buf[..n]);
        assert_eq!(
            records,
            [Ok(Record::Crash {
                signo: 11,
                code: -6,
                addr: u64::MAX,
                ip: 0x7fff_0000_1234
            })]
        );
    }

    #[test]
    fn steps_round_trip() {
        let r = Record::Step {
            iterations: None,
            step: 3,
            obs: Obs::Ok {
                value: 7,
                data: Some(Data::Bytes(Bytes::of(b"hi"))),
            },
        };
        let mut stream = r.encode();
        stream.extend(Record::Done.encode());
        stream.extend(b"garbage\n");
        let run = Record::Step {
            iterations: Some(2),
            step: 4,
            obs: Obs::Ok {
                value: 0,
                data: Some(Data::Bytes(Bytes::of(&[0; 4096]))),
            },
        };
        assert!(String::from_utf8(run.encode())
            .unwrap()
            .contains("\"00*4096\""));
        stream.extend(run.encode());
        let out = decode(&stream);
        assert_eq!(out[0], Ok(r));
        assert_eq!(out[3], Ok(run));
        assert_eq!(out[1], Ok(Record::Done));
        assert!(out[2].is_err());
        assert_eq!(out.len(), 4);
    }
}
