//! Each model's cost rows, and its price points: every combination of its priced parameters'
//! values with the price the rule (or the operator's fixed price) gives it.

use rust_decimal::Decimal;

use super::layers::{pick, Ctx, Found, Layer};
use super::values::scalar;
use crate::catalog::data::{CostDoc, ModelDoc};
use crate::catalog::source::{CatalogError, Origin};
use crate::catalog::spec::{ParamKind, ParamSpec, Scalar};
use crate::pricing::{Combination, Price, PricePoint, PriceRule, Unpriced};
use crate::Credits;

/// The priced parameter a per-second cost is counted in.
const SECONDS: &str = "duration";

type Noted<'a> = (Found<'a, Decimal>, Option<&'a String>);

/// One combination's cost settings, merged over the layers field by field. A per-second row's
/// combination leaves out `duration`.
pub(crate) struct CostRow<'a> {
    pub combination: Combination,
    /// With the note written next to it: a note describes the cost of its own row.
    pub cost_usd: Option<Noted<'a>>,
    pub per_second_usd: Option<Noted<'a>>,
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
            let one = [entry];
            let cost_usd = pick(&one, "cost_usd", |c: &CostDoc| c.cost_usd.as_ref());
            let per_second = pick(&one, "per_second_usd", |c: &CostDoc| {
                c.per_second_usd.as_ref()
            });
            let credits = pick(&one, "credits", |c: &CostDoc| c.credits.as_ref());
            let [entry] = one;
            if let Some(rate) = &per_second {
                if cost_usd.is_some() || credits.is_some() {
                    return Err(ctx.found_error(
                        rate,
                        "a per-second cost stands alone: give the cost or fixed price of one duration in a row of its own",
                    ));
                }
            }
            let combination = combination(ctx, &entry, params, per_second.is_some())?;
            if in_this_layer.contains(&combination) {
                return Err(ctx.error(
                    &entry.at(),
                    format!("{}.when", entry.key),
                    format!("a second cost for {}", shown(&combination)),
                ));
            }
            in_this_layer.push(combination.clone());
            for cost in [&cost_usd, &per_second].into_iter().flatten() {
                if *cost.value <= Decimal::ZERO {
                    return Err(ctx.found_error(cost, "a cost must be more than zero"));
                }
            }
            if let Some(fixed) = credits.as_ref().filter(|c| *c.value <= 0) {
                return Err(ctx.found_error(fixed, "a fixed price must be at least 1 credit"));
            }
            let note = doc.get_ref().note.as_ref().map(|n| n.get_ref());
            let cost_usd = cost_usd.map(|cost| (cost, note));
            let per_second_usd = per_second.map(|rate| (rate, note));
            match rows.iter_mut().find(|r| r.combination == combination) {
                // A nearer layer already set this combination: fill only what it left out.
                Some(row) => {
                    row.cost_usd = row.cost_usd.take().or(cost_usd);
                    row.per_second_usd = row.per_second_usd.take().or(per_second_usd);
                    row.credits = row.credits.take().or(credits);
                }
                None => rows.push(CostRow {
                    combination,
                    cost_usd,
                    per_second_usd,
                    credits,
                }),
            }
        }
    }
    Ok(rows)
}

/// `when` must give one declared value for each priced parameter (but `duration`, for a
/// per-second cost), and nothing else.
fn combination(
    ctx: &Ctx<'_>,
    entry: &Layer<'_, CostDoc>,
    params: &[ParamSpec],
    per_second: bool,
) -> Result<Combination, CatalogError> {
    let when = &entry.get().when;
    let at = Origin {
        source: entry.source,
        span: when.span(),
    };
    let key = format!("{}.when", entry.key);
    let seconds_priced = params.iter().any(|p| p.priced && p.name == SECONDS);
    if per_second && !seconds_priced {
        return Err(ctx.error(
            &at,
            format!("{}.per_second_usd", entry.key),
            "a per-second cost needs a priced duration parameter",
        ));
    }
    let priced: Vec<&ParamSpec> = params
        .iter()
        .filter(|p| p.priced && !(per_second && p.name == SECONDS))
        .collect();
    let names: Vec<&str> = priced.iter().map(|p| p.name.as_str()).collect();
    if let Some(stray) = when.get_ref().keys().find(|k| !names.contains(&k.as_str())) {
        let why = if per_second && stray == SECONDS {
            "a per-second cost applies to every duration: leave duration out of `when`".to_owned()
        } else {
            format!(
                "{stray} is not a priced parameter of this model (priced: {})",
                listed(&names)
            )
        };
        return Err(ctx.error(&at, format!("{key}.{stray}"), why));
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
        let field = format!("{key}.{}", param.name);
        let value = match &param.kind {
            ParamKind::Choice {
                ty,
                values: allowed,
            } => {
                let value = scalar(*ty, raw).map_err(|m| ctx.error(&at, field.clone(), m))?;
                if !allowed.iter().any(|v| v.value == value) {
                    let declared: Vec<String> =
                        allowed.iter().map(|v| v.value.to_string()).collect();
                    return Err(ctx.error(
                        &at,
                        field,
                        format!(
                            "{value} is not a value of {} (values: {})",
                            param.name,
                            declared.join(", ")
                        ),
                    ));
                }
                value
            }
            ParamKind::IntegerRange { min, max } => match raw {
                toml::Value::Integer(i) if (min..=max).contains(&i) => Scalar::Integer(*i),
                _ => {
                    return Err(ctx.error(
                        &at,
                        field,
                        format!("{} is a whole number from {min} to {max}", param.name),
                    ))
                }
            },
            _ => continue,
        };
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
            ParamKind::IntegerRange { min, max } => {
                Some((p.name.clone(), (*min..=*max).map(Scalar::Integer).collect()))
            }
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
    let (own_row, inherited_row) = (row(own, combination), row(inherited, combination));
    let fixed = own_row
        .and_then(|r| r.credits.as_ref())
        .or(inherited_row.and_then(|r| r.credits.as_ref()));
    let point = own_row
        .and_then(|r| r.cost_usd.as_ref())
        .or(inherited_row.and_then(|r| r.cost_usd.as_ref()));
    let (cost, note, blame) = match point {
        Some((cost, note)) => (*cost.value, note.cloned(), cost),
        None => match per_second_cost(ctx, combination, own, inherited)? {
            Some(priced) => priced,
            None => return Ok(Err(Unpriced::NoCost)),
        },
    };
    let credits = match fixed {
        Some(fixed) => Credits::new(*fixed.value),
        None => rule
            .credits_for(cost)
            .ok_or_else(|| ctx.found_error(blame, "this cost is too large to price"))?,
    };
    Ok(Ok(Price {
        cost_usd: cost,
        credits,
        fixed: fixed.is_some(),
        note,
    }))
}

type Derived<'r, 'a> = (Decimal, Option<String>, &'r Found<'a, Decimal>);

/// A duration without a cost of its own, priced by the per-second cost of its other values:
/// the nearest shorter duration's own cost plus the seconds above it, or the seconds alone.
/// So a longer video never sells for less than a shorter one with a cost of its own.
fn per_second_cost<'r, 'a>(
    ctx: &Ctx<'_>,
    combination: &Combination,
    own: &'r [CostRow<'a>],
    inherited: &'r [CostRow<'a>],
) -> Result<Option<Derived<'r, 'a>>, CatalogError> {
    let Some(Scalar::Integer(seconds)) = combination.get(SECONDS) else {
        return Ok(None);
    };
    let rest = combination.without(SECONDS);
    let rate = row(own, &rest)
        .and_then(|r| r.per_second_usd.as_ref())
        .or(row(inherited, &rest).and_then(|r| r.per_second_usd.as_ref()));
    let Some((rate, note)) = rate else {
        return Ok(None);
    };
    // The model's own rows come first, so its own cost of a duration wins over the inherited.
    let mut anchor: Option<(i64, Decimal)> = None;
    for r in own.iter().chain(inherited) {
        let (Some(Scalar::Integer(d)), Some((cost, _))) =
            (r.combination.get(SECONDS), r.cost_usd.as_ref())
        else {
            continue;
        };
        let nearer = anchor.is_none_or(|(best, _)| *d > best);
        if d < seconds && nearer && r.combination.without(SECONDS) == rest {
            anchor = Some((*d, *cost.value));
        }
    }
    let (base_seconds, base_cost) = anchor.unwrap_or((0, Decimal::ZERO));
    let cost = Decimal::from(seconds - base_seconds)
        .checked_mul(*rate.value)
        .and_then(|c| c.checked_add(base_cost))
        .ok_or_else(|| ctx.found_error(rate, "this cost is too large to price"))?;
    Ok(Some((cost, note.cloned(), rate)))
}
