//! The generate form, both ways: a model's parameters (from the catalog view, the same one
//! `GET /v1/models` answers) as form fields, and a submitted form back into the JSON body the
//! generation API takes. The form shows exactly the parameters a model accepts, with exactly
//! the values it allows.

use reelgate_domain::catalog::{ModelView, ParameterView};
use serde::Serialize;
use serde_json::{Map, Number, Value};
use std::collections::HashMap;

use crate::web::i18n::Locale;
use crate::web::{catalog_text, format};

/// How one parameter is shown.
#[derive(Debug, Serialize)]
pub struct Field {
    pub name: String,
    pub label: String,
    /// `text`, `images`, `choice`, `toggle`, `integer` or `number`.
    pub kind: &'static str,
    /// For choices: how the browser's script types the chosen value (`string`, `integer`,
    /// `boolean`).
    pub value_type: &'static str,
    pub required: bool,
    pub help: String,
    pub placeholder: String,
    /// The current value as the form shows it.
    pub value: String,
    pub values: Vec<Choice>,
    pub min: Option<Value>,
    pub max: Option<Value>,
    pub step: &'static str,
    pub max_length: Option<usize>,
    pub wide: bool,
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Choice {
    pub value: String,
    pub label: String,
    pub note: Option<String>,
    pub title: Option<String>,
    pub available: bool,
    pub checked: bool,
}

/// The form's values by parameter name, as text (what the browser sent, or a prefill).
pub type Values = HashMap<String, String>;

/// A JSON parameter value as the form shows it: image URLs one per line.
pub fn display(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join("\n"),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn is_toggle(p: &ParameterView) -> bool {
    p.kind == "boolean" && p.values.as_ref().is_some_and(|v| v.len() == 2)
}

/// The fields of `model`, filled with `values` (else the defaults), with `errors` by name.
pub fn fields(
    model: &ModelView,
    values: &Values,
    errors: &HashMap<String, String>,
    lang: Locale,
) -> Vec<Field> {
    model
        .parameters
        .iter()
        .filter(|p| p.available)
        .map(|p| field(model, p, values, errors.get(&p.name).cloned(), lang))
        .collect()
}

/// The price of choosing `value`, when `p` is the model's only priced parameter (Veo's
/// resolution), so the choice alone decides it.
fn price_of(model: &ModelView, p: &ParameterView, value: &Value) -> Option<i64> {
    let only_priced = model
        .parameters
        .iter()
        .filter(|q| q.priced)
        .map(|q| q.name.as_str())
        .eq([p.name.as_str()]);
    if !only_priced {
        return None;
    }
    model
        .prices
        .iter()
        .find(|price| price.params.get(&p.name) == Some(value))
        .map(|price| price.credits.get())
}

/// How many images a value takes, when it decides that (Veo's generation types).
fn images_note(lang: Locale, min: Option<usize>, max: Option<usize>) -> Option<String> {
    match (min?, max?) {
        (0, 0) => Some(lang.text("generate.images_none").to_owned()),
        (low, high) if low == high => Some(
            lang.text("generate.images_exactly")
                .replace("{n}", &low.to_string()),
        ),
        (low, high) => Some(
            lang.text("generate.images_range")
                .replace("{min}", &low.to_string())
                .replace("{max}", &high.to_string()),
        ),
    }
}

fn label(lang: Locale, name: &str) -> String {
    let key = format!("param.{name}");
    if lang.has(&key) {
        lang.text(&key).to_owned()
    } else {
        name.replace('_', " ")
    }
}

/// The catalog's words where they are the page's language; otherwise the generic
/// translation of the parameter's purpose.
fn help(lang: Locale, p: &ParameterView) -> String {
    let key = format!("param_help.{}", p.name);
    if lang == Locale::En || !lang.has(&key) {
        p.description.clone()
    } else {
        lang.text(&key).to_owned()
    }
}

fn field(
    model: &ModelView,
    p: &ParameterView,
    values: &Values,
    error: Option<String>,
    lang: Locale,
) -> Field {
    let current = values
        .get(&p.name)
        .cloned()
        .or_else(|| p.default.as_ref().map(display))
        .unwrap_or_default();
    let kind = match (p.kind, p.values.is_some()) {
        ("array", _) => "images",
        ("boolean", _) if is_toggle(p) => "toggle",
        (_, true) => "choice",
        ("string", false) => "text",
        // A bounded whole number (Grok's 6–30 s): a slider, its price following as it moves.
        ("integer", false) if p.minimum.is_some() && p.maximum.is_some() => "slider",
        ("integer", false) => "integer",
        _ => "number",
    };
    let placeholder_key = format!("generate.{}_placeholder", p.name);
    let choices = p
        .values
        .iter()
        .flatten()
        .map(|v| {
            let value = display(&v.value);
            let label = match (p.name.as_str(), &v.value) {
                ("duration", Value::Number(n)) => {
                    lang.text("generate.seconds").replace("{n}", &n.to_string())
                }
                _ => catalog_text::value_label(&p.name, &value, lang)
                    .unwrap_or_else(|| value.clone()),
            };
            let described = v
                .description
                .as_ref()
                .map(|d| {
                    let key = format!("choice.{d}");
                    if lang.has(&key) {
                        lang.text(&key).to_owned()
                    } else {
                        d.clone()
                    }
                })
                // "Standard · standard quality" says one thing twice.
                .filter(|d| {
                    let d = d.to_lowercase();
                    d.strip_suffix(" quality").unwrap_or(&d) != label.to_lowercase()
                });
            let price = price_of(model, p, &v.value).map(|credits| {
                lang.text("generate.choice_price")
                    .replace("{credits}", &format::integer(credits, lang))
            });
            let images = images_note(lang, v.min_images, v.max_images);
            let parts: Vec<String> = [described, images, price].into_iter().flatten().collect();
            let note = (!parts.is_empty()).then(|| parts.join(" · "));
            Choice {
                checked: value == current,
                title: (!v.available).then(|| unavailable_reason(v.reason.as_deref(), lang)),
                available: v.available,
                label,
                note,
                value,
            }
        })
        .collect();
    Field {
        name: p.name.clone(),
        label: label(lang, &p.name),
        kind,
        value_type: match p.kind {
            "integer" => "integer",
            "boolean" => "boolean",
            _ => "string",
        },
        required: p.required,
        help: help(lang, p),
        placeholder: if lang.has(&placeholder_key) {
            lang.text(&placeholder_key).to_owned()
        } else {
            String::new()
        },
        value: current,
        values: choices,
        min: p.minimum.clone(),
        max: p.maximum.clone(),
        step: if p.kind == "integer" { "1" } else { "any" },
        max_length: p.max_length,
        wide: matches!(kind, "text" | "images"),
        error,
    }
}

/// Why a value is off, for the customer's tooltip: the catalog's reason when it is written
/// for customers and we have it in the page's language (`reason.*`); never one about Kie
/// ("Kie's documentation does not list 1:1" is the operator's business); else that the model
/// does not offer it.
fn unavailable_reason(reason: Option<&str>, lang: Locale) -> String {
    let for_customers = reason.filter(|r| !r.contains("Kie"));
    match for_customers {
        Some(r) if lang == Locale::En => r.to_owned(),
        Some(r) if lang.has(&format!("reason.{r}")) => lang.text(&format!("reason.{r}")).to_owned(),
        _ => lang.text("generate.value_unavailable").to_owned(),
    }
}

/// A form value that is not what its field takes (a number field with text in it).
#[derive(Debug, PartialEq)]
pub struct BadValue {
    pub field: String,
}

/// The JSON body for the generation API from the submitted `values` (`images` are the URLs
/// of files uploaded with the form). Parameters left empty are left out, so the catalog
/// applies its defaults and reports what is required; the catalog validates everything else.
pub fn body(
    model: &ModelView,
    values: &Values,
    images: &[String],
) -> Result<Map<String, Value>, BadValue> {
    let mut body = Map::new();
    body.insert("model".into(), Value::String(model.id.to_string()));
    for p in model.parameters.iter().filter(|p| p.available) {
        let raw = values.get(&p.name).map(|v| v.trim()).unwrap_or_default();
        let bad = || BadValue {
            field: p.name.clone(),
        };
        let value = match p.kind {
            "array" => {
                let mut urls: Vec<Value> = raw
                    .split_whitespace()
                    .map(|u| Value::String(u.to_owned()))
                    .collect();
                urls.extend(images.iter().cloned().map(Value::String));
                (!urls.is_empty()).then_some(Value::Array(urls))
            }
            // An unchecked checkbox sends nothing: for a toggle that means off.
            "boolean" if is_toggle(p) => Some(Value::Bool(raw == "true")),
            "boolean" => match raw {
                "" => None,
                "true" => Some(Value::Bool(true)),
                "false" => Some(Value::Bool(false)),
                _ => return Err(bad()),
            },
            "integer" if !raw.is_empty() => {
                Some(Value::from(raw.parse::<i64>().map_err(|_| bad())?))
            }
            "number" if !raw.is_empty() => {
                let n: f64 = raw.parse().map_err(|_| bad())?;
                Some(Value::Number(Number::from_f64(n).ok_or_else(bad)?))
            }
            _ if raw.is_empty() => None,
            _ => Some(Value::String(raw.to_owned())),
        };
        if let Some(value) = value {
            body.insert(p.name.clone(), value);
        }
    }
    Ok(body)
}

/// The body with stand-ins for what the price does not depend on but validation requires (a
/// prompt, image URLs), so a price can be shown before they are filled in.
pub fn priceable(model: &ModelView, mut body: Map<String, Value>) -> Map<String, Value> {
    for p in model
        .parameters
        .iter()
        .filter(|p| p.available && p.required)
    {
        if body.contains_key(&p.name) {
            continue;
        }
        match p.kind {
            "string" if p.values.is_none() => {
                body.insert(p.name.clone(), "price preview".into());
            }
            "array" => {
                let count = p.min_items.unwrap_or(1).max(1);
                let urls = (0..count)
                    .map(|i| Value::String(format!("https://upload.invalid/preview-{i}.png")))
                    .collect();
                body.insert(p.name.clone(), Value::Array(urls));
            }
            _ => {}
        }
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use reelgate_domain::catalog::Catalog;

    fn kling() -> ModelView {
        Catalog::builtin()
            .unwrap()
            .view()
            .into_iter()
            .find(|m| m.id.as_str() == "kling-2.6/text-to-video")
            .unwrap()
    }

    fn values(pairs: &[(&str, &str)]) -> Values {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_form_shows_exactly_the_models_offered_parameters() {
        let fields = fields(&kling(), &Values::new(), &HashMap::new(), Locale::En);
        let names: Vec<_> = fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["prompt", "aspect_ratio", "duration", "sound"]);
        let duration = &fields[2];
        assert_eq!(duration.kind, "choice");
        let shown: Vec<_> = duration.values.iter().map(|c| c.value.as_str()).collect();
        assert_eq!(shown, ["5", "10"]);
        assert!(duration.values[0].checked, "the default is chosen");
        assert_eq!(fields[3].kind, "toggle");
    }

    fn model(id: &str) -> ModelView {
        Catalog::builtin()
            .unwrap()
            .view()
            .into_iter()
            .find(|m| m.id.as_str() == id)
            .unwrap()
    }

    fn notes(fields: &[Field], name: &str) -> Vec<(String, String, bool)> {
        let field = fields.iter().find(|f| f.name == name).unwrap();
        field
            .values
            .iter()
            .map(|c| {
                (
                    c.value.clone(),
                    c.note.clone().unwrap_or_default(),
                    c.available,
                )
            })
            .collect()
    }

    #[test]
    fn veo_shows_each_resolution_with_its_price_and_each_generation_type_with_its_images() {
        let lite = fields_of("veo3-lite");
        assert_eq!(
            notes(&lite, "resolution"),
            [
                ("720p".into(), "HD · 25 credits".into(), true),
                ("1080p".into(), "Full HD · 30 credits".into(), true),
                ("4k".into(), "Ultra HD · 120 credits".into(), true),
            ]
        );
        let types = notes(&lite, "generation_type");
        assert_eq!(types[0].1, "from the prompt alone · no images");
        assert!(types[1].1.ends_with("· 1–2 images"), "{types:?}");
        assert!(types[2].1.ends_with("· 1–3 images"), "{types:?}");
        // Quality takes no reference images: shown, off, with the customer's reason.
        let quality = fields_of("veo3");
        let reference = quality
            .iter()
            .find(|f| f.name == "generation_type")
            .unwrap()
            .values
            .iter()
            .find(|c| c.value == "reference")
            .unwrap();
        assert!(!reference.available);
        assert!(reference
            .title
            .as_deref()
            .unwrap()
            .contains("Fast and Lite do"));
        // Kling has two priced parameters: no single choice decides the price.
        let kling = fields_of("kling-2.6/text-to-video");
        assert!(notes(&kling, "duration")
            .iter()
            .all(|(_, note, _)| note.is_empty()));
        let tr = fields(
            &model("veo3-lite"),
            &Values::new(),
            &HashMap::new(),
            Locale::Tr,
        );
        assert_eq!(notes(&tr, "resolution")[2].1, "Ultra HD · 120 kredi");
    }

    fn fields_of(id: &str) -> Vec<Field> {
        fields(&model(id), &Values::new(), &HashMap::new(), Locale::En)
    }

    #[test]
    fn a_submitted_form_becomes_the_api_body_with_typed_values() {
        let body = body(
            &kling(),
            &values(&[
                ("prompt", " a fox "),
                ("duration", "10"),
                ("aspect_ratio", "1:1"),
            ]),
            &[],
        )
        .unwrap();
        assert_eq!(
            Value::Object(body),
            serde_json::json!({"model": "kling-2.6/text-to-video", "prompt": "a fox",
                "duration": 10, "aspect_ratio": "1:1", "sound": false})
        );
    }

    #[test]
    fn text_in_a_number_field_is_reported_for_that_field() {
        let err = body(&kling(), &values(&[("duration", "ten")]), &[]).unwrap_err();
        assert_eq!(err.field, "duration");
    }

    #[test]
    fn uploaded_images_join_the_typed_urls() {
        let model = Catalog::builtin()
            .unwrap()
            .view()
            .into_iter()
            .find(|m| m.id.as_str() == "kling-2.6/image-to-video")
            .unwrap();
        let body = body(
            &model,
            &values(&[("image_urls", "https://a.example/1.png\n")]),
            &["https://files.example/2.png".to_owned()],
        )
        .unwrap();
        assert_eq!(
            body["image_urls"],
            serde_json::json!(["https://a.example/1.png", "https://files.example/2.png"])
        );
    }

    #[test]
    fn a_price_can_be_shown_before_the_prompt_is_written() {
        let catalog = Catalog::builtin().unwrap();
        let model = kling();
        let empty = body(&model, &Values::new(), &[]).unwrap();
        assert!(catalog.parse(&empty).is_err(), "the prompt is required");
        let quote = catalog.parse(&priceable(&model, empty)).unwrap();
        assert_eq!(quote.quote().credits.get(), 45);
    }
}
