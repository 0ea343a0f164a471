//! A bar chart of engagement per day (messages sent, clicked, booked), drawn as SVG on the
//! server: it reads without JavaScript, names itself for screen readers, and carries its
//! numbers in a table beside it for those who cannot see it.

use crate::domain::engagement::DayCount;
use leptos::prelude::*;

const SERIES: [(&str, &str); 3] = [
    ("sent", "Sent"),
    ("clicked", "Clicked"),
    ("booked", "Booked"),
];

fn value(d: &DayCount, series: &str) -> i64 {
    match series {
        "sent" => d.sent,
        "clicked" => d.clicked,
        _ => d.booked,
    }
}

/// A round number at or above `n` for the top of the scale (1, 2, 5, 10, 20, 50 …).
fn nice_ceiling(n: i64) -> i64 {
    let mut step = 1;
    loop {
        for m in [1, 2, 5] {
            if step * m >= n.max(1) {
                return step * m;
            }
        }
        step *= 10;
    }
}

#[component]
pub fn DailyChart(
    days: Vec<DayCount>,
    /// A unique id for the chart's title and description.
    id: &'static str,
    #[prop(default = "Engagement messages per day")] title: &'static str,
    #[prop(optional)] small: bool,
) -> impl IntoView {
    let (width, height) = if small {
        (320.0, 120.0)
    } else {
        (640.0, 220.0)
    };
    let (left, bottom, top) = (36.0, 22.0, 10.0);
    let plot_w = width - left - 6.0;
    let plot_h = height - bottom - top;
    let top_value = nice_ceiling(
        days.iter()
            .flat_map(|d| SERIES.iter().map(|(s, _)| value(d, s)))
            .max()
            .unwrap_or(0),
    );
    let n = days.len().max(1) as f64;
    let group = plot_w / n;
    let bar = (group * 0.8 / SERIES.len() as f64).max(1.0);
    let y = |v: i64| top + plot_h - plot_h * v as f64 / top_value as f64;
    let (sent, clicked, booked) = days.iter().fold((0, 0, 0), |(s, c, b), d| {
        (s + d.sent, c + d.clicked, b + d.booked)
    });
    let description = format!(
        "{} days from {} to {}: {sent} sent, {clicked} clicked, {booked} booked.",
        days.len(),
        days.first()
            .map(|d| d.day.format("%-d %b").to_string())
            .unwrap_or_default(),
        days.last()
            .map(|d| d.day.format("%-d %b").to_string())
            .unwrap_or_default(),
    );
    let label_every = ((days.len() as f64) / if small { 4.0 } else { 8.0 })
        .ceil()
        .max(1.0) as usize;
    let title_id = format!("{id}-title");
    let desc_id = format!("{id}-desc");
    let labelled_by = format!("{title_id} {desc_id}");
    let bars = days
        .iter()
        .enumerate()
        .flat_map(|(i, d)| {
            SERIES.iter().enumerate().map(move |(k, (series, label))| {
                let v = value(d, series);
                let x = left + group * i as f64 + group * 0.1 + bar * k as f64;
                let top_y = y(v);
                view! {
                    <rect class=format!("bar bar-{series}") x=format!("{x:.1}") y=format!("{top_y:.1}")
                        width=format!("{bar:.1}") height=format!("{:.1}", (top + plot_h - top_y).max(0.0))>
                        <title>{format!("{}: {v} {}", d.day.format("%a %-d %b"), label.to_lowercase())}</title>
                    </rect>
                }
            })
        })
        .collect_view();
    let labels = days
        .iter()
        .enumerate()
        .filter(|(i, _)| i % label_every == 0)
        .map(|(i, d)| {
            let x = left + group * i as f64 + group / 2.0;
            view! { <text class="axis" x=format!("{x:.1}") y=format!("{:.1}", height - 6.0) text-anchor="middle">{d.day.format("%-d %b").to_string()}</text> }
        })
        .collect_view();
    let rows = days
        .iter()
        .map(|d| {
            view! {
                <tr><th scope="row">{d.day.format("%a %-d %b").to_string()}</th><td>{d.sent}</td><td>{d.clicked}</td><td>{d.booked}</td></tr>
            }
        })
        .collect_view();
    view! {
        <figure class=if small { "chart chart-small" } else { "chart" }>
            <svg role="img" aria-labelledby=labelled_by viewBox=format!("0 0 {width} {height}")
                width=width.to_string() height=height.to_string() xmlns="http://www.w3.org/2000/svg">
                <title id=title_id>{title}</title>
                <desc id=desc_id>{description.clone()}</desc>
                <line class="axis-line" x1=left.to_string() x2=(left + plot_w).to_string()
                    y1=(top + plot_h).to_string() y2=(top + plot_h).to_string()/>
                <text class="axis" x=(left - 4.0).to_string() y=(top + 8.0).to_string() text-anchor="end">{top_value}</text>
                <text class="axis" x=(left - 4.0).to_string() y=(top + plot_h).to_string() text-anchor="end">"0"</text>
                {bars}
                {labels}
            </svg>
            <figcaption>
                <ul class="legend">
                    {SERIES.iter().map(|(series, label)| view! {
                        <li><span class=format!("swatch bar-{series}") aria-hidden="true"></span>{*label}</li>
                    }).collect_view()}
                </ul>
                <span class="muted">{description}</span>
            </figcaption>
            <table class="visually-hidden">
                <caption>{title}</caption>
                <thead><tr><th scope="col">"Day"</th><th scope="col">"Sent"</th><th scope="col">"Clicked"</th><th scope="col">"Booked"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn scales_end_on_round_numbers() {
        assert_eq!(super::nice_ceiling(0), 1);
        assert_eq!(super::nice_ceiling(3), 5);
        assert_eq!(super::nice_ceiling(11), 20);
        assert_eq!(super::nice_ceiling(480), 500);
        assert_eq!(super::nice_ceiling(1001), 2000);
    }
}

/// A campaign's conversions over time: one line per arm, counting up day by day, drawn as SVG
/// on the server, with its numbers in a table for those who cannot see it.
#[component]
pub fn ConversionChart(
    days: Vec<crate::domain::campaigns::stats::StatsDay>,
    /// The arms in order (each variant's key, then `holdout`).
    arms: Vec<String>,
    id: &'static str,
) -> impl IntoView {
    let (width, height) = (640.0, 220.0);
    let (left, bottom, top) = (36.0, 22.0, 10.0);
    let plot_w = width - left - 6.0;
    let plot_h = height - bottom - top;
    // Cumulative conversions per arm, day by day.
    let totals: Vec<Vec<i64>> = arms
        .iter()
        .map(|arm| {
            days.iter()
                .scan(0, |sum, d| {
                    *sum += d.converted.get(arm).copied().unwrap_or(0);
                    Some(*sum)
                })
                .collect()
        })
        .collect();
    let top_value = nice_ceiling(
        totals
            .iter()
            .filter_map(|t| t.last().copied())
            .max()
            .unwrap_or(0),
    );
    let n = days.len().max(2) as f64 - 1.0;
    let x = |i: usize| left + plot_w * i as f64 / n;
    let y = |v: i64| top + plot_h - plot_h * v as f64 / top_value as f64;
    let description = format!(
        "Conversions so far by arm over {} days: {}.",
        days.len(),
        arms.iter()
            .zip(&totals)
            .map(|(a, t)| format!("{a} {}", t.last().copied().unwrap_or(0)))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let title_id = format!("{id}-title");
    let desc_id = format!("{id}-desc");
    let labelled_by = format!("{title_id} {desc_id}");
    let lines = arms
        .iter()
        .zip(&totals)
        .enumerate()
        .map(|(k, (arm, t))| {
            let points: Vec<String> = t
                .iter()
                .enumerate()
                .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
                .collect();
            view! {
                <polyline class=format!("line line-{k}") fill="none" points=points.join(" ")>
                    <title>{format!("{arm}: {} conversions", t.last().copied().unwrap_or(0))}</title>
                </polyline>
            }
        })
        .collect_view();
    let first = days
        .first()
        .map(|d| d.day.format("%-d %b").to_string())
        .unwrap_or_default();
    let last = days
        .last()
        .map(|d| d.day.format("%-d %b").to_string())
        .unwrap_or_default();
    let rows = days
        .iter()
        .enumerate()
        .map(|(i, d)| {
            view! {
                <tr><th scope="row">{d.day.format("%a %-d %b").to_string()}</th>
                    {totals.iter().map(|t| view! { <td>{t[i]}</td> }).collect_view()}</tr>
            }
        })
        .collect_view();
    view! {
        <figure class="chart">
            <svg role="img" aria-labelledby=labelled_by viewBox=format!("0 0 {width} {height}")
                width=width.to_string() height=height.to_string() xmlns="http://www.w3.org/2000/svg">
                <title id=title_id>"Conversions by arm"</title>
                <desc id=desc_id>{description.clone()}</desc>
                <line class="axis-line" x1=left.to_string() x2=(left + plot_w).to_string()
                    y1=(top + plot_h).to_string() y2=(top + plot_h).to_string()/>
                <text class="axis" x=(left - 4.0).to_string() y=(top + 8.0).to_string() text-anchor="end">{top_value}</text>
                <text class="axis" x=(left - 4.0).to_string() y=(top + plot_h).to_string() text-anchor="end">"0"</text>
                <text class="axis" x=left.to_string() y=(height - 6.0).to_string()>{first}</text>
                <text class="axis" x=(left + plot_w).to_string() y=(height - 6.0).to_string() text-anchor="end">{last}</text>
                {lines}
            </svg>
            <figcaption>
                <ul class="legend">
                    {arms.iter().enumerate().map(|(k, arm)| view! {
                        <li><span class=format!("swatch line-{k}") aria-hidden="true"></span>{arm.clone()}</li>
                    }).collect_view()}
                </ul>
                <span class="muted">{description}</span>
            </figcaption>
            <table class="visually-hidden">
                <caption>"Conversions so far by arm"</caption>
                <thead><tr><th scope="col">"Day"</th>{arms.iter().map(|a| view! { <th scope="col">{a.clone()}</th> }).collect_view()}</tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </figure>
    }
}
