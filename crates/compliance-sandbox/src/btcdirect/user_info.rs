//! The user info object (`GET /api/v1/user/info`, and the answer to the AMLD5 answers), with
//! every field of the documentation and each documented shape of `destinationTag`: absent
//! (`null`), a string, an integer (XRP) and the per-network object of the documentation's
//! example (`{"default": "ABC1234", "XRP": 12341}`).

use serde_json::{Value, json};

use super::{AccountStatus, BtcDirect};

fn description(status: AccountStatus) -> &'static str {
    match status {
        AccountStatus::Pending => "Identification process is in progress.",
        AccountStatus::Validated => "Identification process succeeded.",
        AccountStatus::NotValidated => "Identification process has not been completed.",
        AccountStatus::Blocked => "Identification process did not succeed.",
    }
}

impl BtcDirect {
    /// The user info of the user `identifier` (`{}` for an unknown one).
    pub(super) fn info(&self, identifier: &str) -> Value {
        let inner = self.lock();
        let Some(u) = inner.users.iter().find(|u| u.identifier == identifier) else {
            return json!({});
        };
        let amld5 = if u.amld5_answers.is_some() {
            "verified"
        } else {
            "open"
        };
        let money = |amount: Value| json!({"amount": amount, "currencyCode": "EUR"});
        json!({
            "emailAddress": u.email,
            "firstName": u.first_name,
            "lastName": u.last_name,
            "region": "nl-nl",
            "phoneNumber": "+31600000000",
            "registrationDate": "2019-01-01T14:13:55Z",
            "activationDate": "2019-01-02T12:43:25Z",
            "is_business": false,
            "limits": {
                "buy": {"limit": money(json!(3000)), "remaining": money(json!(2750.5)), "interval": "P1D"},
                "sell": {"limit": money(json!(3000)), "remaining": money(json!(3000)), "interval": "P1D"}
            },
            "enabledIbanAccounts": [],
            "enabledWalletAddresses": [
                {"currency": "BTC", "address": "3FZbgi29cpjq2GjdwV8eyHuJJnkLtktZc5", "destinationTag": null,
                 "name": "My BTC wallet 1", "status": "verified", "walletType": "unhosted",
                 "verificationStatus": "required", "id": 189632},
                {"currency": "XRP", "address": "rEb8TK3gBgk5auZkwc6sHnwrGVJH8DuaLh", "destinationTag": 12341,
                 "name": "XRP", "status": "pending", "walletType": "vasp",
                 "verificationStatus": "travel_rule_required", "id": 189633},
                {"currency": "XLM", "address": "GCKFBEIYTKP5RDBQMTVVALONAOPBXICILMAFG4CZB5MQZ7JP2BRLBS3G",
                 "destinationTag": "ABC1234", "name": "Stellar", "status": "open",
                 "walletType": "vasp", "verificationStatus": "required", "id": 189634},
                {"currency": "USDC", "address": "0x52908400098527886E0F7030069857D2E4169EE7",
                 "destinationTag": {"default": "ABC1234", "XRP": 12341}, "name": "Multi-network",
                 "status": "verified", "walletType": "unhosted", "verificationStatus": "required",
                 "id": 189635}
            ],
            "enabledAccounts": [{"type": "iban", "name": "My bank account", "identifier": "NL00BANK0123456789", "verified": true, "limitRaised": false}],
            "status": {
                "status": u.account.as_str(),
                "description": description(u.account),
                "details": {
                    "amld5VerificationStatus": amld5,
                    "emailAddressVerificationStatus": "verified",
                    "identityVerificationStatus": "verified",
                    "privacyAgreementVerificationStatus": "verified",
                    "identityDocumentVerificationStatus": [
                        {"documentType": "Passport", "documentSide": "Front", "status": "present"}
                    ],
                    "residentialAddressVerificationStatus": "present"
                }
            },
            "verificationLevel": {"id": "a1b2c3d4-0003-4000-8000-000000000003", "level": "hero",
                "buyLimit": money(json!(3000)), "sellLimit": money(json!(3000))}
        })
    }
}
