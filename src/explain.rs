//! `explain`: for one policy, every candidate tag and what happened to it (excluded, filtered,
//! extracted value, rank) and the winner, like `flux get image policy` but offline and with
//! reasons. Also the words used for a tag's fate everywhere else (pattern tests).

use serde::Serialize;

use crate::policy::{Evaluation, Outcome};

/// Short machine-readable name of a tag's fate.
pub fn outcome_name(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Excluded { .. } => "excluded",
        Outcome::FilteredOut => "filtered",
        Outcome::NotSemver => "not-semver",
        Outcome::OutOfRange => "out-of-range",
        Outcome::NotNumber => "not-a-number",
        Outcome::Candidate => "candidate",
        Outcome::Latest => "latest",
        Outcome::Collapsed => "collapsed",
    }
}

/// A tag's fate in words.
pub fn outcome_reason(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Excluded { pattern } => {
            format!("excluded by the exclusion list entry `{pattern}`")
        }
        Outcome::FilteredOut => "does not match filterTags.pattern".to_string(),
        Outcome::NotSemver => {
            "is not a version as the cluster's Flux reads tags (`flux-image-lint rule tag-not-semver`)"
                .to_string()
        }
        Outcome::OutOfRange => "is outside the semver range".to_string(),
        Outcome::NotNumber => "is not a number (and fails the whole numerical policy)".to_string(),
        Outcome::Candidate => "is a candidate".to_string(),
        Outcome::Latest => "is the latest".to_string(),
        Outcome::Collapsed => "extracts the same value as another tag, which wins".to_string(),
    }
}

#[derive(Serialize)]
pub struct CandidateLine {
    pub tag: String,
    pub outcome: &'static str,
    pub extracted: Option<String>,
    pub rank: Option<usize>,
}

#[derive(Serialize)]
pub struct Explanation {
    pub policy: String,
    pub image: String,
    /// The cluster whose copy of the policy this is, where the repository has several.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    pub latest: Option<String>,
    pub error: Option<String>,
    pub candidates: Vec<CandidateLine>,
}

impl Explanation {
    /// Candidates ranked first (winner on top), then the others in descending byte order.
    pub fn new(
        policy: String,
        image: String,
        cluster: Option<String>,
        evaluation: Evaluation,
    ) -> Explanation {
        let mut candidates: Vec<CandidateLine> = evaluation
            .candidates
            .into_iter()
            .map(|c| CandidateLine {
                outcome: outcome_name(&c.outcome),
                tag: c.tag,
                extracted: c.extracted,
                rank: c.rank,
            })
            .collect();
        candidates.sort_by(|a, b| match (a.rank, b.rank) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => b.tag.cmp(&a.tag),
        });
        Explanation {
            policy,
            image,
            cluster,
            latest: evaluation.latest,
            error: evaluation.error,
            candidates,
        }
    }

    pub fn render_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("explanation serialises");
        text.push('\n');
        text
    }

    pub fn render_human(&self) -> String {
        let mut out = match &self.cluster {
            Some(cluster) => format!(
                "policy {}  (image {}, cluster {cluster})\n",
                self.policy, self.image
            ),
            None => format!("policy {}  (image {})\n", self.policy, self.image),
        };
        match (&self.latest, &self.error) {
            (Some(latest), _) => out.push_str(&format!("latest: {latest}\n")),
            (None, Some(error)) => out.push_str(&format!("latest: none ({error})\n")),
            (None, None) => out.push_str("latest: none\n"),
        }
        let width = self
            .candidates
            .iter()
            .map(|c| c.tag.len())
            .max()
            .unwrap_or(3)
            .max(3);
        out.push_str(&format!(
            "\n{:>4}  {:width$}  {:12}  extracted\n",
            "rank", "tag", "outcome"
        ));
        for c in &self.candidates {
            let rank = c.rank.map_or(String::from("-"), |r| r.to_string());
            let extracted = match &c.extracted {
                Some(value) if *value != c.tag => value.as_str(),
                _ => "",
            };
            out.push_str(&format!(
                "{rank:>4}  {:width$}  {:12}  {extracted}\n",
                c.tag, c.outcome
            ));
        }
        out
    }
}
