//! Usage statistics over finished jobs, grouped by model, day or skill,
//! with cost from the config's price table. What `ctl stats` prints.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::Price;
use crate::store::{StatRow, UsageRow};

/// How to group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupBy {
    Model,
    Day,
    Skill,
}

/// One group's totals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    pub key: String,
    pub jobs: u64,
    pub failed: u64,
    pub cancelled: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub median_ttft_ms: Option<f64>,
    pub median_tokens_per_s: Option<f64>,
    /// From the price table; `None` when a model in the group has no price.
    pub cost: Option<f64>,
}

/// Groups `rows`. A job with several skills counts once under each; one
/// with none under `(none)`.
pub fn group(rows: &[UsageRow], by: GroupBy, prices: &BTreeMap<String, Price>) -> Vec<Group> {
    let mut groups: BTreeMap<String, (Group, Vec<f64>, Vec<f64>, bool)> = BTreeMap::new();
    for row in rows {
        let keys: Vec<String> = match by {
            GroupBy::Model => vec![row.model.clone()],
            GroupBy::Day => vec![row.day.clone()],
            GroupBy::Skill if row.skills.is_empty() => vec!["(none)".to_owned()],
            GroupBy::Skill => row.skills.clone(),
        };
        for key in keys {
            let entry = groups.entry(key.clone()).or_insert_with(|| {
                let g = Group {
                    key,
                    jobs: 0,
                    failed: 0,
                    cancelled: 0,
                    prompt_tokens: 0,
                    completion_tokens: 0,
                    median_ttft_ms: None,
                    median_tokens_per_s: None,
                    cost: Some(0.0),
                };
                (g, Vec::new(), Vec::new(), true)
            });
            let (g, ttfts, rates, priced) = entry;
            g.jobs += 1;
            match row.state.as_str() {
                "failed" => g.failed += 1,
                "cancelled" => g.cancelled += 1,
                _ => {}
            }
            g.prompt_tokens += row.prompt_tokens;
            g.completion_tokens += row.completion_tokens;
            if row.state == "completed" {
                ttfts.extend(row.ttft_ms);
                rates.extend(row.tokens_per_s);
            }
            match prices.get(&row.model) {
                Some(p) => {
                    if let Some(c) = g.cost.as_mut() {
                        *c += (row.prompt_tokens as f64 * p.input_per_mtok
                            + row.completion_tokens as f64 * p.output_per_mtok)
                            / 1e6;
                    }
                }
                None if row.prompt_tokens + row.completion_tokens > 0 => *priced = false,
                None => {}
            }
        }
    }
    let mut out: Vec<Group> = groups
        .into_values()
        .map(|(mut g, ttfts, rates, priced)| {
            g.median_ttft_ms = median(ttfts);
            g.median_tokens_per_s = median(rates);
            if !priced {
                g.cost = None;
            }
            g
        })
        .collect();
    if by == GroupBy::Day {
        out.reverse();
    }
    out
}

/// Groups `rows` by model and day: what `/stats` serves, newest day first
/// (models in name order within a day). The same rows and the same
/// arithmetic as [`group`], so `ctl stats` and `/stats` agree.
pub fn by_model_day(rows: &[UsageRow]) -> Vec<StatRow> {
    // (newest day first, model) → the row, its TTFTs and its rates.
    type Key<'a> = (std::cmp::Reverse<&'a str>, &'a str);
    let mut groups: BTreeMap<Key<'_>, (StatRow, Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for row in rows {
        let (g, ttfts, rates) =
            groups.entry((std::cmp::Reverse(row.day.as_str()), row.model.as_str())).or_insert_with(|| {
                let g = StatRow {
                    model: row.model.clone(),
                    day: row.day.clone(),
                    jobs: 0,
                    failed: 0,
                    cancelled: 0,
                    prompt_tokens: 0,
                    completion_tokens: 0,
                    median_ttft_ms: None,
                    median_tokens_per_s: None,
                };
                (g, Vec::new(), Vec::new())
            });
        g.jobs += 1;
        match row.state.as_str() {
            "failed" => g.failed += 1,
            "cancelled" => g.cancelled += 1,
            _ => {}
        }
        g.prompt_tokens += row.prompt_tokens;
        g.completion_tokens += row.completion_tokens;
        if row.state == "completed" {
            ttfts.extend(row.ttft_ms);
            rates.extend(row.tokens_per_s);
        }
    }
    groups
        .into_values()
        .map(|(mut g, ttfts, rates)| {
            g.median_ttft_ms = median(ttfts);
            g.median_tokens_per_s = median(rates);
            g
        })
        .collect()
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    Some(if v.len().is_multiple_of(2) { f64::midpoint(v[mid - 1], v[mid]) } else { v[mid] })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(
        model: &str,
        day: &str,
        state: &str,
        skills: &[&str],
        p: u64,
        c: u64,
        ttft: Option<f64>,
    ) -> UsageRow {
        UsageRow {
            model: model.into(),
            day: day.into(),
            state: state.into(),
            skills: skills.iter().map(|s| (*s).to_owned()).collect(),
            prompt_tokens: p,
            completion_tokens: c,
            ttft_ms: ttft,
            tokens_per_s: ttft.map(|t| 1000.0 / t),
        }
    }

    #[test]
    fn groups_count_tokens_medians_and_cost() {
        let rows = vec![
            row("openai:gpt", "2026-11-26", "completed", &["research"], 1_000_000, 500_000, Some(100.0)),
            row(
                "openai:gpt",
                "2026-11-27",
                "completed",
                &["research", "summarize"],
                0,
                1_000_000,
                Some(300.0),
            ),
            row("openai:gpt", "2026-11-27", "failed", &[], 10, 0, None),
            row("local:tiny", "2026-11-27", "completed", &[], 5, 5, Some(10.0)),
        ];
        let prices =
            BTreeMap::from([("openai:gpt".to_owned(), Price { input_per_mtok: 1.0, output_per_mtok: 2.0 })]);
        let by_model = group(&rows, GroupBy::Model, &prices);
        let gpt = by_model.iter().find(|g| g.key == "openai:gpt").unwrap();
        assert_eq!(
            (gpt.jobs, gpt.failed, gpt.prompt_tokens, gpt.completion_tokens),
            (3, 1, 1_000_010, 1_500_000)
        );
        assert_eq!(gpt.median_ttft_ms, Some(200.0));
        assert!((gpt.cost.unwrap() - (1.00001 + 3.0)).abs() < 1e-9, "{:?}", gpt.cost);
        let tiny = by_model.iter().find(|g| g.key == "local:tiny").unwrap();
        assert_eq!(tiny.cost, None, "no price, no cost");
        let by_skill = group(&rows, GroupBy::Skill, &prices);
        let keys: Vec<&str> = by_skill.iter().map(|g| g.key.as_str()).collect();
        assert_eq!(keys, ["(none)", "research", "summarize"]);
        assert_eq!(by_skill[1].jobs, 2);
        let by_day = group(&rows, GroupBy::Day, &prices);
        assert_eq!(by_day[0].key, "2026-11-27", "newest day first");
    }

    #[test]
    fn median_of_odd_even_and_none() {
        assert_eq!(median(Vec::new()), None);
        assert_eq!(median(vec![3.0]), Some(3.0));
        assert_eq!(median(vec![9.0, 1.0, 5.0]), Some(5.0));
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), Some(2.5));
    }
}
