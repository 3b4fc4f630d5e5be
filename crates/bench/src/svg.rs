//! Small line charts as SVG, written by hand: throughput (left axis) and p99 latency (right
//! axis) against a load on a logarithmic x axis. No plotting library for two charts.

use std::fmt::Write;

/// One line of a chart.
pub struct Series {
    pub name: String,
    /// Drawn against the right (latency) axis instead of the left one.
    pub right_axis: bool,
    pub colour: &'static str,
    /// Points (x, y); x must be positive (the axis is logarithmic).
    pub points: Vec<(f64, f64)>,
}

pub struct Chart {
    pub title: String,
    pub x_label: String,
    pub left_label: String,
    pub right_label: String,
    pub series: Vec<Series>,
}

const W: f64 = 640.0;
const H: f64 = 360.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 70.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 80.0;

impl Chart {
    pub fn render(&self) -> String {
        let xs: Vec<f64> = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0))
            .filter(|x| *x > 0.0)
            .collect();
        let (x_min, x_max) = bounds(&xs);
        let (x_min, x_max) = (x_min.log10(), x_max.log10().max(x_min.log10() + 1e-9));
        let top_of = |right: bool| {
            let ys: Vec<f64> = self
                .series
                .iter()
                .filter(|s| s.right_axis == right)
                .flat_map(|s| s.points.iter().map(|p| p.1))
                .filter(|y| y.is_finite())
                .collect();
            nice_ceiling(bounds(&ys).1)
        };
        let (left_max, right_max) = (top_of(false), top_of(true));
        let plot_w = W - LEFT - RIGHT;
        let plot_h = H - TOP - BOTTOM;
        let px = |x: f64| LEFT + (x.log10() - x_min) / (x_max - x_min) * plot_w;
        let py = |y: f64, max: f64| TOP + plot_h - (y / max).clamp(0.0, 1.0) * plot_h;

        let mut svg = String::new();
        let _ = writeln!(
            svg,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"#
        );
        let _ = writeln!(svg, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="22" text-anchor="middle" font-size="15">{}</text>"#,
            W / 2.0,
            escape(&self.title)
        );
        // Axes, with five gridlines on each y axis.
        let _ = writeln!(
            svg,
            r##"<path d="M{LEFT} {TOP} V{b} H{r} V{TOP}" fill="none" stroke="#333"/>"##,
            b = TOP + plot_h,
            r = LEFT + plot_w
        );
        for i in 0..=5 {
            let f = f64::from(i) / 5.0;
            let y = TOP + plot_h - f * plot_h;
            let _ = writeln!(
                svg,
                r##"<line x1="{LEFT}" x2="{}" y1="{y}" y2="{y}" stroke="#ddd"/><text x="{}" y="{}" text-anchor="end">{}</text><text x="{}" y="{}">{}</text>"##,
                LEFT + plot_w,
                LEFT - 6.0,
                y + 4.0,
                tick(left_max * f),
                LEFT + plot_w + 6.0,
                y + 4.0,
                tick(right_max * f),
            );
        }
        let mut x_ticks: Vec<f64> = xs.clone();
        x_ticks.sort_by(f64::total_cmp);
        x_ticks.dedup();
        for x in x_ticks {
            let _ = writeln!(
                svg,
                r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
                px(x),
                TOP + plot_h + 16.0,
                tick(x)
            );
        }
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
            LEFT + plot_w / 2.0,
            TOP + plot_h + 34.0,
            escape(&self.x_label)
        );
        let _ = writeln!(
            svg,
            r#"<text transform="translate(16 {}) rotate(-90)" text-anchor="middle">{}</text>"#,
            TOP + plot_h / 2.0,
            escape(&self.left_label)
        );
        let _ = writeln!(
            svg,
            r#"<text transform="translate({} {}) rotate(90)" text-anchor="middle">{}</text>"#,
            W - 14.0,
            TOP + plot_h / 2.0,
            escape(&self.right_label)
        );
        for (i, series) in self.series.iter().enumerate() {
            let max = if series.right_axis {
                right_max
            } else {
                left_max
            };
            let points: Vec<String> = series
                .points
                .iter()
                .filter(|(x, y)| *x > 0.0 && y.is_finite())
                .map(|(x, y)| format!("{:.1},{:.1}", px(*x), py(*y, max)))
                .collect();
            let dash = if series.right_axis {
                r#" stroke-dasharray="6 4""#
            } else {
                ""
            };
            let _ = writeln!(
                svg,
                r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="2"{dash}/>"#,
                points.join(" "),
                series.colour
            );
            for point in &points {
                let (x, y) = point.split_once(',').unwrap_or(("0", "0"));
                let _ = writeln!(
                    svg,
                    r#"<circle cx="{x}" cy="{y}" r="3" fill="{}"/>"#,
                    series.colour
                );
            }
            // The legend, in a row under the x label.
            let lx = LEFT + (i as f64) * (plot_w / self.series.len().max(1) as f64);
            let ly = H - 14.0;
            let _ = writeln!(
                svg,
                r#"<line x1="{lx}" x2="{}" y1="{ly}" y2="{ly}" stroke="{}" stroke-width="2"{dash}/><text x="{}" y="{}">{}</text>"#,
                lx + 18.0,
                series.colour,
                lx + 22.0,
                ly + 4.0,
                escape(&series.name)
            );
        }
        svg.push_str("</svg>\n");
        svg
    }
}

fn bounds(values: &[f64]) -> (f64, f64) {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if min.is_finite() && max.is_finite() {
        (min, max)
    } else {
        (1.0, 10.0)
    }
}

/// The smallest 1, 2 or 5 × 10ⁿ at or above `v`, so gridlines fall on round numbers.
fn nice_ceiling(v: f64) -> f64 {
    if !(v.is_finite() && v > 0.0) {
        return 1.0;
    }
    let magnitude = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|c| *c >= v)
        .unwrap_or(10.0 * magnitude)
}

fn tick(v: f64) -> String {
    if v >= 1_000_000.0 {
        format!("{}M", v / 1_000_000.0)
    } else if v >= 10_000.0 {
        format!("{}k", v / 1000.0)
    } else if v >= 10.0 || v.fract() == 0.0 {
        format!("{}", v.round())
    } else {
        format!("{v:.1}")
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gridlines_fall_on_round_numbers() {
        assert_eq!(nice_ceiling(4321.0), 5000.0);
        assert_eq!(nice_ceiling(12.0), 20.0);
        assert_eq!(nice_ceiling(0.0), 1.0);
    }

    #[test]
    fn a_chart_draws_every_series_and_escapes_text() {
        let chart = Chart {
            title: "submit <sqlite>".into(),
            x_label: "clients".into(),
            left_label: "req/s".into(),
            right_label: "p99 ms".into(),
            series: vec![
                Series {
                    name: "throughput".into(),
                    right_axis: false,
                    colour: "#1f77b4",
                    points: vec![(1.0, 100.0), (4.0, 300.0), (16.0, 500.0)],
                },
                Series {
                    name: "p99".into(),
                    right_axis: true,
                    colour: "#d62728",
                    points: vec![(1.0, 1.0), (4.0, 2.0), (16.0, 9.0)],
                },
            ],
        };
        let svg = chart.render();
        assert!(svg.starts_with("<svg"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains("submit &lt;sqlite&gt;"));
    }
}
