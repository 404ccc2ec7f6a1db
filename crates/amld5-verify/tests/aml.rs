//! The provider-neutral view: `AmlProvider` for a user identifier and for a bound session.

mod common;

use amld5_verify::Actionable as _;
use amld5_verify::{AmlProvider, AmlStatus, Subject, SubjectRef, UserContext, UserSession};
use common::*;
use compliance_core::aml::{AmlError, RequiredAction, SubjectKind};
use mockito::Matcher;

fn user_subject(id: &str) -> Subject {
    Subject::User {
        reference: SubjectRef::ProviderId(id.into()),
    }
}

fn info_with(status: &str) -> String {
    format!(r#"{{"firstName":"John","status":{status}}}"#)
}

#[tokio::test]
async fn open_questionnaire_is_an_action_with_the_questions() {
    let mut server = mockito::Server::new_async().await;
    let info = server
        .mock("GET", "/api/v1/user/info")
        .match_header("user-identifier", "user-42")
        .with_body(info_with(
            r#"{"status":"pending","details":{"amld5VerificationStatus":"open","identityVerificationStatus":"verified","emailAddressVerificationStatus":"verified"}}"#,
        ))
        .expect(1)
        .create_async()
        .await;
    let questions = server
        .mock("GET", "/api/v1/user/verify/amld5?locale=nl")
        .match_header("user-identifier", "user-42")
        .with_body(fixture("amld5_questions.json"))
        .expect(1)
        .create_async()
        .await;
    let client = amld5_verify::BtcDirectClient::builder()
        .base_url(server.url())
        .api_key("api-key-S3cret")
        .locale("nl")
        .build()
        .unwrap();
    let providers: Vec<Box<dyn AmlProvider>> = vec![Box::new(client)];
    let state = providers[0]
        .aml_state(&user_subject("user-42"))
        .await
        .unwrap();
    info.assert_async().await;
    questions.assert_async().await;
    assert_eq!(state.provider, "btcdirect");
    let AmlStatus::ActionRequired { actions } = &state.status else {
        panic!("{state:?}")
    };
    let [RequiredAction::AnswerQuestions { questions }] = actions.as_slice() else {
        panic!("{actions:?}")
    };
    assert_eq!(questions.len(), 3);
    assert_eq!(questions[1].options[1], "From 10.000 to 30.000");
    insta::assert_json_snapshot!("aml_state_amld5_open", state);
}

#[tokio::test]
async fn statuses_map_to_neutral_states() {
    for (status, expected) in [
        (
            r#"{"status":"validated","details":{"amld5VerificationStatus":"verified","identityVerificationStatus":"verified"}}"#,
            AmlStatus::Clear,
        ),
        (
            r#"{"status":"pending","details":{"amld5VerificationStatus":"verified","identityVerificationStatus":"pending"}}"#,
            AmlStatus::Pending,
        ),
        (
            r#"{"status":"blocked","description":"Identification process did not succeed.","details":{"amld5VerificationStatus":"verified"}}"#,
            AmlStatus::Rejected,
        ),
        (
            r#"{"status":"pending","details":{"amld5VerificationStatus":"verified","identityVerificationStatus":"open"}}"#,
            AmlStatus::ActionRequired { actions: vec![] },
        ),
    ] {
        let mut server = mockito::Server::new_async().await;
        let m = server
            .mock("GET", "/api/v1/user/info")
            .with_body(info_with(status))
            .expect(1)
            .create_async()
            .await;
        let state = api_key_client(&server)
            .aml_state(&user_subject("user-42"))
            .await
            .unwrap();
        m.assert_async().await;
        assert_eq!(state.status, expected, "{status}");
        assert_eq!(state.subject, user_subject("user-42"));
    }
}

#[tokio::test]
async fn without_statuses_the_verification_list_decides() {
    let mut server = mockito::Server::new_async().await;
    let info = server
        .mock("GET", "/api/v1/user/info")
        .with_body(r#"{"firstName":"John"}"#)
        .expect(2)
        .create_async()
        .await;
    let empty = server
        .mock("GET", "/api/v2/user/verification-status")
        .with_body("[]")
        .expect(1)
        .create_async()
        .await;
    let open = server
        .mock("GET", "/api/v2/user/verification-status")
        .with_body(fixture("verification_status_open.json"))
        .expect(1)
        .create_async()
        .await;
    let client = api_key_client(&server);
    let state = client.aml_state(&user_subject("user-42")).await.unwrap();
    assert_eq!(state.status, AmlStatus::Clear);
    let state = client.aml_state(&user_subject("user-42")).await.unwrap();
    assert_eq!(state.provider_status, "pending=AMLD5Questions");
    let AmlStatus::ActionRequired { actions } = state.status else {
        panic!()
    };
    assert!(matches!(
        &actions[..],
        [RequiredAction::AnswerQuestions { questions }] if questions[0].key == "employmentStatus"
    ));
    for m in [info, empty, open] {
        m.assert_async().await;
    }
}

#[tokio::test]
async fn a_bound_session_answers_for_its_own_user_only() {
    let mut server = mockito::Server::new_async().await;
    let info = server
        .mock("GET", "/api/v1/user/info")
        .match_header("user-authorization", "Bearer ut-1")
        .match_header("user-identifier", Matcher::Missing)
        .with_body(info_with(
            r#"{"status":"validated","details":{"amld5VerificationStatus":"verified","identityVerificationStatus":"verified"}}"#,
        ))
        .expect(1)
        .create_async()
        .await;
    let client = api_key_client(&server);
    let aml = client.aml_for(UserContext::session(UserSession::new(
        "ut-1", "ur-1", "user-42",
    )));
    assert_eq!(aml.subject(), user_subject("user-42"));
    assert!(aml.supports(SubjectKind::User) && !aml.supports(SubjectKind::Payment));
    let state = aml.aml_state(&user_subject("user-42")).await.unwrap();
    assert_eq!(state.status, AmlStatus::Clear);
    info.assert_async().await;

    let other = aml.aml_state(&user_subject("user-43")).await.unwrap_err();
    assert!(matches!(other, AmlError::Provider { .. }));
    assert!(!other.is_retryable());
    let payment = Subject::Payment {
        reference: SubjectRef::ProviderId("p".into()),
    };
    assert!(matches!(
        aml.aml_state(&payment).await,
        Err(AmlError::Unsupported { .. })
    ));
    assert!(matches!(
        client.aml_state(&payment).await,
        Err(AmlError::Unsupported { .. })
    ));
    let external = Subject::User {
        reference: SubjectRef::ExternalId("mine".into()),
    };
    assert!(client.aml_state(&external).await.is_err());
}
