//! The label a job is recorded with: a line for `fitfleet jobs`, and the patchset's labels
//! (the names of the patch values, the axes of exclusion plots) that the results document
//! needs. The store keeps one free-text label per job, so both travel in it:
//! `hypotest mu=1 on BkgOnly.json + patchset.json (54 patches) | labels ["m1","m2"]`.
use serde_json::Value;

const MARKER: &str = " | labels ";

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JobLabel {
    /// What was submitted, for people.
    pub summary: String,
    /// The patchset's `metadata.labels` (empty without a patchset).
    pub labels: Vec<String>,
}

impl JobLabel {
    /// The text stored in the job record.
    pub fn encode(&self) -> String {
        format!("{}{MARKER}{}", self.summary, Value::from(self.labels.clone()))
    }

    /// Read a stored label; a label written otherwise (by another client) is all summary.
    pub fn parse(text: &str) -> Self {
        if let Some((summary, labels)) = text.rsplit_once(MARKER)
            && let Ok(labels) = serde_json::from_str::<Vec<String>>(labels)
        {
            return JobLabel { summary: summary.to_string(), labels };
        }
        JobLabel { summary: text.to_string(), labels: vec![] }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_tolerates_plain_text() {
        let l = JobLabel { summary: "hypotest mu=1 on a | b".into(), labels: vec!["m1".into(), "m2".into()] };
        assert_eq!(l.encode(), r#"hypotest mu=1 on a | b | labels ["m1","m2"]"#);
        assert_eq!(JobLabel::parse(&l.encode()), l);
        assert_eq!(JobLabel::parse("some job").summary, "some job");
        assert!(JobLabel::parse("x | labels nope").labels.is_empty());
    }
}
