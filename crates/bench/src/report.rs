//! The table a benchmark prints: each figure as the median of its runs, next to the median of
//! the baseline measured in the same runs, their ratio, and the target it is held to.

use std::fmt::Write;

/// The median of some measurements (NaN for none).
pub fn median(values: &[f64]) -> f64 {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

/// Whether a figure meets its target.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    AtLeast(f64),
    AtMost(f64),
    /// The ratio to the baseline must be at least this.
    RatioAtLeast(f64),
}

impl Target {
    fn describe(self, unit: &str) -> String {
        match self {
            Target::AtLeast(v) => format!("≥ {} {unit}", number(v)),
            Target::AtMost(v) => format!("≤ {} {unit}", number(v)),
            Target::RatioAtLeast(r) => format!("ratio ≥ {}", number(r)),
        }
    }

    fn met(self, value: f64, ratio: Option<f64>) -> bool {
        match self {
            Target::AtLeast(v) => value >= v,
            Target::AtMost(v) => value <= v,
            Target::RatioAtLeast(r) => ratio.is_some_and(|ratio| ratio >= r),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Row {
    pub figure: String,
    pub unit: String,
    /// Every run's value; the table shows their median.
    pub runs: Vec<f64>,
    /// The baseline's name and every run's value, when the figure has one.
    pub baseline: Option<(String, Vec<f64>)>,
    pub target: Option<Target>,
}

impl Row {
    pub fn new(figure: impl Into<String>, unit: &str, runs: Vec<f64>) -> Row {
        Row {
            figure: figure.into(),
            unit: unit.to_owned(),
            runs,
            baseline: None,
            target: None,
        }
    }

    pub fn single(figure: impl Into<String>, unit: &str, value: f64) -> Row {
        Row::new(figure, unit, vec![value])
    }

    pub fn against(mut self, name: &str, runs: Vec<f64>) -> Row {
        self.baseline = Some((name.to_owned(), runs));
        self
    }

    pub fn target(mut self, target: Target) -> Row {
        self.target = Some(target);
        self
    }

    pub fn value(&self) -> f64 {
        median(&self.runs)
    }

    /// The figure's median over the baseline's median.
    pub fn ratio(&self) -> Option<f64> {
        self.baseline
            .as_ref()
            .map(|(_, runs)| self.value() / median(runs))
    }

    pub fn met(&self) -> Option<bool> {
        self.target.map(|t| t.met(self.value(), self.ratio()))
    }
}

/// A section of the table: rows measured together (one backend, one scenario).
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub sections: Vec<(String, Vec<Row>)>,
    /// Scenarios that could not be measured, and why.
    pub failures: Vec<(String, String)>,
}

impl Report {
    pub fn section(&mut self, title: impl Into<String>, rows: Vec<Row>) {
        let title = title.into();
        // Printed as soon as measured, so a later failure loses nothing.
        let mut single = Report::default();
        single.sections.push((title.clone(), rows.clone()));
        eprintln!("{}", single.markdown());
        self.sections.push((title, rows));
    }

    /// Records a section (or its failure) and goes on.
    pub fn outcome(&mut self, title: impl Into<String>, rows: anyhow::Result<Vec<Row>>) {
        let title = title.into();
        match rows {
            Ok(rows) => self.section(title, rows),
            Err(error) => {
                eprintln!("{title}: FAILED: {error:#}");
                self.failures.push((title, format!("{error:#}")));
            }
        }
    }

    /// Every row whose target is missed.
    pub fn missed(&self) -> Vec<String> {
        self.sections
            .iter()
            .flat_map(|(title, rows)| {
                rows.iter()
                    .filter(|row| row.met() == Some(false))
                    .map(move |row| format!("{title}: {}", row.figure))
            })
            .collect()
    }

    /// The table as Markdown.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        for (title, error) in &self.failures {
            let _ = writeln!(out, "\n#### {title}\n\nNOT MEASURED: {error}");
        }
        for (title, rows) in &self.sections {
            let _ = writeln!(out, "\n#### {title}\n");
            let _ = writeln!(
                out,
                "| figure | median | runs | baseline (median) | ratio | target | met |"
            );
            let _ = writeln!(out, "|---|---:|---:|---|---:|---|:-:|");
            for row in rows {
                let baseline = match &row.baseline {
                    Some((name, runs)) => {
                        format!("{name}: {} {}", number(median(runs)), row.unit)
                    }
                    None => "—".to_owned(),
                };
                let ratio = row.ratio().map_or("—".to_owned(), |r| format!("{:.2}", r));
                let target = row.target.map_or("—".to_owned(), |t| t.describe(&row.unit));
                let met = match row.met() {
                    Some(true) => "yes",
                    Some(false) => "**no**",
                    None => "—",
                };
                let _ = writeln!(
                    out,
                    "| {} | {} {} | {} | {baseline} | {ratio} | {target} | {met} |",
                    row.figure,
                    number(row.value()),
                    row.unit,
                    row.runs.len(),
                );
            }
        }
        out
    }
}

/// A count (of clients, of rows): a whole number, thousands separated.
pub fn count(v: f64) -> String {
    if v.abs() >= 100.0 {
        number(v)
    } else {
        format!("{}", v.round() as i64)
    }
}

/// A figure as people read it: thousands separated, few decimals.
pub fn number(v: f64) -> String {
    if v.is_nan() {
        return "n/a".to_owned();
    }
    if v.abs() >= 100.0 {
        let rounded = v.round() as i64;
        let digits = rounded.unsigned_abs().to_string();
        // Digits are ASCII, so every chunk is valid UTF-8.
        let mut grouped = digits
            .as_bytes()
            .rchunks(3)
            .rev()
            .map(|chunk| std::str::from_utf8(chunk).unwrap_or_default())
            .collect::<Vec<_>>()
            .join(",");
        if rounded < 0 {
            grouped.insert(0, '-');
        }
        grouped
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_whole_and_grouped() {
        assert_eq!(count(4.0), "4");
        assert_eq!(count(1_000_000.0), "1,000,000");
    }

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn a_ratio_target_is_judged_on_the_medians() {
        let row = Row::new("read", "req/s", vec![40.0, 60.0, 50.0])
            .against("healthz", vec![100.0, 90.0, 110.0])
            .target(Target::RatioAtLeast(0.5));
        assert_eq!(row.ratio(), Some(0.5));
        assert_eq!(row.met(), Some(true));
    }

    #[test]
    fn the_table_flags_missed_targets() {
        let mut report = Report::default();
        report.section(
            "sqlite",
            vec![Row::single("submit", "req/s", 1234.5).target(Target::AtLeast(5000.0))],
        );
        let table = report.markdown();
        assert!(table.contains("| submit | 1,235 req/s | 1 |"), "{table}");
        assert!(table.contains("**no**"));
        assert_eq!(report.missed(), vec!["sqlite: submit".to_owned()]);
    }
}
