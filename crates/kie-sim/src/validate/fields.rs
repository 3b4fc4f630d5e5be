//! Typed reads of one JSON object's fields, each failure a 422 naming the field.

use std::ops::RangeInclusive;

use serde_json::{Map, Value};

use super::Rejection;

type Result<T> = std::result::Result<T, Rejection>;

/// One JSON object (the body, or its `input`) and the prefix its field names get in messages.
pub(crate) struct Fields<'a> {
    obj: &'a Map<String, Value>,
    prefix: &'static str,
}

impl<'a> Fields<'a> {
    pub fn body(value: &'a Value) -> Result<Self> {
        match value {
            Value::Object(obj) => Ok(Self { obj, prefix: "" }),
            _ => Err(Rejection::invalid("the request body must be a JSON object")),
        }
    }

    /// The jobs API's `input` object; its field names are reported as `input.<name>`.
    pub fn input(&self) -> Result<Fields<'a>> {
        match self.get("input") {
            Some(Value::Object(obj)) => Ok(Fields {
                obj,
                prefix: "input.",
            }),
            Some(_) => Err(Rejection::invalid("input must be a JSON object")),
            None => Err(Rejection::invalid("input is required")),
        }
    }

    fn name(&self, field: &str) -> String {
        format!("{}{field}", self.prefix)
    }

    /// `null` counts as absent, as it does for Kie's optional fields.
    pub fn get(&self, field: &str) -> Option<&'a Value> {
        self.obj.get(field).filter(|v| !v.is_null())
    }

    pub fn has(&self, field: &str) -> bool {
        self.get(field).is_some()
    }

    fn missing(&self, field: &str) -> Rejection {
        Rejection::invalid(format!("{} is required", self.name(field)))
    }

    /// Refuses any field Kie does not document for `owner`.
    pub fn only(&self, allowed: &[&str], owner: &str) -> Result<()> {
        match self.obj.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(unknown) => Err(Rejection::invalid(format!(
                "{} is not a parameter of {owner}",
                self.name(unknown)
            ))),
            None => Ok(()),
        }
    }

    pub fn string(&self, field: &str) -> Result<Option<&'a str>> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(Rejection::invalid(format!(
                "{} must be a string",
                self.name(field)
            ))),
        }
    }

    pub fn required_string(&self, field: &str) -> Result<&'a str> {
        self.string(field)?.ok_or_else(|| self.missing(field))
    }

    /// A non-blank prompt of at most `max_chars` characters (Unicode scalar values).
    pub fn prompt(&self, required: bool, max_chars: Option<usize>) -> Result<()> {
        let Some(text) = self.string("prompt")? else {
            return if required {
                Err(self.missing("prompt"))
            } else {
                Ok(())
            };
        };
        if text.trim().is_empty() {
            return Err(Rejection::invalid(format!(
                "{} must not be empty",
                self.name("prompt")
            )));
        }
        let chars = text.chars().count();
        match max_chars {
            Some(max) if chars > max => Err(Rejection::invalid(format!(
                "{} must be at most {max} characters (got {chars})",
                self.name("prompt")
            ))),
            _ => Ok(()),
        }
    }

    /// A string from a fixed list; anything else (a number where a string is expected
    /// included) is refused with the list of allowed values.
    pub fn choice(&self, field: &str, allowed: &[&'static str]) -> Result<Option<&'static str>> {
        let Some(value) = self.get(field) else {
            return Ok(None);
        };
        let found = value
            .as_str()
            .and_then(|s| allowed.iter().copied().find(|a| *a == s));
        found.map(Some).ok_or_else(|| {
            let list = allowed
                .iter()
                .map(|a| format!("\"{a}\""))
                .collect::<Vec<_>>()
                .join(", ");
            Rejection::invalid(format!(
                "{} must be one of {list} (got {value})",
                self.name(field)
            ))
        })
    }

    pub fn required_choice(&self, field: &str, allowed: &[&'static str]) -> Result<&'static str> {
        self.choice(field, allowed)?
            .ok_or_else(|| self.missing(field))
    }

    pub fn boolean(&self, field: &str) -> Result<Option<bool>> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(Rejection::invalid(format!(
                "{} must be true or false (got {other})",
                self.name(field)
            ))),
        }
    }

    pub fn required_boolean(&self, field: &str) -> Result<bool> {
        self.boolean(field)?.ok_or_else(|| self.missing(field))
    }

    /// A whole number in `range`; with `digit_strings`, `"6"` counts as 6 (Kie's Grok example
    /// sends its duration as a string although its schema says number).
    pub fn integer(
        &self,
        field: &str,
        range: RangeInclusive<i64>,
        digit_strings: bool,
    ) -> Result<Option<i64>> {
        let Some(value) = self.get(field) else {
            return Ok(None);
        };
        let parsed = match value {
            Value::Number(n) => n.as_i64(),
            Value::String(s) if digit_strings && is_short_digits(s) => s.parse().ok(),
            _ => None,
        };
        match parsed {
            Some(n) if range.contains(&n) => Ok(Some(n)),
            _ => Err(Rejection::invalid(format!(
                "{} must be a whole number from {} to {} (got {value})",
                self.name(field),
                range.start(),
                range.end()
            ))),
        }
    }

    /// A list of `count` http(s) URLs; absent is `Ok(0)`, an empty list counts as absent.
    pub fn urls(&self, field: &str, count: RangeInclusive<usize>) -> Result<usize> {
        let Some(value) = self.get(field) else {
            return Ok(0);
        };
        let Some(list) = value.as_array() else {
            return Err(Rejection::invalid(format!(
                "{} must be a list of image URLs",
                self.name(field)
            )));
        };
        if !list.is_empty() && !count.contains(&list.len()) {
            let (min, max) = (count.start(), count.end());
            let allowed = if min == max {
                format!("exactly {min} URL")
            } else {
                format!("{min} to {max} URLs")
            };
            return Err(Rejection::invalid(format!(
                "{} must hold {allowed} (got {})",
                self.name(field),
                list.len()
            )));
        }
        for (i, item) in list.iter().enumerate() {
            if !item.as_str().is_some_and(is_web_url) {
                return Err(Rejection::invalid(format!(
                    "{}[{i}] is not an http(s) URL",
                    self.name(field)
                )));
            }
        }
        Ok(list.len())
    }

    /// A single http(s) URL such as `callBackUrl`.
    pub fn url(&self, field: &str) -> Result<Option<String>> {
        match self.string(field)? {
            None => Ok(None),
            Some(s) if is_web_url(s) => Ok(Some(s.to_owned())),
            Some(_) => Err(Rejection::invalid(format!(
                "{} is not an http(s) URL",
                self.name(field)
            ))),
        }
    }
}

fn is_short_digits(s: &str) -> bool {
    !s.is_empty() && s.len() <= 6 && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_web_url(s: &str) -> bool {
    url::Url::parse(s)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
}
