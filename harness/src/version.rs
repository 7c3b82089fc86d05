//! Kernel versions and ranges of them: `6.18.44-fc-v669` parses as 6.18.44; `>=5.17, <6.0` is a range.

pub type Version = (u32, u32, u32);

/// Reads the leading `major.minor[.patch]` of a kernel release string.
pub fn parse_release(release: &str) -> Option<Version> {
    let mut parts = release
        .split(|c: char| !c.is_ascii_digit())
        .take(3)
        .map(|p| p.parse::<u32>().ok());
    let major = parts.next()??;
    let minor = parts.next()??;
    let patch = parts.next().flatten().unwrap_or(0);
    Some((major, minor, patch))
}

/// A conjunction of bounds.
#[derive(Debug, Clone, PartialEq)]
pub struct Range {
    bounds: Vec<(Bound, Version)>,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Bound {
    Ge,
    Gt,
    Le,
    Lt,
    Eq,
}

impl Range {
    pub fn parse(text: &str) -> Result<Range, String> {
        let mut bounds = Vec::new();
        for part in text.split(',').map(str::trim) {
            let (bound, rest) = [
                (">=", Bound::Ge),
                ("<=", Bound::Le),
                (">", Bound::Gt),
                ("<", Bound::Lt),
                ("=", Bound::Eq),
            ]
            .iter()
            .find_map(|(p, b)| part.strip_prefix(p).map(|r| (*b, r.trim())))
            .ok_or_else(|| {
                format!("`{part}` is not a bound; write `>=5.17`, `<6.0` or `>=4.17, <6.0`")
            })?;
            let numbers: Vec<&str> = rest.split('.').collect();
            let version = match numbers.as_slice() {
                [a, b] | [a, b, _] => {
                    let patch = numbers.get(2).map_or(Some(0), |p| p.parse().ok());
                    match (a.parse(), b.parse(), patch) {
                        (Ok(a), Ok(b), Some(p)) => (a, b, p),
                        _ => return Err(format!("`{rest}` is not a kernel version like 6.1")),
                    }
                }
                _ => return Err(format!("`{rest}` is not a kernel version like 6.1")),
            };
            bounds.push((bound, version));
        }
        Ok(Range {
            bounds,
            text: text.to_string(),
        })
    }

    pub fn contains(&self, v: Version) -> bool {
        self.bounds.iter().all(|(b, w)| match b {
            Bound::Ge => v >= *w,
            Bound::Gt => v > *w,
            Bound::Le => v <= *w,
            Bound::Lt => v < *w,
            // `=6.1` means any 6.1.x.
            Bound::Eq => (v.0, v.1) == (w.0, w.1),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases() {
        assert_eq!(parse_release("6.18.44-fc-v669"), Some((6, 18, 44)));
        assert_eq!(parse_release("6.1.0-28-cloud-amd64"), Some((6, 1, 0)));
        assert_eq!(parse_release("4.4.0"), Some((4, 4, 0)));
        assert_eq!(parse_release("6.12"), Some((6, 12, 0)));
        assert_eq!(parse_release("weird"), None);
    }

    #[test]
    fn ranges() {
        let r = Range::parse(">=4.17, <6.0").unwrap();
        assert!(r.contains((4, 17, 0)));
        assert!(r.contains((5, 19, 3)));
        assert!(!r.contains((6, 0, 0)));
        assert!(!r.contains((4, 16, 9)));
        assert!(Range::parse("=6.1").unwrap().contains((6, 1, 158)));
        assert!(Range::parse("6.1").is_err());
        assert!(Range::parse(">=six").is_err());
    }
}
