//! docs/coverage/untestable.toml: the rules no case can check on the project's machines, each
//! with why. A marker's ref names its rules the way a case's ref does, but may name several.

use serde::Deserialize;
use std::path::{Path, PathBuf};
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct File {
    /// The man-pages release the markers were written against.
    man_pages: String,
    #[serde(default)]
    untestable: Vec<Spanned<MarkerSpec>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MarkerSpec {
    r#ref: String,
    why: String,
}

#[derive(Debug, Clone)]
pub struct Marker {
    pub r#ref: String,
    pub why: String,
    /// The line of its `[[untestable]]` table.
    pub line: usize,
}

#[derive(Debug, Clone)]
pub struct Markers {
    pub path: PathBuf,
    pub man_pages: String,
    pub markers: Vec<Marker>,
}

/// A problem with the markers file, with its place.
#[derive(Debug, thiserror::Error)]
#[error("{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct MarkersError {
    pub path: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

/// Reads the markers; a missing file is no markers.
pub fn load(path: &Path) -> Result<Markers, MarkersError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Markers {
                path: path.to_path_buf(),
                man_pages: String::new(),
                markers: Vec::new(),
            })
        }
        Err(e) => {
            return Err(MarkersError {
                path: path.to_path_buf(),
                line: None,
                message: format!("cannot read: {e}"),
            })
        }
    };
    let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
    let file: File = toml::from_str(&text).map_err(|e| MarkersError {
        path: path.to_path_buf(),
        line: e.span().map(|s| line_of(s.start)),
        message: e.message().to_string(),
    })?;
    let mut markers = Vec::new();
    for m in file.untestable {
        let line = line_of(m.span().start);
        let m = m.into_inner();
        for (field, value) in [("ref", &m.r#ref), ("why", &m.why)] {
            if value.trim().is_empty() {
                return Err(MarkersError {
                    path: path.to_path_buf(),
                    line: Some(line),
                    message: format!(
                        "`{field}` is empty: every marker names its rule and says why"
                    ),
                });
            }
        }
        markers.push(Marker {
            r#ref: m.r#ref,
            why: m.why,
            line,
        });
    }
    Ok(Markers {
        path: path.to_path_buf(),
        man_pages: file.man_pages,
        markers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_name_their_line_and_refuse_an_empty_why() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("untestable.toml");
        std::fs::write(
            &path,
            "man-pages = \"Linux man-pages 6.03\"\n\n[[untestable]]\nref = \"mmap(2) NOTES: x\"\nwhy = \"because\"\n",
        )
        .unwrap();
        let m = load(&path).unwrap();
        assert_eq!(m.markers.len(), 1);
        assert_eq!(m.markers[0].line, 3);
        std::fs::write(
            &path,
            "man-pages = \"6.03\"\n[[untestable]]\nref = \"mmap(2) NOTES\"\nwhy = \" \"\n",
        )
        .unwrap();
        let e = load(&path).unwrap_err().to_string();
        assert!(
            e.ends_with(
                "untestable.toml:2: `why` is empty: every marker names its rule and says why"
            ),
            "{e}"
        );
        std::fs::write(
            &path,
            "man-pages = \"6.03\"\n[[untestable]]\nref = \"x\"\nwhy = \"y\"\nbecause = 1\n",
        )
        .unwrap();
        let e = load(&path).unwrap_err().to_string();
        assert!(e.contains("untestable.toml:"), "{e}");
        assert!(e.contains("because"), "{e}");
    }
}
