//! Every call into `amld5-verify`: the client behind `state btcdirect`.

use amld5_verify::{BtcDirectClient, Error, ErrorCode};
use compliance_core::aml::{AmlError, AmlProvider};

use crate::cli::StateBtcDirectArgs;
use crate::outcome::{Failure, Output};
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
                return Err(Failure::config(
                    "BTC Direct partner authentication is not configured. Either set \
                     $BTCDIRECT_USERNAME (or --username) and the partner password \
                     ($BTCDIRECT_PASSWORD, or point $BTCDIRECT_PASSWORD_FILE or --password-file \
                     at a file holding it), or set the partner API key ($BTCDIRECT_API_KEY, or \
                     point $BTCDIRECT_API_KEY_FILE or --api-key-file at a file holding it). \
                     Never on the command line.",
                ));
            }
        },
    };
    let client = builder
        .build()
        .map_err(|e| crate::outcome::client_failure("BTC Direct", &e))?;
    Ok(Box::new(client))
}

/// Whether BTC Direct answered that it does not know the user (`ER700`).
pub fn unknown_user(error: &AmlError) -> bool {
    matches!(error, AmlError::Provider { source, .. }
        if source.downcast_ref::<Error>().is_some_and(|e| e.has_code(&ErrorCode::Er700)))
}
