//! The user's verification state: the provider's pending-steps list. (Its provider-neutral
//! [`AmlProvider`](crate::AmlProvider) view is in `aml.rs`.)

use compliance_core::open_enum;
use serde::{Deserialize, Serialize};

use crate::amld5::{Amld5Question, Amld5Questions};
use crate::error::Error;
use crate::user::StepStatus;

/// `GET /api/v2/user/verification-status`: the steps the user still has to complete. Empty
/// means fully verified.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct VerificationStatus {
    /// The pending steps.
    pub items: Vec<VerificationItem>,
}

impl VerificationStatus {
    /// Whether nothing is pending.
    pub fn is_verified(&self) -> bool {
        self.items.is_empty()
    }

    /// The pending AMLD5 questions, if the `AMLD5Questions` step is pending. Its `data` may
    /// be the list of questions or `{"questions": [...]}`.
    pub fn amld5_questions(&self) -> Result<Option<Amld5Questions>, Error> {
        let Some(item) = self
            .items
            .iter()
            .find(|i| i.name == VerificationStep::Amld5Questions)
        else {
            return Ok(None);
        };
        let Some(data) = &item.data else {
            return Ok(Some(Amld5Questions::new(Vec::new())));
        };
        let questions = match data {
            serde_json::Value::Array(_) => {
                serde_json::from_value::<Vec<Amld5Question>>(data.clone()).map(Amld5Questions::new)
            }
            _ => serde_json::from_value::<Amld5Questions>(data.clone()),
        };
        questions.map(Some).map_err(|e| {
            Error::Core(compliance_core::Error::decode(
                "verification-status AMLD5Questions data",
                "data",
                e,
                data.to_string().as_bytes(),
            ))
        })
    }
}

/// One pending verification step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct VerificationItem {
    /// Which step (`AMLD5Questions`).
    pub name: VerificationStep,
    /// What kind of step (`question`).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<StepKind>,
    /// The step's status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<StepStatus>,
    /// Step-specific data (the questions, for `AMLD5Questions`), as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
}

open_enum! {
    /// A verification step's name. Only `AMLD5Questions` is documented.
    pub enum VerificationStep {
        /// The AMLD5 questionnaire.
        Amld5Questions = "AMLD5Questions",
    }
}

open_enum! {
    /// A verification step's kind. Only `question` is documented.
    pub enum StepKind {
        /// Questions to answer.
        Question = "question",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verification_items_carry_questions_in_either_shape() {
        let list: VerificationStatus = serde_json::from_str(
            r#"[{"name":"AMLD5Questions","type":"question","status":"open","data":[{"key":"k","label":"L","answerOptions":["a"]}]}]"#,
        )
        .unwrap();
        assert!(!list.is_verified());
        assert_eq!(
            list.amld5_questions().unwrap().unwrap().questions[0].key,
            "k"
        );
        let list: VerificationStatus = serde_json::from_str(
            r#"[{"name":"AMLD5Questions","type":"question","data":{"questions":[{"key":"k","label":"L","answerOptions":[{"label":"a"}]}]}},{"name":"Selfie","type":"upload"}]"#,
        )
        .unwrap();
        assert_eq!(
            list.amld5_questions().unwrap().unwrap().questions[0].answer_options[0].label,
            "a"
        );
        assert_eq!(
            list.items[1].name,
            VerificationStep::Unknown("Selfie".into())
        );
        let list: VerificationStatus =
            serde_json::from_str(r#"[{"name":"AMLD5Questions","data":{"questions":7}}]"#).unwrap();
        assert!(list.amld5_questions().is_err());
        let list: VerificationStatus = serde_json::from_str("[]").unwrap();
        assert!(list.is_verified());
        assert_eq!(list.amld5_questions().unwrap(), None);
    }
}
