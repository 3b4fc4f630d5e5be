//! Reading a setting through the layers: the operator's file over the built-in catalog, and a
//! model over the model it `extends`. The first layer that sets a field wins, and the answer
//! remembers where it was written so that errors name the right file, line and key.

use toml::Spanned;

use crate::catalog::data::{Doc, ModelDoc};
use crate::catalog::source::{CatalogError, Origin, Source, Texts};

/// One table of one layer, with its dotted key and where it starts.
pub(crate) struct Layer<'a, D> {
    pub source: Source,
    pub key: String,
    pub doc: &'a D,
    pub at: Origin,
}

impl<'a, D> Layer<'a, D> {
    /// A table written as an element of an array (a value, a cost row): toml spans those.
    pub fn spanned(source: Source, key: String, doc: &'a Spanned<D>) -> Self {
        Layer {
            source,
            key,
            doc: doc.get_ref(),
            at: Origin {
                source,
                span: doc.span(),
            },
        }
    }

    pub fn at(&self) -> Origin {
        self.at.clone()
    }

    pub fn get(&self) -> &'a D {
        self.doc
    }
}

/// A field's value and where it was set.
pub(crate) struct Found<'a, T> {
    pub value: &'a T,
    pub at: Origin,
    pub key: String,
}

/// The first layer that sets the field.
pub(crate) fn pick<'a, D, T>(
    stack: &[Layer<'a, D>],
    name: &str,
    field: impl Fn(&'a D) -> Option<&'a Spanned<T>>,
) -> Option<Found<'a, T>> {
    stack.iter().find_map(|layer| {
        field(layer.doc).map(|spanned| Found {
            value: spanned.get_ref(),
            at: Origin {
                source: layer.source,
                span: spanned.span(),
            },
            key: format!("{}.{name}", layer.key),
        })
    })
}

/// A TOML key segment, quoted when it is not a bare key.
pub(crate) fn quote(segment: &str) -> String {
    let bare = !segment.is_empty()
        && segment
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        segment.to_owned()
    } else {
        format!("{segment:?}")
    }
}

pub(crate) struct Ctx<'a> {
    pub texts: Texts<'a>,
    pub builtin: &'a Doc,
    pub file: Option<&'a Doc>,
}

impl<'a> Ctx<'a> {
    pub fn error(
        &self,
        at: &Origin,
        key: impl Into<String>,
        message: impl Into<String>,
    ) -> CatalogError {
        self.texts.error(at, key, message)
    }

    pub fn found_error<T>(&self, found: &Found<'_, T>, message: impl Into<String>) -> CatalogError {
        self.texts.error(&found.at, found.key.clone(), message)
    }

    pub fn missing<D>(&self, top: &Layer<'_, D>, field: &str) -> CatalogError {
        self.texts.error(
            &top.at(),
            format!("{}.{field}", top.key),
            format!("`{field}` is required"),
        )
    }

    /// Both layers' `[pricing]` tables, the operator's first.
    pub fn pricing_layers(&self) -> Vec<Layer<'a, crate::catalog::data::RuleDoc>> {
        self.docs()
            .filter_map(|(source, doc)| {
                doc.pricing.as_ref().map(|table| Layer {
                    source,
                    key: "pricing".to_owned(),
                    doc: table,
                    at: self.table_origin(source, "pricing"),
                })
            })
            .collect()
    }

    /// Every model id, in the order the built-in catalog lists them, then the operator's new
    /// ones in the order of the file (spans give the order that TOML tables do not keep).
    pub fn model_ids(&self) -> Vec<&'a str> {
        let mut ids: Vec<(u8, usize, &'a str)> = Vec::new();
        for (rank, doc) in [(0, Some(self.builtin)), (1, self.file)] {
            let source = if rank == 0 {
                Source::Builtin
            } else {
                Source::PricingFile
            };
            for id in doc.iter().flat_map(|d| d.models.keys()) {
                if !ids.iter().any(|(_, _, seen)| *seen == id) {
                    let at = self.table_origin(source, &format!("models.{}", quote(id)));
                    ids.push((rank, at.span.start, id.as_str()));
                }
            }
        }
        ids.sort();
        ids.into_iter().map(|(_, _, id)| id).collect()
    }

    /// The model's own tables, the operator's first.
    pub fn own_layers(&self, id: &str) -> Vec<Layer<'a, ModelDoc>> {
        self.docs()
            .filter_map(|(source, doc)| {
                doc.models.get(id).map(|table| {
                    let key = format!("models.{}", quote(id));
                    Layer {
                        source,
                        at: self.table_origin(source, &key),
                        key,
                        doc: table,
                    }
                })
            })
            .collect()
    }

    /// The model's own tables followed by those of the models it extends, nearest first.
    pub fn chain(&self, id: &str) -> Result<Vec<Layer<'a, ModelDoc>>, CatalogError> {
        let mut chain = self.own_layers(id);
        let mut seen = vec![id.to_owned()];
        let mut current = id.to_owned();
        loop {
            let own = self.own_layers(&current);
            let Some(parent) = pick(&own, "extends", |m| m.extends.as_ref()) else {
                return Ok(chain);
            };
            if seen.contains(parent.value) {
                return Err(self.found_error(&parent, "`extends` goes round in a circle"));
            }
            let parent_layers = self.own_layers(parent.value);
            if parent_layers.is_empty() {
                return Err(self.found_error(
                    &parent,
                    format!("there is no model {:?} to extend", parent.value),
                ));
            }
            seen.push(parent.value.clone());
            current = parent.value.clone();
            chain.extend(parent_layers);
        }
    }

    /// Where a table starts: the first header that names it, or failing that the header that
    /// names most of its path (a table can be implied by a longer header, or written inline).
    pub fn table_origin(&self, source: Source, key: &str) -> Origin {
        let text = self.texts.text(source);
        let wanted = normalise(key);
        let mut best: (usize, usize) = (0, 0);
        let mut offset = 0;
        for line in text.split_inclusive('\n') {
            if let Some(header) = line.trim_start().strip_prefix('[') {
                let header = normalise(header.split('#').next().unwrap_or(header));
                let matched = if wanted.starts_with(&header) || header.starts_with(&wanted) {
                    header.len().min(wanted.len())
                } else {
                    0
                };
                if matched > best.0 {
                    best = (matched, offset);
                }
            }
            offset += line.len();
        }
        Origin {
            source,
            span: best.1..best.1,
        }
    }

    fn docs(&self) -> impl Iterator<Item = (Source, &'a Doc)> {
        self.file
            .map(|doc| (Source::PricingFile, doc))
            .into_iter()
            .chain(std::iter::once((Source::Builtin, self.builtin)))
    }
}

/// A TOML path without quotes, brackets or spaces, for comparing headers.
fn normalise(path: &str) -> String {
    path.chars()
        .filter(|c| !matches!(c, '"' | '\'' | '[' | ']' | ' ' | '\t' | '\r' | '\n'))
        .collect()
}
