//! The AMLD5 questionnaire: questions in the user's language, answers checked locally before
//! they are sent.

use std::collections::HashMap;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

/// The questions of `GET /api/v1/user/verify/amld5`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Amld5Questions {
    /// The questions, in the provider's order.
    pub questions: Vec<Amld5Question>,
}

impl Amld5Questions {
    /// Wraps questions (for example the ones a verification-status item carries).
    pub fn new(questions: Vec<Amld5Question>) -> Self {
        Self { questions }
    }

    /// Starts answering these questions; [`Amld5AnswersBuilder::build`] checks the answers.
    pub fn answers(&self) -> Amld5AnswersBuilder<'_> {
        Amld5AnswersBuilder {
            questions: &self.questions,
            answers: Vec::new(),
        }
    }

    /// The question with `key`.
    pub fn get(&self, key: &str) -> Option<&Amld5Question> {
        self.questions.iter().find(|q| q.key == key)
    }

    /// The questions in the provider-neutral shape of [`compliance_core::Question`].
    pub fn to_core(&self) -> Vec<compliance_core::Question> {
        self.questions
            .iter()
            .map(|q| compliance_core::Question {
                key: q.key.clone(),
                label: q.label.clone(),
                options: q.answer_options.iter().map(|o| o.label.clone()).collect(),
            })
            .collect()
    }
}

/// One AMLD5 question.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Amld5Question {
    /// The key answers refer to (`employmentStatus`).
    pub key: String,
    /// The question in the requested locale.
    #[serde(default)]
    pub label: String,
    /// The allowed answers. The provider documents `{label}` objects but its examples are
    /// plain strings: both are accepted.
    #[serde(default)]
    pub answer_options: Vec<AnswerOption>,
}

impl Amld5Question {
    /// Whether `answer` is one of the options (exact match). A question without options
    /// accepts any non-empty answer.
    pub fn accepts(&self, answer: &str) -> bool {
        if self.answer_options.is_empty() {
            return !answer.is_empty();
        }
        self.answer_options.iter().any(|o| o.label == answer)
    }
}

/// One allowed answer; its label is what gets sent back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AnswerOption {
    /// The answer text, exactly as it must be sent.
    pub label: String,
}

impl AnswerOption {
    /// An option with `label`.
    pub fn new(label: impl Into<String>) -> Self {
        Self {
            label: label.into(),
        }
    }
}

impl<'de> Deserialize<'de> for AnswerOption {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = AnswerOption;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an answer option: a string or an object with a `label`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<AnswerOption, E> {
                Ok(AnswerOption::new(v))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<AnswerOption, E> {
                Ok(AnswerOption::new(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AnswerOption, A::Error> {
                let mut label = None;
                while let Some(key) = map.next_key::<String>()? {
                    if key == "label" {
                        label = Some(map.next_value::<String>()?);
                    } else {
                        map.next_value::<de::IgnoredAny>()?;
                    }
                }
                label
                    .map(AnswerOption::new)
                    .ok_or_else(|| de::Error::missing_field("label"))
            }
        }
        d.deserialize_any(V)
    }
}

/// One answer as sent: `{key, answer}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Amld5Answer {
    /// The question's key.
    pub key: String,
    /// The chosen option's label.
    pub answer: String,
}

/// Answers checked against their questions: every question answered exactly once, with one
/// of its options. Serialises as the JSON array `POST /api/v1/user/verify/amld5` takes.
///
/// Built with [`Amld5Questions::answers`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Amld5Answers(Vec<Amld5Answer>);

impl Amld5Answers {
    /// The answers, in question order.
    pub fn as_slice(&self) -> &[Amld5Answer] {
        &self.0
    }
}

/// Collects answers; [`build`](Self::build) checks them.
#[derive(Debug, Clone)]
pub struct Amld5AnswersBuilder<'q> {
    questions: &'q [Amld5Question],
    answers: Vec<(String, String)>,
}

impl Amld5AnswersBuilder<'_> {
    /// Answers the question `key` with `answer` (an option's label).
    pub fn answer(mut self, key: impl Into<String>, answer: impl Into<String>) -> Self {
        self.answers.push((key.into(), answer.into()));
        self
    }

    /// Checks that every question has exactly one answer drawn from its options, and that
    /// no answer refers to an unknown question. The error names the question.
    pub fn build(self) -> Result<Amld5Answers, AnswerError> {
        let mut by_key: HashMap<&str, &str> = HashMap::with_capacity(self.answers.len());
        for (key, answer) in &self.answers {
            let Some(question) = self.questions.iter().find(|q| &q.key == key) else {
                return Err(AnswerError::UnknownQuestion { key: key.clone() });
            };
            if by_key.insert(key, answer).is_some() {
                return Err(AnswerError::AnsweredTwice { key: key.clone() });
            }
            if !question.accepts(answer) {
                return Err(AnswerError::NotAnOption {
                    key: key.clone(),
                    answer: answer.clone(),
                    options: question
                        .answer_options
                        .iter()
                        .map(|o| o.label.clone())
                        .collect(),
                });
            }
        }
        let mut out = Vec::with_capacity(self.questions.len());
        for question in self.questions {
            match by_key.get(question.key.as_str()) {
                Some(answer) => out.push(Amld5Answer {
                    key: question.key.clone(),
                    answer: (*answer).to_owned(),
                }),
                None => {
                    return Err(AnswerError::Unanswered {
                        key: question.key.clone(),
                    });
                }
            }
        }
        Ok(Amld5Answers(out))
    }
}

/// Why answers were rejected locally. Each variant names the question.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AnswerError {
    /// A question has no answer.
    #[error("question `{key}` is not answered")]
    Unanswered {
        /// The question's key.
        key: String,
    },
    /// A question was answered more than once.
    #[error("question `{key}` is answered more than once")]
    AnsweredTwice {
        /// The question's key.
        key: String,
    },
    /// The answer is not one of the question's options.
    #[error("`{answer}` is not an option of question `{key}` (options: {})", options.join(" | "))]
    NotAnOption {
        /// The question's key.
        key: String,
        /// The answer given.
        answer: String,
        /// The allowed answers.
        options: Vec<String>,
    },
    /// An answer refers to a question that was not asked.
    #[error("there is no question `{key}`")]
    UnknownQuestion {
        /// The key given.
        key: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    fn questions() -> Amld5Questions {
        serde_json::from_str(
            r#"{"questions":[
                {"key":"employmentStatus","label":"Employment?","answerOptions":["Employed","Unemployed"]},
                {"key":"annualNetIncome","label":"Income?","answerOptions":[{"label":"From 10.000 to 30.000"},{"label":"More"}]}
            ]}"#,
        )
        .unwrap()
    }

    #[test]
    fn options_as_strings_and_objects() {
        let q = questions();
        assert_eq!(
            q.questions[0].answer_options[1],
            AnswerOption::new("Unemployed")
        );
        assert_eq!(
            q.questions[1].answer_options[0].label,
            "From 10.000 to 30.000"
        );
        assert!(serde_json::from_str::<AnswerOption>(r#"{"value":"x"}"#).is_err());
        assert!(serde_json::from_str::<AnswerOption>("3").is_err());
    }

    #[test]
    fn valid_answers_follow_question_order() {
        let q = questions();
        let a = q
            .answers()
            .answer("annualNetIncome", "More")
            .answer("employmentStatus", "Employed")
            .build()
            .unwrap();
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            r#"[{"key":"employmentStatus","answer":"Employed"},{"key":"annualNetIncome","answer":"More"}]"#
        );
    }

    #[test]
    fn every_mistake_names_the_question() {
        let q = questions();
        let err = q.answers().answer("employmentStatus", "Employed").build();
        assert_eq!(
            err,
            Err(AnswerError::Unanswered {
                key: "annualNetIncome".into()
            })
        );
        let err = q
            .answers()
            .answer("employmentStatus", "employed")
            .answer("annualNetIncome", "More")
            .build()
            .unwrap_err();
        assert!(matches!(&err, AnswerError::NotAnOption { key, .. } if key == "employmentStatus"));
        assert!(err.to_string().contains("Employed | Unemployed"));
        let err = q
            .answers()
            .answer("employmentStatus", "Employed")
            .answer("employmentStatus", "Unemployed")
            .build();
        assert_eq!(
            err,
            Err(AnswerError::AnsweredTwice {
                key: "employmentStatus".into()
            })
        );
        let err = q.answers().answer("pet", "cat").build();
        assert_eq!(err, Err(AnswerError::UnknownQuestion { key: "pet".into() }));
    }

    #[test]
    fn free_text_questions_need_a_non_empty_answer() {
        let q = Amld5Questions::new(vec![Amld5Question {
            key: "why".into(),
            label: "Why?".into(),
            answer_options: vec![],
        }]);
        assert!(q.answers().answer("why", "").build().is_err());
        assert!(q.answers().answer("why", "Investing").build().is_ok());
        assert_eq!(q.to_core()[0].options, Vec::<String>::new());
    }
}
