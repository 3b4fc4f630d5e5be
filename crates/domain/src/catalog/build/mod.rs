//! From data layers to a checked `Catalog`. Everything that could contradict itself is
//! checked here, once, at start-up; parsing a request afterwards cannot meet a bad catalog.

mod costs;
mod layers;
mod params;
mod values;

use kie::{AspectRatioField, VeoModel, VeoResolution};

use self::costs::CostRow;
use self::layers::{pick, Ctx, Found, Layer};
use self::params::Built;
use super::data::{Doc, EndpointKind, ModelDoc, RuleDoc};
use super::source::{CatalogError, Origin, Source, Texts};
use super::spec::{Endpoint, ModelId, ModelSpec, ParamKind, ParamSpec, ScalarType, VEO_RESOLUTION};
use super::Catalog;
use crate::pricing::{PriceRule, PriceRuleError};

pub(crate) fn build(
    texts: Texts<'_>,
    builtin: &Doc,
    file: Option<&Doc>,
) -> Result<Catalog, CatalogError> {
    let ctx = Ctx {
        texts,
        builtin,
        file,
    };
    let rule = rule(&ctx)?;
    let mut drafts = Vec::new();
    for id in ctx.model_ids() {
        drafts.push(draft(&ctx, id)?);
    }
    let mut models = Vec::new();
    for draft in &drafts {
        let inherited = match &draft.costs_from {
            Some(from) => source_rows(&ctx, draft, from, &drafts)?,
            None => &[],
        };
        let prices = costs::price_points(&ctx, &rule, &draft.spec.params, &draft.rows, inherited)?;
        models.push(ModelSpec {
            prices,
            ..draft.spec.clone()
        });
    }
    Ok(Catalog { rule, models })
}

fn rule(ctx: &Ctx<'_>) -> Result<PriceRule, CatalogError> {
    let stack = ctx.pricing_layers();
    let missing = |field: &str| match stack.first() {
        Some(top) => ctx.missing(top, field),
        None => ctx.error(
            &Origin {
                source: Source::Builtin,
                span: 0..0,
            },
            "pricing",
            "the [pricing] table is missing",
        ),
    };
    let markup =
        pick(&stack, "markup", |r: &RuleDoc| r.markup.as_ref()).ok_or_else(|| missing("markup"))?;
    let rate = pick(&stack, "credits_per_usd", |r: &RuleDoc| {
        r.credits_per_usd.as_ref()
    })
    .ok_or_else(|| missing("credits_per_usd"))?;
    let step =
        pick(&stack, "step", |r: &RuleDoc| r.step.as_ref()).ok_or_else(|| missing("step"))?;
    PriceRule::new(*markup.value, *rate.value, *step.value).map_err(|e| match e {
        PriceRuleError::NegativeMarkup => ctx.found_error(&markup, e.to_string()),
        PriceRuleError::NonPositiveRate => ctx.found_error(&rate, e.to_string()),
        PriceRuleError::NonPositiveStep => ctx.found_error(&step, e.to_string()),
    })
}

/// A model before its prices: its spec and the cost rows it writes itself.
struct Draft<'a> {
    spec: ModelSpec,
    rows: Vec<CostRow<'a>>,
    costs_from: Option<Found<'a, String>>,
}

fn draft<'a>(ctx: &Ctx<'a>, id: &'a str) -> Result<Draft<'a>, CatalogError> {
    let own = ctx.own_layers(id);
    let chain = ctx.chain(id)?;
    let top = &own[0];
    if !valid_id(id) {
        return Err(ctx.error(
            &top.at(),
            top.key.clone(),
            "a model id is made of a-z, 0-9, and . _ / -",
        ));
    }
    let text = |stack: &[Layer<'a, ModelDoc>],
                field: &str,
                get: fn(&ModelDoc) -> Option<&toml::Spanned<String>>| {
        pick(stack, field, get)
            .map(|f| f.value.clone())
            .ok_or_else(|| ctx.missing(top, field))
    };
    let family = text(&chain, "family", |m| m.family.as_ref())?;
    let title = text(&own, "title", |m| m.title.as_ref())?;
    let description = text(&own, "description", |m| m.description.as_ref())?;
    let mode = *pick(&chain, "mode", |m| m.mode.as_ref())
        .ok_or_else(|| ctx.missing(top, "mode"))?
        .value;
    let kind = pick(&chain, "endpoint", |m| m.endpoint.as_ref())
        .ok_or_else(|| ctx.missing(top, "endpoint"))?;
    let built = params::build_all(ctx, &chain)?;
    let endpoint = endpoint(ctx, id, &own, *kind.value, &built)?;
    let params: Vec<ParamSpec> = built.into_iter().map(|b| b.spec).collect();
    let rows = costs::own_rows(ctx, &own, &params)?;
    let spec = ModelSpec {
        id: ModelId::new(id),
        family,
        title,
        description,
        mode,
        endpoint,
        enabled: pick(&own, "enabled", |m| m.enabled.as_ref()).is_none_or(|f| *f.value),
        reason: pick(&own, "reason", |m| m.reason.as_ref()).map(|f| f.value.clone()),
        params,
        prices: Vec::new(),
    };
    let costs_from = pick(&own, "costs_from", |m| m.costs_from.as_ref());
    Ok(Draft {
        spec,
        rows,
        costs_from,
    })
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._/-".contains(c))
}

/// The rows of the model named by `costs_from`, which must be priced by the same parameters.
fn source_rows<'d, 'a>(
    ctx: &Ctx<'_>,
    draft: &Draft<'a>,
    from: &Found<'a, String>,
    drafts: &'d [Draft<'a>],
) -> Result<&'d [CostRow<'a>], CatalogError> {
    let source = drafts
        .iter()
        .find(|d| d.spec.id.as_str() == from.value && d.spec.id != draft.spec.id)
        .ok_or_else(|| {
            ctx.found_error(from, format!("there is no other model {:?}", from.value))
        })?;
    let dims = |spec: &ModelSpec| -> Vec<String> {
        spec.params
            .iter()
            .filter(|p| p.priced)
            .map(|p| p.name.clone())
            .collect()
    };
    if dims(&source.spec) != dims(&draft.spec) {
        return Err(ctx.found_error(
            from,
            format!(
                "{} is priced by ({}), this model by ({})",
                from.value,
                dims(&source.spec).join(", "),
                dims(&draft.spec).join(", ")
            ),
        ));
    }
    Ok(&source.rows)
}

/// Which endpoint, under which wire model name. Veo's body is a fixed struct, so its
/// parameters may only map to the fields it has.
fn endpoint(
    ctx: &Ctx<'_>,
    id: &str,
    own: &[Layer<'_, ModelDoc>],
    kind: EndpointKind,
    params: &[Built],
) -> Result<Endpoint, CatalogError> {
    let wire_model = pick(own, "wire_model", |m| m.wire_model.as_ref());
    let mut seen: Vec<&str> = Vec::new();
    for p in params {
        if seen.contains(&p.spec.wire_field.as_str()) {
            return Err(ctx.error(
                &p.at,
                format!("{}.wire_field", p.key),
                format!("another parameter is already sent as {}", p.spec.wire_field),
            ));
        }
        seen.push(&p.spec.wire_field);
    }
    match kind {
        EndpointKind::Jobs => Ok(Endpoint::Jobs {
            model: wire_model.map_or_else(|| id.to_owned(), |f| f.value.clone()),
        }),
        EndpointKind::Veo => {
            let top = &own[0];
            let wire_model = wire_model.ok_or_else(|| ctx.missing(top, "wire_model"))?;
            let model = VeoModel::from_wire(wire_model.value).ok_or_else(|| {
                ctx.found_error(
                    &wire_model,
                    "Kie's Veo endpoint knows veo3, veo3_fast and veo3_lite",
                )
            })?;
            let mut ratio_field = None;
            for p in params {
                let fits = match p.spec.wire_field.as_str() {
                    "prompt" => matches!(p.spec.kind, ParamKind::Text { .. }) && p.spec.required,
                    "imageUrls" => matches!(p.spec.kind, ParamKind::ImageUrls { .. }),
                    field @ ("aspect_ratio" | "aspectRatio") => {
                        ratio_field = Some(if field == "aspectRatio" {
                            AspectRatioField::Camel
                        } else {
                            AspectRatioField::Snake
                        });
                        is_string_choice(&p.spec) && p.spec.default.is_some()
                    }
                    "generationType" => is_string_choice(&p.spec),
                    "watermark" => matches!(p.spec.kind, ParamKind::Text { .. }),
                    "enableTranslation" => matches!(
                        p.spec.kind,
                        ParamKind::Choice {
                            ty: ScalarType::Boolean,
                            ..
                        }
                    ),
                    // Not a body field: the 1080p or 4K version is asked for once the 720p
                    // one is made, so its wire values must be the ones reelgate knows.
                    VEO_RESOLUTION => is_resolution_choice(&p.spec),
                    _ => false,
                };
                if !fits {
                    return Err(ctx.error(&p.at, p.key.clone(), "Veo's body takes only a required text `prompt`, image `imageUrls`, an `aspect_ratio` (or `aspectRatio`) choice of strings with a default, a `generationType` choice of strings, a text `watermark`, a boolean `enableTranslation`, and a `resolution` choice of 720p, 1080p and 4K"));
                }
            }
            let ratio_field = ratio_field.ok_or_else(|| {
                ctx.error(
                    &top.at(),
                    format!("{}.params", top.key),
                    "Veo needs an aspect ratio parameter",
                )
            })?;
            if !params.iter().any(|p| p.spec.wire_field == "prompt") {
                return Err(ctx.error(
                    &top.at(),
                    format!("{}.params", top.key),
                    "Veo needs a prompt parameter",
                ));
            }
            Ok(Endpoint::Veo { model, ratio_field })
        }
    }
}

fn is_resolution_choice(spec: &ParamSpec) -> bool {
    is_string_choice(spec)
        && spec.default.is_some()
        && matches!(&spec.kind, ParamKind::Choice { values, .. }
            if values.iter().all(|v| v.wire.as_str().and_then(VeoResolution::from_wire).is_some()))
}

fn is_string_choice(spec: &ParamSpec) -> bool {
    matches!(&spec.kind, ParamKind::Choice { values, .. } if values.iter().all(|v| v.wire.is_string()))
}
