//! `console`: the operator's web page over a store: every subject's AML state across
//! providers, and the deliveries the receivers took in. Server-rendered HTML (maud), one
//! stylesheet served by the binary, no script; see [`access`] for who may see it.

mod access;
mod deliveries;
mod pages;
mod queue;
mod store;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Extension, Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use compliance_store::ApplicantListing;
use compliance_store::listing::{ApplicantQuery, ApplicantSort, StatusKind};
use serde::Deserialize;
use serde_json::json;

use self::access::{Access, COOKIE, Viewer, csrf_matches};
use self::deliveries::{Deliveries, DeliveryQuery, ReplayError, ReplayTarget};
use self::pages::{DeliveryFilters, Frame, StatesFilters};
use crate::cli::ConsoleArgs;
use crate::outcome::{Failure, Outcome, Output};
use crate::secrets::Secret;

/// Rows per page.
const PAGE_SIZE: u32 = 50;

/// The shortest token accepted: a guessable token would open every subject to the network.
const MIN_TOKEN_CHARS: usize = 16;

/// The token a console bound beyond the loopback requires.
pub const CONSOLE_TOKEN: Secret = Secret {
    env: "COMPLIANCE_CONSOLE_TOKEN",
    flag: "--token-file",
    what: "the console token",
};

/// The console's state, shared by every request.
pub struct Console {
    applicants: Arc<dyn ApplicantListing>,
    deliveries: Arc<dyn Deliveries>,
    /// The store as it may be shown.
    store: String,
    access: Access,
}

/// Serves until Ctrl-C or SIGTERM.
pub async fn run(args: &ConsoleArgs, out: &Output) -> Result<Outcome, Failure> {
    let token = CONSOLE_TOKEN.load(args.token_file.as_deref(), out)?;
    if token
        .as_ref()
        .is_some_and(|t| crate::secrets::expose(t).chars().count() < MIN_TOKEN_CHARS)
    {
        return Err(Failure::config(format!(
            "the console token is shorter than {MIN_TOKEN_CHARS} characters: use a long random \
             one (`openssl rand -hex 32`)"
        )));
    }
    if token.is_none() && !args.bind.ip().is_loopback() {
        return Err(Failure::config(format!(
            "{} is not a loopback address: anyone who reaches it would see every subject. \
             Serving beyond this machine requires a token: {}",
            args.bind,
            CONSOLE_TOKEN.missing()
        )));
    }
    let elkyc = crate::elkyc::console_cipher(&args.elkyc, out)?;
    let opened = store::open(&args.store, elkyc).await?;
    let console = Arc::new(Console {
        applicants: opened.applicants,
        deliveries: opened.deliveries,
        store: opened.shown.clone(),
        access: Access::new(token),
    });
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .map_err(|e| Failure::config(format!("cannot listen on {}: {e}", args.bind)))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Failure::config(format!("cannot listen on {}: {e}", args.bind)))?;
    let url = format!("http://{addr}/");
    let login = if console.access.requires_token() {
        "a token is required (login form, or Authorization: Bearer)"
    } else {
        "open to this machine only (loopback, no token)"
    };
    out.print(&Outcome::ok(
        json!({"url": url, "store": opened.shown, "token_required": console.access.requires_token()}),
        format!(
            "compliance console on {url} until Ctrl-C\n  store   {}\n  access  {login}",
            opened.shown
        ),
    ));
    axum::serve(listener, router(console))
        .with_graceful_shutdown(stopped())
        .await
        .map_err(|e| Failure::config(format!("the console stopped: {e}")))?;
    out.note("console stopped");
    Ok(Outcome::silent())
}

/// Ctrl-C, or SIGTERM on Unix.
async fn stopped() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Every route, behind the access guard.
fn router(console: Arc<Console>) -> Router {
    Router::new()
        .route("/", get(states))
        .route("/deliveries", get(deliveries_page))
        .route("/deliveries/detail", get(detail))
        .route("/deliveries/replay", get(confirm_replay).post(replay))
        .route("/login", get(login_form).post(login))
        .route("/logout", axum::routing::post(logout))
        .route("/assets/console.css", get(stylesheet))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            console.clone(),
            access::guard,
        ))
        .with_state(console)
}

fn frame<'a>(console: &'a Console, viewer: Option<&'a Viewer>) -> Frame<'a> {
    Frame {
        store: &console.store,
        viewer,
    }
}

/// A query parameter that is present and not empty.
fn given(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

/// A page number from the query string (1 when absent or not a number).
fn page_number(value: Option<&str>) -> u64 {
    value
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|p| *p >= 1)
        .unwrap_or(1)
}

fn offset(page: u64) -> u64 {
    (page - 1).saturating_mul(u64::from(PAGE_SIZE))
}

fn failure_page(console: &Console, viewer: &Viewer, status: StatusCode, text: &str) -> Response {
    let title = if status.is_server_error() {
        "The store failed"
    } else {
        "Refused"
    };
    (
        status,
        Html(pages::message(&frame(console, Some(viewer)), title, text, true).into_string()),
    )
        .into_response()
}

/// The AML states page's query string.
#[derive(Debug, Default, Deserialize)]
struct StatesParams {
    provider: Option<String>,
    status: Option<String>,
    q: Option<String>,
    sort: Option<String>,
    dir: Option<String>,
    page: Option<String>,
}

async fn states(
    State(console): State<Arc<Console>>,
    Extension(viewer): Extension<Viewer>,
    Query(params): Query<StatesParams>,
) -> Response {
    let status = given(params.status).and_then(|s| StatusKind::parse(&s));
    let sort = match params.sort.as_deref() {
        Some("provider") => ApplicantSort::Provider,
        Some("subject") => ApplicantSort::Subject,
        Some("status") => ApplicantSort::Status,
        _ => ApplicantSort::UpdatedAt,
    };
    let filters = StatesFilters {
        provider: given(params.provider),
        status: status.map(|s| s.as_str().to_owned()),
        search: given(params.q),
        sort: match sort {
            ApplicantSort::Provider => "provider",
            ApplicantSort::Subject => "subject",
            ApplicantSort::Status => "status",
            _ => "updated",
        }
        .to_owned(),
        dir: if params.dir.as_deref() == Some("asc") {
            "asc"
        } else {
            "desc"
        }
        .to_owned(),
        page: page_number(params.page.as_deref()),
    };
    let query = ApplicantQuery {
        provider: filters.provider.clone(),
        status,
        search: filters.search.clone(),
        sort,
        descending: filters.dir == "desc",
        offset: offset(filters.page),
        limit: PAGE_SIZE,
    };
    let listed = async {
        let counts = console.applicants.applicant_counts().await?;
        let page = console.applicants.list_applicants(&query).await?;
        Ok::<_, compliance_store::Error>((counts, page))
    };
    match listed.await {
        Ok((counts, page)) => Html(
            pages::states(
                &frame(&console, Some(&viewer)),
                &filters,
                &counts,
                &page,
                query.offset,
                PAGE_SIZE,
            )
            .into_string(),
        )
        .into_response(),
        Err(e) => failure_page(
            &console,
            &viewer,
            StatusCode::INTERNAL_SERVER_ERROR,
            &e.to_string(),
        ),
    }
}

/// The Deliveries page's query string.
#[derive(Debug, Default, Deserialize)]
struct DeliveryParams {
    provider: Option<String>,
    state: Option<String>,
    page: Option<String>,
}

async fn deliveries_page(
    State(console): State<Arc<Console>>,
    Extension(viewer): Extension<Viewer>,
    Query(params): Query<DeliveryParams>,
) -> Response {
    let filters = DeliveryFilters {
        provider: given(params.provider),
        state: given(params.state),
        page: page_number(params.page.as_deref()),
    };
    let query = DeliveryQuery {
        provider: filters.provider.clone(),
        state: filters.state.clone(),
        offset: offset(filters.page),
        limit: PAGE_SIZE,
    };
    match console.deliveries.view(&query).await {
        Ok(view) => Html(
            pages::deliveries(
                &frame(&console, Some(&viewer)),
                &filters,
                &view,
                query.offset,
            )
            .into_string(),
        )
        .into_response(),
        Err(e) => failure_page(&console, &viewer, StatusCode::INTERNAL_SERVER_ERROR, &e),
    }
}

/// A delivery named in a query string.
#[derive(Debug, Default, Deserialize)]
struct DeliveryRef {
    provider: Option<String>,
    key: Option<String>,
    body: Option<String>,
}

async fn detail(
    State(console): State<Arc<Console>>,
    Extension(viewer): Extension<Viewer>,
    Query(r): Query<DeliveryRef>,
) -> Response {
    let (Some(provider), Some(key)) = (given(r.provider), given(r.key)) else {
        return failure_page(
            &console,
            &viewer,
            StatusCode::BAD_REQUEST,
            "name a provider and a key",
        );
    };
    let show_body = r.body.as_deref() == Some("1");
    match console.deliveries.detail(&provider, &key, show_body).await {
        Ok(found) => {
            let durable = console.deliveries.durable();
            let status = if found.is_some() {
                StatusCode::OK
            } else {
                StatusCode::NOT_FOUND
            };
            (
                status,
                Html(
                    pages::detail(
                        &frame(&console, Some(&viewer)),
                        &provider,
                        &key,
                        found.as_ref(),
                        durable,
                    )
                    .into_string(),
                ),
            )
                .into_response()
        }
        Err(e) => failure_page(&console, &viewer, StatusCode::INTERNAL_SERVER_ERROR, &e),
    }
}

async fn confirm_replay(
    State(console): State<Arc<Console>>,
    Extension(viewer): Extension<Viewer>,
    Query(r): Query<DeliveryRef>,
) -> Response {
    let Some(provider) = given(r.provider) else {
        return failure_page(
            &console,
            &viewer,
            StatusCode::BAD_REQUEST,
            "name a provider",
        );
    };
    let key = given(r.key);
    Html(
        pages::confirm_replay(&frame(&console, Some(&viewer)), &provider, key.as_deref())
            .into_string(),
    )
    .into_response()
}

/// A replay form.
#[derive(Debug, Default, Deserialize)]
struct ReplayForm {
    csrf: Option<String>,
    provider: Option<String>,
    key: Option<String>,
}

async fn replay(
    State(console): State<Arc<Console>>,
    Extension(viewer): Extension<Viewer>,
    Form(form): Form<ReplayForm>,
) -> Response {
    if !csrf_matches(&viewer, form.csrf.as_deref()) {
        return csrf_refused(&console, &viewer);
    }
    let Some(provider) = given(form.provider) else {
        return failure_page(
            &console,
            &viewer,
            StatusCode::BAD_REQUEST,
            "name a provider",
        );
    };
    let target = match given(form.key) {
        Some(key) => ReplayTarget::One { provider, key },
        None => ReplayTarget::AllDead { provider },
    };
    let frame = frame(&console, Some(&viewer));
    match console.deliveries.replay(&target).await {
        Ok(n) => Html(
            pages::message(
                &frame,
                "Replayed",
                &match n {
                    1 => "1 delivery is queued again.".to_owned(),
                    n => format!("{n} deliveries are queued again."),
                },
                false,
            )
            .into_string(),
        )
        .into_response(),
        Err(e) => {
            let status = match e {
                ReplayError::NeedsDurableMode => StatusCode::CONFLICT,
                ReplayError::NotFound => StatusCode::NOT_FOUND,
                ReplayError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
            };
            (
                status,
                Html(pages::message(&frame, "Not replayed", &e.to_string(), true).into_string()),
            )
                .into_response()
        }
    }
}

fn csrf_refused(console: &Console, viewer: &Viewer) -> Response {
    failure_page(
        console,
        viewer,
        StatusCode::FORBIDDEN,
        "refused: this form did not carry the page's CSRF token (reload the page and try again)",
    )
}

async fn login_form(State(console): State<Arc<Console>>) -> Response {
    if !console.access.requires_token() {
        return Redirect::to("/").into_response();
    }
    Html(pages::login(&frame(&console, None), None).into_string()).into_response()
}

/// The login form's fields.
#[derive(Deserialize)]
struct LoginForm {
    token: Option<String>,
}

async fn login(State(console): State<Arc<Console>>, Form(form): Form<LoginForm>) -> Response {
    if !console.access.requires_token() {
        return Redirect::to("/").into_response();
    }
    if !form
        .token
        .as_deref()
        .is_some_and(|t| console.access.token_matches(t))
    {
        // Slows guessing down; the token itself is long and random.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        return (
            StatusCode::UNAUTHORIZED,
            Html(
                pages::login(
                    &frame(&console, None),
                    Some("That is not the console token."),
                )
                .into_string(),
            ),
        )
            .into_response();
    }
    let id = console.access.open_session();
    let mut response = Redirect::to("/").into_response();
    if let Ok(cookie) =
        HeaderValue::from_str(&format!("{COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/"))
    {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

/// The logout form's fields.
#[derive(Deserialize)]
struct LogoutForm {
    csrf: Option<String>,
}

async fn logout(
    State(console): State<Arc<Console>>,
    Extension(viewer): Extension<Viewer>,
    headers: HeaderMap,
    Form(form): Form<LogoutForm>,
) -> Response {
    if !csrf_matches(&viewer, form.csrf.as_deref()) {
        return csrf_refused(&console, &viewer);
    }
    if let Some(id) = access::session_cookie(&headers) {
        console.access.close_session(&id);
    }
    let mut response = Redirect::to("/login").into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static(
            "compliance_console_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0",
        ),
    );
    response
}

async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("assets/console.css"),
    )
        .into_response()
}

async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found").into_response()
}

#[cfg(test)]
mod tests {
    //! The Deliveries section with a durable source, as #24's queue will plug in: a fake
    //! queue with one dead delivery, replayed from the pages.

    use std::sync::Mutex;

    use async_trait::async_trait;
    use compliance_core::Timestamp;
    use compliance_store::SqliteStore;

    use super::deliveries::{DeliveriesView, DeliveryDetail, DeliveryRow, StateCount};
    use super::*;

    struct FakeQueue {
        dead: Mutex<bool>,
    }

    impl FakeQueue {
        fn state(&self) -> &'static str {
            if *self.dead.lock().unwrap() {
                "dead"
            } else {
                "done"
            }
        }
    }

    #[async_trait]
    impl Deliveries for FakeQueue {
        fn durable(&self) -> bool {
            true
        }

        async fn view(&self, _: &DeliveryQuery) -> Result<DeliveriesView, String> {
            Ok(DeliveriesView {
                counts: vec![StateCount {
                    provider: "tuum".into(),
                    state: self.state().into(),
                    count: 1,
                }],
                states: vec!["queued", "retrying", "dead", "done"],
                oldest_queued: None,
                rows: vec![DeliveryRow {
                    provider: "tuum".into(),
                    key: "tuum:n-9".into(),
                    state: self.state().into(),
                    at_label: "last attempt",
                    at: Timestamp::UNIX_EPOCH,
                    attempts: Some(5),
                    last_error: Some("<script>x</script> downstream refused".into()),
                }],
                total: 1,
                durable: true,
            })
        }

        async fn detail(
            &self,
            _: &str,
            key: &str,
            show_body: bool,
        ) -> Result<Option<DeliveryDetail>, String> {
            Ok(Some(DeliveryDetail {
                fields: vec![("key", key.to_owned()), ("state", self.state().into())],
                body: show_body.then(|| r#"{"notificationId":"n-9"}"#.to_owned()),
            }))
        }

        async fn replay(&self, target: &ReplayTarget) -> Result<u64, ReplayError> {
            assert_eq!(
                target,
                &ReplayTarget::One {
                    provider: "tuum".into(),
                    key: "tuum:n-9".into()
                }
            );
            *self.dead.lock().unwrap() = false;
            Ok(1)
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_dead_delivery_of_a_durable_source_is_replayed_from_the_page() {
        let console = Arc::new(Console {
            applicants: Arc::new(SqliteStore::open_in_memory().await.unwrap()),
            deliveries: Arc::new(FakeQueue {
                dead: Mutex::new(true),
            }),
            store: "sqlite:test".into(),
            access: Access::new(None),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(axum::serve(listener, router(console)).into_future());
        let client = reqwest::Client::new();
        let get = async |path: &str| {
            client
                .get(format!("{base}{path}"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        };

        let page = get("/deliveries").await;
        assert!(!page.contains("inbox-mode"), "no inbox-only notice");
        assert!(page.contains(r#"data-state="dead""#));
        assert!(page.contains("&lt;script&gt;x&lt;/script&gt; downstream refused"));
        assert!(page.contains(r#"href="/deliveries/replay?provider=tuum""#));
        assert!(page.contains(r#"href="/deliveries/detail?provider=tuum&amp;key=tuum%3An-9""#));

        let detail = get("/deliveries/detail?provider=tuum&key=tuum%3An-9").await;
        assert!(detail.contains("show body") && !detail.contains("notificationId"));
        let body = get("/deliveries/detail?provider=tuum&key=tuum%3An-9&body=1").await;
        assert!(body.contains("notificationId"));

        let confirm = get("/deliveries/replay?provider=tuum&key=tuum%3An-9").await;
        let at = confirm.find(r#"name="csrf" value=""#).unwrap() + 19;
        let csrf = confirm[at..].split('"').next().unwrap();
        let replayed = client
            .post(format!("{base}/deliveries/replay"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("csrf={csrf}&provider=tuum&key=tuum%3An-9"))
            .send()
            .await
            .unwrap();
        assert_eq!(replayed.status(), StatusCode::OK);
        assert!(
            replayed
                .text()
                .await
                .unwrap()
                .contains("1 delivery is queued again")
        );
        assert!(get("/deliveries").await.contains(r#"data-state="done""#));
    }
}
