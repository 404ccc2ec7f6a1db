//! The AMLD5 questionnaire: the three questions of the documentation's example
//! (`mainSourceOfIncome`, `annualNetIncome`, `employmentStatus`) in `en` and `nl`, with the
//! options the example's answers come from.

use serde_json::{Value, json};

/// The question keys, in the order the documentation's example answers them.
pub(super) const KEYS: [&str; 3] = ["mainSourceOfIncome", "annualNetIncome", "employmentStatus"];

/// `(label, options)` per question, in [`KEYS`] order, for `locale`; `None` for a locale the
/// provider does not serve (ER099).
fn localised(locale: &str) -> Option<[(&'static str, &'static [&'static str]); 3]> {
    Some(match locale {
        "en" | "en-GB" | "en-US" => [
            (
                "What is your main source of income?",
                &[
                    "Salary",
                    "Investing",
                    "Savings",
                    "Inheritance",
                    "Business income",
                    "Pension or benefits",
                ],
            ),
            (
                "What is your annual net income?",
                &[
                    "Less than 10.000",
                    "From 10.000 to 30.000",
                    "From 30.000 to 60.000",
                    "More than 60.000",
                ],
            ),
            (
                "What is your employment status?",
                &[
                    "Employed",
                    "Self-employed",
                    "Unemployed",
                    "Retired",
                    "Student",
                ],
            ),
        ],
        "nl" | "nl-NL" => [
            (
                "Wat is uw belangrijkste bron van inkomsten?",
                &[
                    "Salaris",
                    "Beleggen",
                    "Spaargeld",
                    "Erfenis",
                    "Bedrijfsinkomsten",
                    "Pensioen of uitkering",
                ],
            ),
            (
                "Wat is uw netto jaarinkomen?",
                &[
                    "Minder dan 10.000",
                    "Van 10.000 tot 30.000",
                    "Van 30.000 tot 60.000",
                    "Meer dan 60.000",
                ],
            ),
            (
                "Wat is uw arbeidssituatie?",
                &[
                    "In loondienst",
                    "Zelfstandig",
                    "Werkloos",
                    "Gepensioneerd",
                    "Student",
                ],
            ),
        ],
        _ => return None,
    })
}

/// The `questions` array for `locale`, options as strings or as `{label}` objects.
pub(super) fn questions(locale: &str, as_objects: bool) -> Option<Value> {
    let list: Vec<Value> = KEYS
        .iter()
        .zip(localised(locale)?)
        .map(|(key, (label, options))| {
            let options: Vec<Value> = options
                .iter()
                .map(|o| {
                    if as_objects {
                        json!({"label": o})
                    } else {
                        json!(o)
                    }
                })
                .collect();
            json!({"key": key, "label": label, "answerOptions": options})
        })
        .collect();
    Some(Value::Array(list))
}

/// Whether `answer` is one of the options of question `key`, in any served locale.
pub(super) fn allowed(key: &str, answer: &str) -> bool {
    let Some(index) = KEYS.iter().position(|k| *k == key) else {
        return false;
    };
    ["en", "nl"]
        .iter()
        .filter_map(|l| localised(l))
        .any(|q| q[index].1.contains(&answer))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The documentation's own example answers are valid.
    #[test]
    fn the_seed_answers_are_offered() {
        for (key, answer) in [
            ("mainSourceOfIncome", "Salary"),
            ("annualNetIncome", "From 10.000 to 30.000"),
            ("employmentStatus", "Employed"),
        ] {
            assert!(allowed(key, answer), "{key}: {answer}");
        }
        assert!(!allowed("accountPurpose", "Investing"));
        assert!(!allowed("employmentStatus", "Salary"));
        assert_eq!(questions("en", false).unwrap().as_array().unwrap().len(), 3);
        assert!(questions("xx", false).is_none());
    }
}
