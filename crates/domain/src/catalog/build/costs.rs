//! Each model's cost rows, and its price points: every combination of its priced parameters'
//! values with the price the rule (or the operator's fixed price) gives it.

use rust_decimal::Decimal;

use super::layers::{pick, Ctx, Found, Layer};
use super::values::scalar;
use crate::catalog::data::{CostDoc, ModelDoc};
use crate::catalog::source::{CatalogError, Origin};
use crate::catalog::spec::{ParamKind, ParamSpec};
use crate::pricing::{Combination, Price, PricePoint, PriceRule, Unpriced};
use crate::Credits;

/// One combination's cost settings, merged over the layers field by field.
pub(crate) struct CostRow<'a> {
    pub combination: Combination,
    /// With the note written next to it: a note describes the cost of its own row.
    pub cost_usd: Option<(Found<'a, Decimal>, Option<&'a String>)>,
    pub credits: Option<Found<'a, i64>>,
}

/// The rows a model writes itself (not those of `costs_from`).
pub(crate) fn own_rows<'a>(
    ctx: &Ctx<'_>,
    own: &[Layer<'a, ModelDoc>],
    params: &[ParamSpec],
) -> Result<Vec<CostRow<'a>>, CatalogError> {
    let mut rows: Vec<CostRow<'a>> = Vec::new();
    for layer in own {
        let mut in_this_layer = Vec::new();
        for (index, doc) in layer.get().costs.iter().enumerate() {
            let key = format!("{}.costs[{index}]", layer.key);
            let entry = Layer::spanned(layer.source, key, doc);
            let combination = combination(ctx, &entry, params)?;
            if in_this_layer.contains(&combination) {
                return Err(ctx.error(
                    &entry.at(),
                    format!("{}.when", entry.key),
                    format!("a second cost for {}", shown(&combination)),
                ));
            }
            in_this_layer.push(combination.clone());
            let one = [entry];
            let cost_usd = pick(&one, "cost_usd", |c: &CostDoc| c.cost_usd.as_ref());
            let credits = pick(&one, "credits", |c: &CostDoc| c.credits.as_ref());
            if let Some(cost) = cost_usd.as_ref().filter(|c| *c.value <= Decimal::ZERO) {
                return Err(ctx.found_error(cost, "a cost must be more than zero"));
            }
            if let Some(fixed) = credits.as_ref().filter(|c| *c.value <= 0) {
                return Err(ctx.found_error(fixed, "a fixed price must be at least 1 credit"));
            }
            let note = doc.get_ref().note.as_ref().map(|n| n.get_ref());
            let cost_usd = cost_usd.map(|cost| (cost, note));
            match rows.iter_mut().find(|r| r.combination == combination) {
                // A nearer layer already set this combination: fill only what it left out.
                Some(row) => {
                    row.cost_usd = row.cost_usd.take().or(cost_usd);
                    row.credits = row.credits.take().or(credits);
                }
                None => rows.push(CostRow {
                    combination,
                    cost_usd,
                    credits,
                }),
            }
        }
    }
    Ok(rows)
}

/// `when` must give one declared value for each priced parameter, and nothing else.
fn combination(
    ctx: &Ctx<'_>,
    entry: &Layer<'_, CostDoc>,
    params: &[ParamSpec],
) -> Result<Combination, CatalogError> {
    let when = &entry.get().when;
    let at = Origin {
        source: entry.source,
        span: when.span(),
    };
    let key = format!("{}.when", entry.key);
    let priced: Vec<&ParamSpec> = params.iter().filter(|p| p.priced).collect();
    let names: Vec<&str> = priced.iter().map(|p| p.name.as_str()).collect();
    if let Some(stray) = when.get_ref().keys().find(|k| !names.contains(&k.as_str())) {
        return Err(ctx.error(
            &at,
            format!("{key}.{stray}"),
            format!(
                "{stray} is not a priced parameter of this model (priced: {})",
                listed(&names)
            ),
        ));
    }
    let mut values = Vec::new();
    for param in priced {
        let raw = when.get_ref().get(&param.name).ok_or_else(|| {
            ctx.error(
                &at,
                key.clone(),
                format!(
                    "missing {}: a cost names one value of each priced parameter ({})",
                    param.name,
                    listed(&names)
                ),
            )
        })?;
        let ParamKind::Choice {
            ty,
            values: allowed,
        } = &param.kind
        else {
            continue;
        };
        let value =
            scalar(*ty, raw).map_err(|m| ctx.error(&at, format!("{key}.{}", param.name), m))?;
        if !allowed.iter().any(|v| v.value == value) {
            let declared: Vec<String> = allowed.iter().map(|v| v.value.to_string()).collect();
            return Err(ctx.error(
                &at,
                format!("{key}.{}", param.name),
                format!(
                    "{value} is not a value of {} (values: {})",
                    param.name,
                    declared.join(", ")
                ),
            ));
        }
        values.push((param.name.clone(), value));
    }
    Ok(Combination::new(values))
}

fn listed(names: &[&str]) -> String {
    if names.is_empty() {
        "none: write `when = {}`".to_owned()
    } else {
        names.join(", ")
    }
}

fn shown(combination: &Combination) -> String {
    let text = combination.to_string();
    if text.is_empty() {
        "this model".to_owned()
    } else {
        text
    }
}

/// Every combination of the priced parameters' declared values, each priced from the model's
/// own rows, falling back field by field to the rows of the model it takes costs from.
pub(crate) fn price_points(
    ctx: &Ctx<'_>,
    rule: &PriceRule,
    params: &[ParamSpec],
    own: &[CostRow<'_>],
    inherited: &[CostRow<'_>],
) -> Result<Vec<PricePoint>, CatalogError> {
    let dimensions: Vec<_> = params
        .iter()
        .filter(|p| p.priced)
        .filter_map(|p| match &p.kind {
            ParamKind::Choice { values, .. } => Some((
                p.name.clone(),
                values.iter().map(|v| v.value.clone()).collect(),
            )),
            _ => None,
        })
        .collect();
    Combination::all(&dimensions)
        .into_iter()
        .map(|combination| {
            let price = price(ctx, rule, params, &combination, own, inherited)?;
            Ok(PricePoint { combination, price })
        })
        .collect()
}

fn row<'r, 'a>(rows: &'r [CostRow<'a>], combination: &Combination) -> Option<&'r CostRow<'a>> {
    rows.iter().find(|r| &r.combination == combination)
}

fn price(
    ctx: &Ctx<'_>,
    rule: &PriceRule,
    params: &[ParamSpec],
    combination: &Combination,
    own: &[CostRow<'_>],
    inherited: &[CostRow<'_>],
) -> Result<Result<Price, Unpriced>, CatalogError> {
    for (name, value) in combination.iter() {
        let disabled = params
            .iter()
            .find(|p| p.name == name)
            .and_then(|p| match &p.kind {
                ParamKind::Choice { values, .. } => {
                    values.iter().find(|v| &v.value == value && !v.enabled)
                }
                _ => None,
            });
        if let Some(v) = disabled {
            return Ok(Err(Unpriced::ValueDisabled {
                param: name.to_owned(),
                value: value.clone(),
                reason: v.reason.clone(),
            }));
        }
    }
    let (own, inherited) = (row(own, combination), row(inherited, combination));
    let cost = own
        .and_then(|r| r.cost_usd.as_ref())
        .or(inherited.and_then(|r| r.cost_usd.as_ref()));
    let fixed = own
        .and_then(|r| r.credits.as_ref())
        .or(inherited.and_then(|r| r.credits.as_ref()));
    let Some((cost, note)) = cost else {
        return Ok(Err(Unpriced::NoCost));
    };
    let credits = match fixed {
        Some(fixed) => Credits(*fixed.value),
        None => rule
            .credits_for(*cost.value)
            .ok_or_else(|| ctx.found_error(cost, "this cost is too large to price"))?,
    };
    Ok(Ok(Price {
        cost_usd: *cost.value,
        credits,
        fixed: fixed.is_some(),
        note: note.cloned(),
    }))
}
