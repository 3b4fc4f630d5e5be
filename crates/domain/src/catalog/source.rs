//! Where a catalog setting came from, so that every error names the file, the line and the key.

use std::fmt;
use std::ops::Range;

/// The two layers of catalog data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `default.toml`, compiled into the binary.
    Builtin,
    /// The operator's file (`REELGATE_PRICING_FILE`).
    PricingFile,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Builtin => "built-in catalog",
            Source::PricingFile => "pricing file",
        })
    }
}

/// Catalog data that cannot be used: malformed TOML, a wrong type, or a setting that
/// contradicts another. Start-up stops with this message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin} line {line}, `{key}`: {message}")]
pub struct CatalogError {
    pub origin: Source,
    /// 1-based.
    pub line: usize,
    /// Dotted TOML path, e.g. `models."veo3".params.aspect_ratio.default`.
    pub key: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Origin {
    pub source: Source,
    pub span: Range<usize>,
}

/// The texts the spans point into.
pub(crate) struct Texts<'a> {
    pub builtin: &'a str,
    pub pricing_file: &'a str,
}

impl<'a> Texts<'a> {
    pub fn text(&self, source: Source) -> &'a str {
        match source {
            Source::Builtin => self.builtin,
            Source::PricingFile => self.pricing_file,
        }
    }

    pub fn error(
        &self,
        at: &Origin,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> CatalogError {
        let text = self.text(at.source);
        CatalogError {
            origin: at.source,
            line: line_of(text, at.span.start),
            key: key.into(),
            message: message.into(),
        }
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    let before = text.as_bytes().get(..offset).unwrap_or(text.as_bytes());
    before.iter().filter(|b| **b == b'\n').count() + 1
}

/// toml's own errors carry a span but do not expose the key they were deserialising, so the
/// key is read back from the text around the span.
pub(crate) fn toml_error(source: Source, text: &str, error: &toml::de::Error) -> CatalogError {
    let offset = error.span().map_or(0, |span| span.start).min(text.len());
    CatalogError {
        origin: source,
        line: line_of(text, offset),
        key: key_at(text, offset),
        message: error.message().trim().to_owned(),
    }
}

/// The dotted key of the setting at `offset`: the last table header above it, the key on its
/// line and, inside an inline table, the inner key.
fn key_at(text: &str, offset: usize) -> String {
    let before = text.get(..offset).unwrap_or(text);
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[line_start..]
        .find('\n')
        .map_or(text.len(), |i| line_start + i);
    let line = &text[line_start..line_end];
    if let Some(header) = header_of(line) {
        return header;
    }
    let above = &before[..line_start];
    let table = above.lines().rev().find_map(header_of);
    let head = line.get(..offset - line_start).unwrap_or(line);
    let mut parts: Vec<String> = table.into_iter().collect();
    // A line of a multi-line array of inline tables belongs to the key that opened the array.
    let (outer, inline) = if line.trim_start().starts_with('{') {
        let opener = above.lines().rev().find_map(|l| {
            let (key, rest) = l.split_once('=')?;
            rest.trim_start().starts_with('[').then(|| key.trim())
        });
        (opener, head)
    } else if let Some((key, _)) = line.split_once('=') {
        (Some(key.trim()), head.get(key.len() + 1..).unwrap_or(""))
    } else {
        (Some(line.trim()), "")
    };
    parts.extend(outer.filter(|k| !k.is_empty()).map(str::to_owned));
    if let Some(open) = inline.rfind(['{', ',']) {
        if let Some((inner, _)) = inline[open + 1..].split_once('=') {
            parts.push(inner.trim().to_owned());
        }
    }
    parts.join(".")
}

fn header_of(line: &str) -> Option<String> {
    let line = line.trim();
    let inner = line.strip_prefix('[')?;
    let end = inner.rfind(']')?;
    Some(inner[..end].trim_matches(['[', ']', ' ']).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_at_names_table_and_key() {
        let text = "[pricing]\nmarkup = \"x\"\n[models.\"veo3\".params.aspect_ratio]\nvalues = [{ value = \"16:9\", wire = 5 }]\n";
        let offset = text.find("\"x\"").unwrap();
        assert_eq!(key_at(text, offset), "pricing.markup");
        let offset = text.find("5 }").unwrap();
        assert_eq!(
            key_at(text, offset),
            "models.\"veo3\".params.aspect_ratio.values.wire"
        );
        let offset = text.find("[models").unwrap() + 1;
        assert_eq!(key_at(text, offset), "models.\"veo3\".params.aspect_ratio");
    }

    #[test]
    fn line_numbers_are_one_based() {
        assert_eq!(line_of("a\nb\nc", 0), 1);
        assert_eq!(line_of("a\nb\nc", 4), 3);
    }
}
