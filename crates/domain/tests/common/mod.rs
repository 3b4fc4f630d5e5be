//! Checks shared by the catalog's property tests and its fuzzing.

use reelgate_domain::catalog::Catalog;
use serde_json::{json, Map, Value};

/// Every combination of priced values a model offers is priced exactly as `GET /v1/models`
/// advertises it: each advertised price is accepted and quoted at its credits, each accepted
/// combination is advertised, and no available model goes without a price.
pub fn check_prices(catalog: &Catalog) -> Result<(), String> {
    let view = serde_json::to_value(catalog.view()).map_err(|e| e.to_string())?;
    let models = view.as_array().ok_or("the view is not a list")?;
    if models.iter().all(|m| m["available"] != true) {
        return Err("no model is available".into());
    }
    for model in models.iter().filter(|m| m["available"] == true) {
        check_model(catalog, model)?;
    }
    Ok(())
}

fn check_model(catalog: &Catalog, model: &Value) -> Result<(), String> {
    let id = model["id"].as_str().ok_or("a model without an id")?;
    let params = model["parameters"].as_array().ok_or("no parameters")?;
    let mut base = Map::new();
    base.insert("model".into(), json!(id));
    for p in params {
        if p["required"] == true && p["priced"] != true && p["available"] == true {
            let name = p["name"].as_str().ok_or("a parameter without a name")?;
            base.insert(name.to_owned(), plain_value(p));
        }
    }
    // A priced parameter customers may not set is priced at its default.
    let mut fixed = Map::new();
    let mut priced: Vec<(String, Vec<Value>)> = Vec::new();
    for p in params.iter().filter(|p| p["priced"] == true) {
        let name = p["name"].as_str().unwrap_or_default().to_owned();
        if p["available"] != true {
            fixed.insert(name, p["default"].clone());
            continue;
        }
        let offered: Vec<Value> = match (
            p["values"].as_array(),
            p["minimum"].as_i64(),
            p["maximum"].as_i64(),
        ) {
            (Some(values), _, _) => values
                .iter()
                .filter(|v| v["available"] == true)
                .map(|v| v["value"].clone())
                .collect(),
            // A whole-number range (Grok's 6–30 s) is priced at every number in it.
            (None, Some(min), Some(max)) => (min..=max).map(|n| json!(n)).collect(),
            (None, _, _) => Vec::new(),
        };
        priced.push((name, offered));
    }
    let prices: Vec<(&Map<String, Value>, i64)> = model["prices"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| Some((p["params"].as_object()?, p["credits"].as_i64()?)))
        .collect();
    if prices.is_empty() {
        return Err(format!("{id} is available without a price"));
    }
    let mut advertised_seen = 0;
    for combination in combinations(&priced) {
        let mut body = base.clone();
        body.extend(combination.clone());
        let mut key = combination;
        key.extend(fixed.clone());
        let advertised = prices
            .iter()
            .find(|(params, _)| **params == key)
            .map(|(_, credits)| *credits);
        advertised_seen += usize::from(advertised.is_some());
        match (catalog.quote(&body), advertised) {
            (Ok(quote), Some(credits)) if quote.credits.get() == credits => {}
            (Ok(quote), Some(credits)) => {
                return Err(format!(
                    "{body:?} is advertised at {credits} credits, quoted at {}",
                    quote.credits
                ))
            }
            (Ok(quote), None) => {
                return Err(format!(
                    "{body:?} is sold ({} credits) without an advertised price",
                    quote.credits
                ))
            }
            (Err(errors), Some(_)) => {
                return Err(format!("{body:?} is advertised but refused: {errors:?}"))
            }
            (Err(_), None) => {}
        }
    }
    if advertised_seen != prices.len() {
        return Err(format!(
            "{id} advertises {} prices, {advertised_seen} of them for combinations it offers",
            prices.len()
        ));
    }
    Ok(())
}

/// A value a required, unpriced parameter takes: a prompt, images, its default.
fn plain_value(p: &Value) -> Value {
    match p["type"].as_str() {
        Some("array") => {
            let n = p["min_items"].as_u64().unwrap_or(1).max(1);
            Value::Array(
                (0..n)
                    .map(|k| json!(format!("https://img.example/{k}.png")))
                    .collect(),
            )
        }
        _ if !p["default"].is_null() => p["default"].clone(),
        _ => match p["values"].as_array() {
            Some(values) => values
                .iter()
                .find(|v| v["available"] == true)
                .map(|v| v["value"].clone())
                .unwrap_or(Value::Null),
            None => json!("a red fox running through snow"),
        },
    }
}

fn combinations(priced: &[(String, Vec<Value>)]) -> Vec<Map<String, Value>> {
    let mut all = vec![Map::new()];
    for (name, values) in priced {
        all = all
            .into_iter()
            .flat_map(|partial| {
                values.iter().map(move |value| {
                    let mut next = partial.clone();
                    next.insert(name.clone(), value.clone());
                    next
                })
            })
            .collect();
    }
    all
}
