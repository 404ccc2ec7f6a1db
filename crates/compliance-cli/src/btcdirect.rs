//! Every call into `amld5-verify`: the client behind `state btcdirect`.

use amld5_verify::{BtcDirectClient, Error};
use compliance_core::aml::{AmlError, AmlProvider};

use crate::cli::StateBtcDirectArgs;
use crate::outcome::{Code, Failure, Output};
use crate::secrets::{BTCDIRECT_API_KEY, BTCDIRECT_PASSWORD};

/// The client behind `state btcdirect`: partner username and password, or an API key.
pub fn provider(args: &StateBtcDirectArgs, out: &Output) -> Result<Box<dyn AmlProvider>, Failure> {
    let mut builder = BtcDirectClient::builder();
    if let Some(url) = &args.base_url {
        out.note(format!("BTC Direct at {}", crate::secrets::shown_url(url)));
        builder = builder.base_url(url.clone());
    }
    let username = args.username.clone().filter(|u| !u.trim().is_empty());
    builder = match username {
        Some(username) => {
            let password = BTCDIRECT_PASSWORD.require(args.password_file.as_deref(), out)?;
            builder.credentials(username, password)
        }
        None => match BTCDIRECT_API_KEY.load(args.api_key_file.as_deref(), out)? {
            Some(key) => builder.api_key(key),
            None => {
                return Err(Failure::config(format!(
                    "BTC Direct partner authentication is not configured: set \
                     $BTCDIRECT_USERNAME (or --username) with the password, or the API key. {} \
                     {}",
                    BTCDIRECT_PASSWORD.missing(),
                    BTCDIRECT_API_KEY.missing()
                )));
            }
        },
    };
    let client = builder
        .build()
        .map_err(|e| Failure::config(format!("BTC Direct client: {e}")))?;
    Ok(Box::new(client))
}

/// The exit code of a failed `state btcdirect`, from the crate's own next step.
pub fn error_code(error: &AmlError) -> Code {
    crate::state::provider_code::<Error>(error, |e| (e.next_step(), e.status()))
}
