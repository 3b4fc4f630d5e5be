//! The effective catalog and price list: the built-in catalog with the operator's pricing file
//! (`REELGATE_PRICING_FILE`) over it, loaded once at start, and printed by `reelgate prices`.

use reelgate_domain::catalog::{Catalog, CatalogError};
use reelgate_domain::pricing::PriceListEntry;
use std::path::PathBuf;

use crate::config::Config;

#[derive(Debug, thiserror::Error)]
pub enum PricingFileError {
    #[error("REELGATE_PRICING_FILE: cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("REELGATE_PRICING_FILE: {path}: {source}")]
    Invalid { path: PathBuf, source: CatalogError },
    /// Only a broken build can get here: the built-in catalog is checked by tests.
    #[error("{0}")]
    Builtin(CatalogError),
}

/// The catalog `serve` and `prices` use.
pub fn load_catalog(config: &Config) -> Result<Catalog, PricingFileError> {
    let Some(path) = &config.pricing_file else {
        return Catalog::builtin().map_err(PricingFileError::Builtin);
    };
    let text = std::fs::read_to_string(path).map_err(|source| PricingFileError::Read {
        path: path.clone(),
        source,
    })?;
    Catalog::with_pricing_file(&text).map_err(|source| PricingFileError::Invalid {
        path: path.clone(),
        source,
    })
}

/// The price list as a table for people: the rule, then one line per combination.
pub fn table(catalog: &Catalog) -> String {
    let rule = catalog.rule();
    let mut out = format!(
        "credits = round_half_up(cost_usd × (1 + {}) × {} / {step}) × {step}\n\n",
        rule.markup(),
        rule.credits_per_usd(),
        step = rule.step()
    );
    let rows: Vec<[String; 5]> = catalog.price_list().iter().map(row).collect();
    let header = ["MODEL", "OPTIONS", "COST USD", "CREDITS", "NOTE"].map(String::from);
    let mut widths = [0usize; 4];
    for cells in std::iter::once(&header).chain(&rows) {
        for (width, cell) in widths.iter_mut().zip(cells) {
            *width = (*width).max(cell.chars().count());
        }
    }
    for cells in std::iter::once(&header).chain(&rows) {
        let mut line = String::new();
        for (width, cell) in widths.iter().zip(cells) {
            line.push_str(cell);
            line.push_str(&" ".repeat(width - cell.chars().count() + 2));
        }
        line.push_str(&cells[4]);
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn row(entry: &PriceListEntry) -> [String; 5] {
    let options: Vec<String> = entry
        .params
        .iter()
        .map(|(name, value)| match value.as_str() {
            Some(text) => format!("{name} {text}"),
            None => format!("{name} {value}"),
        })
        .collect();
    let dash = || "-".to_owned();
    let credits = match (entry.credits, entry.fixed_price) {
        (Some(credits), true) => format!("{credits} (fixed)"),
        (Some(credits), false) => credits.to_string(),
        (None, _) => dash(),
    };
    let note = match &entry.reason {
        Some(reason) => format!("not offered: {reason}"),
        None => entry.note.clone().unwrap_or_default(),
    };
    [
        entry.model.to_string(),
        if options.is_empty() {
            dash()
        } else {
            options.join(", ")
        },
        entry
            .upstream_cost_usd
            .map_or_else(dash, |cost| cost.to_string()),
        credits,
        note,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_lists_every_combination_with_cost_and_credits() {
        let catalog = Catalog::with_pricing_file(
            "[[models.veo3-fast.costs]]\nwhen = { resolution = \"720p\" }\ncredits = 40\n",
        )
        .unwrap();
        let table = table(&catalog);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines[0],
            "credits = round_half_up(cost_usd × (1 + 0.50) × 108 / 5) × 5"
        );
        assert!(lines[2].starts_with("MODEL"));
        let line = |start: &str| {
            lines
                .iter()
                .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
                .find(|l| l.starts_with(start))
                .unwrap()
        };
        assert_eq!(
            line("veo3 resolution 4k"),
            "veo3 resolution 4k 1.85 300 Kie's Veo 3.1 price page: Quality, 8 s, 4K (720p + $0.60 for get-4k-video)"
        );
        assert_eq!(
            line("veo3-fast resolution 720p"),
            "veo3-fast resolution 720p 0.30 40 (fixed) pricing.md seed table (Kie's Veo 3.1 price page agrees: Fast, 8 s, 720p)"
        );
        assert!(table.contains("duration 10, sound true"));
        // Header + one line per combination of the built-in catalog.
        assert_eq!(lines.len() - 3, catalog.price_list().len());
    }
}
