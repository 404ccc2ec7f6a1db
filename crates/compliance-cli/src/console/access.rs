//! Who may see the console, and what every answer carries.
//!
//! - **Open** (no token configured; loopback binds only): anyone on this machine. Requests
//!   must name a loopback host, so a web page elsewhere cannot reach the console through
//!   DNS rebinding.
//! - **Token**: a `Authorization: Bearer <token>` header, or a session cookie set by the
//!   login form. The token is compared in constant time and never rendered; the cookie holds
//!   a random session id, not the token.
//!
//! Every POST carries a CSRF token (a hidden form field) bound to the session (per process
//! in open mode and for bearer requests); a POST without it is refused with 403. Every
//! answer carries a strict Content-Security-Policy (no script at all), `X-Frame-Options:
//! DENY`, `nosniff`, `no-referrer` and `no-store`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use compliance_core::{ExposeSecret as _, SecretString};
use subtle::ConstantTimeEq as _;

use super::Console;

/// The session cookie's name.
pub const COOKIE: &str = "compliance_console_session";

/// The Content-Security-Policy of every answer: nothing but our own stylesheet and images,
/// no script, forms only to ourselves, never framed.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
                       form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The access policy and the live sessions.
pub struct Access {
    token: Option<SecretString>,
    /// The CSRF token of open mode and bearer requests.
    csrf: String,
    /// Session id → its CSRF token.
    sessions: Mutex<HashMap<String, String>>,
}

/// Who is asking: known once the guard let the request through.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// The CSRF token the forms of this viewer's pages carry.
    pub csrf: String,
    /// Logged in through the form (a logout button makes sense).
    pub session: bool,
}

impl Access {
    /// A policy: `token` required when given, open otherwise.
    pub fn new(token: Option<SecretString>) -> Self {
        Self {
            token,
            csrf: random_hex(),
            sessions: Mutex::new(HashMap::new()),
        }
    }

    /// Whether a token is required.
    pub fn requires_token(&self) -> bool {
        self.token.is_some()
    }

    /// Whether `given` is the token (constant time).
    pub fn token_matches(&self, given: &str) -> bool {
        self.token
            .as_ref()
            .is_some_and(|t| bool::from(t.expose_secret().as_bytes().ct_eq(given.as_bytes())))
    }

    /// A new session: its id (for the cookie).
    pub fn open_session(&self) -> String {
        let id = random_hex();
        if let Ok(mut sessions) = self.sessions.lock() {
            sessions.insert(id.clone(), random_hex());
        }
        id
    }

    /// Forgets a session.
    pub fn close_session(&self, id: &str) {
        if let Ok(mut sessions) = self.sessions.lock() {
            sessions.remove(id);
        }
    }

    /// The viewer a request is, or `None` when it must log in.
    fn viewer(&self, headers: &HeaderMap) -> Option<Viewer> {
        if self.token.is_none() {
            return Some(Viewer {
                csrf: self.csrf.clone(),
                session: false,
            });
        }
        if let Some(bearer) =
            header_text(headers, header::AUTHORIZATION).and_then(|v| v.strip_prefix("Bearer "))
            && self.token_matches(bearer.trim())
        {
            return Some(Viewer {
                csrf: self.csrf.clone(),
                session: false,
            });
        }
        let id = session_cookie(headers)?;
        let sessions = self.sessions.lock().ok()?;
        sessions.get(&id).map(|csrf| Viewer {
            csrf: csrf.clone(),
            session: true,
        })
    }
}

/// Whether `given` is the viewer's CSRF token (constant time).
pub fn csrf_matches(viewer: &Viewer, given: Option<&str>) -> bool {
    given.is_some_and(|g| bool::from(viewer.csrf.as_bytes().ct_eq(g.as_bytes())))
}

/// The session id in the request's cookie.
pub fn session_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.to_owned())
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// 32 random bytes as hex; the operating system's generator. Never fails in practice; if
/// it did, the console would refuse every session rather than use a predictable one.
pub fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    match getrandom::fill(&mut bytes) {
        Ok(()) => hex::encode(bytes),
        // An unguessable value nobody can present: the comparison never matches it.
        Err(_) => String::from("\u{0}unavailable"),
    }
}

/// The host part of a `Host` header (`127.0.0.1:8089` → `127.0.0.1`, `[::1]:80` → `::1`).
fn host_name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    host.rsplit_once(':').map_or(host, |(name, _)| name)
}

/// Whether a `Host` names this machine's loopback.
fn loopback_host(headers: &HeaderMap) -> bool {
    header_text(headers, header::HOST).is_some_and(|h| {
        let name = host_name(h);
        name.eq_ignore_ascii_case("localhost")
            || name
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    })
}

/// Sets the security headers on every answer.
pub fn secure(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// The guard in front of every route: security headers always; the login page and the
/// stylesheet for anyone; everything else for a [`Viewer`] only.
pub async fn guard(
    State(console): State<Arc<Console>>,
    mut request: Request,
    next: Next,
) -> Response {
    let access = &console.access;
    if !access.requires_token() && !loopback_host(request.headers()) {
        return secure(
            (
                StatusCode::MISDIRECTED_REQUEST,
                "this console answers only to a loopback host name (127.0.0.1, ::1, localhost)",
            )
                .into_response(),
        );
    }
    let path = request.uri().path();
    let public = path == "/login" || path.starts_with("/assets/");
    if !public {
        match access.viewer(request.headers()) {
            Some(viewer) => {
                request.extensions_mut().insert(viewer);
            }
            None if request.method() == Method::GET => {
                return secure(Redirect::to("/login").into_response());
            }
            None => {
                return secure(
                    (
                        StatusCode::UNAUTHORIZED,
                        "log in first: a token is required",
                    )
                        .into_response(),
                );
            }
        }
    }
    secure(next.run(request).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(name.clone(), HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn only_loopback_names_pass_in_open_mode() {
        for host in ["127.0.0.1:8089", "localhost:1", "[::1]:8089", "LOCALHOST"] {
            assert!(loopback_host(&headers(&[(header::HOST, host)])), "{host}");
        }
        for host in ["evil.example:8089", "10.0.0.1", "127.0.0.1.evil.example"] {
            assert!(!loopback_host(&headers(&[(header::HOST, host)])), "{host}");
        }
        assert!(!loopback_host(&HeaderMap::new()));
    }

    #[test]
    fn a_token_lets_in_by_bearer_or_session_only() {
        let access = Access::new(Some(SecretString::from("t0ken-value")));
        assert!(access.viewer(&HeaderMap::new()).is_none());
        let bearer = headers(&[(header::AUTHORIZATION, "Bearer t0ken-value")]);
        assert!(access.viewer(&bearer).is_some_and(|v| !v.session));
        let wrong = headers(&[(header::AUTHORIZATION, "Bearer t0ken-valuf")]);
        assert!(access.viewer(&wrong).is_none());
        let id = access.open_session();
        let cookie = format!("other=1; {COOKIE}={id}");
        let viewer = access
            .viewer(&headers(&[(header::COOKIE, &cookie)]))
            .unwrap();
        assert!(viewer.session);
        assert_ne!(
            viewer.csrf, access.csrf,
            "each session has its own CSRF token"
        );
        assert!(csrf_matches(&viewer, Some(&viewer.csrf)));
        assert!(!csrf_matches(&viewer, None));
        access.close_session(&id);
        assert!(
            access
                .viewer(&headers(&[(header::COOKIE, &cookie)]))
                .is_none()
        );
    }
}
