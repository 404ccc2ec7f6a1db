//! What the simulated elKYC sends: the envelope around every answer and webhook (`data`
//! encrypted in the application's mode, its HMAC or tag in `x-allpass-signature`), and the
//! applicant webhooks, retried on the provider's schedule until the receiver answers 200.

use compliance_core::time::{SignedDuration, Timestamp};
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::crypto::{Refusal, SIGNATURE_HEADER, Sealer};
use super::{Applicant, Elkyc, EncryptionMode, WebhookDelivery};
use crate::delivery::Outgoing;

/// The provider's millisecond UTC times (`2021-08-20T14:52:33.648Z`).
pub(super) fn iso(t: Timestamp) -> String {
    format!("{t:.3}")
}

/// The envelope, members in the documented order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Envelope<'a> {
    status: bool,
    status_code: u16,
    data: &'a Value,
    time: String,
}

impl Elkyc {
    /// The envelope around `data`, sealed in the application's mode: the body and, when
    /// encrypted, the `x-allpass-signature` value.
    pub(super) fn seal(
        &self,
        data: &Value,
        time: Timestamp,
    ) -> Result<(Vec<u8>, Option<String>), Refusal> {
        let creds = self.credentials();
        let (data, signature) = match creds.encryption {
            EncryptionMode::Plain => (data.clone(), None),
            mode => {
                let sealer = Sealer {
                    mode,
                    crypto: creds.crypto,
                    secret_key: &creds.secret_key,
                    hmac_key: &creds.hmac_key,
                };
                let plaintext = serde_json::to_vec(data).map_err(|_| Refusal::Malformed)?;
                let iv = self.ids.bytes_vec(sealer.iv_len());
                let (hex, signature) = sealer.seal(&plaintext, &iv)?;
                (Value::String(hex), Some(signature))
            }
        };
        let body = serde_json::to_vec(&Envelope {
            status: true,
            status_code: 200,
            data: &data,
            time: iso(time),
        })
        .map_err(|_| Refusal::Malformed)?;
        Ok((body, signature))
    }

    /// Sends the webhook announcing `a`'s status; returns it after the first attempt.
    pub(super) async fn send_webhook(&self, a: &Applicant) -> WebhookDelivery {
        let (url, app_key, field, time, encrypted) = {
            let mut inner = self.lock();
            // Webhooks carry millisecond times: two events in one millisecond get distinct
            // times, as a provider stamping each event would give them.
            let mut time = Timestamp::now();
            if let Some(last) = inner.last_webhook_time {
                let next = last
                    .saturating_add(SignedDuration::from_millis(1))
                    .unwrap_or(last);
                if time < next {
                    time = next;
                }
            }
            inner.last_webhook_time = Some(time);
            (
                inner.webhook_url.clone(),
                inner.creds.app_key.clone(),
                inner.event_field,
                time,
                inner.creds.encryption != EncryptionMode::Plain,
            )
        };
        let event = a.status.event();
        let mut payload = Map::new();
        payload.insert(field.as_str().into(), json!(event));
        payload.insert("id".into(), json!(a.id));
        payload.insert("externalUserId".into(), json!(a.external_user_id));
        payload.insert("appKey".into(), json!(app_key));
        payload.insert("warnings".into(), json!([]));
        let index = {
            let mut inner = self.lock();
            inner.deliveries.push(WebhookDelivery {
                event: event.to_owned(),
                applicant_id: a.id.clone(),
                external_user_id: a.external_user_id.clone(),
                status: a.status,
                time,
                encrypted,
                response_status: None,
                attempts: Vec::new(),
            });
            inner.deliveries.len() - 1
        };
        if let Some(url) = url
            && let Ok((body, signature)) = self.seal(&Value::Object(payload), time)
        {
            let headers = signature
                .map(|s| vec![(SIGNATURE_HEADER.to_owned(), s)])
                .unwrap_or_default();
            let this = self.clone();
            self.outbox
                .deliver(
                    Outgoing { url, body, headers },
                    &self.retries,
                    move |attempt| {
                        if let Some(d) = this.lock().deliveries.get_mut(index) {
                            d.attempts.push(attempt);
                            d.response_status = attempt.status;
                        }
                    },
                )
                .await;
        }
        self.lock().deliveries[index].clone()
    }
}
