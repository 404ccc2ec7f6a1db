//! `compliance console`, end to end: the binary serving a temporary SQLite store seeded from
//! the sandbox, asked over HTTP (security: headers, CSRF, login, escaping) and driven in a
//! real headless Chromium through WebDriver (`browser.rs`).

mod browser;
mod seed;

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use reqwest::StatusCode;
use reqwest::header::{CONTENT_SECURITY_POLICY, LOCATION, SET_COOKIE, X_FRAME_OPTIONS};

/// The token of the tests that serve beyond the loopback.
pub const TOKEN: &str = "console-t0ken-4f9c2d1e8b7a6350";

/// A running `compliance console`, stopped on drop.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub base: String,
}

impl Server {
    /// Serves the SQLite file `store` on `bind` (port 0: any), with the token in the
    /// environment if given.
    pub fn start(store: &Path, bind: &str, token: Option<&str>) -> Server {
        Self::serve(&format!("sqlite:{}", store.display()), bind, token)
    }

    /// Serves the store named `store` (`--store`).
    pub fn serve(store: &str, bind: &str, token: Option<&str>) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_compliance"));
        command
            .args(["console", "--store", store])
            .args(["--bind", bind])
            .env_remove("COMPLIANCE_CONSOLE_TOKEN")
            .env_remove("COMPLIANCE_CONSOLE_TOKEN_FILE")
            .env_remove("COMPLIANCE_STORE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(token) = token {
            command.env("COMPLIANCE_CONSOLE_TOKEN", token);
        }
        let mut child = command.spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        // "compliance console on http://ADDR/ until Ctrl-C"
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in the first line: {line:?}"));
        let base = url.trim_end_matches('/').replace("0.0.0.0", "127.0.0.1");
        Server { child, base }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A form's body, `application/x-www-form-urlencoded`.
fn form_body(pairs: &[(&str, &str)]) -> String {
    let encode = |v: &str| {
        v.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Forms as a browser posts them (reqwest's `form` needs a feature this crate leaves off).
trait FormPairs {
    fn form_pairs(self, pairs: &[(&str, &str)]) -> Self;
}

impl FormPairs for reqwest::RequestBuilder {
    fn form_pairs(self, pairs: &[(&str, &str)]) -> Self {
        self.header("content-type", "application/x-www-form-urlencoded")
            .body(form_body(pairs))
    }
}

/// The hidden CSRF field's value in a page.
fn csrf_of(page: &str) -> String {
    let at = page.find(r#"name="csrf" value=""#).expect("no CSRF field") + 19;
    page[at..].split('"').next().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_carries_the_security_headers_and_escapes_what_it_shows() {
    let dir = seed::TempDir::new();
    let seeded = seed::seed(&dir.0, 0).await;
    let server = Server::start(&seeded.path, "127.0.0.1:0", None);
    let client = http();
    for path in [
        "/",
        "/deliveries",
        "/assets/console.css",
        "/nowhere",
        "/deliveries/detail?provider=tuum&key=x",
    ] {
        let response = client
            .get(format!("{}{path}", server.base))
            .send()
            .await
            .unwrap();
        let headers = response.headers();
        let csp = headers[CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(
            csp.contains("default-src 'none'") && !csp.contains("script-src"),
            "{path}: {csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert_eq!(headers[X_FRAME_OPTIONS], "DENY", "{path}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
    }

    let page = client
        .get(format!("{}/", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{page}"
    );
    assert!(page.contains("&lt;b&gt;bold&lt;/b&gt;"));
    assert!(!page.contains("<script"), "no page carries script");
    assert!(!page.contains("<b>bold"));
    assert!(page.contains("Heleket AML questionnaire"));
    assert!(page.contains(r#"data-total="9""#));

    let deliveries = client
        .get(format!("{}/deliveries", server.base))
        .send()
        .await
        .unwrap();
    let deliveries = deliveries.text().await.unwrap();
    assert!(deliveries.contains("elkyc:&lt;img src=x&gt;"));
    assert!(deliveries.contains("replay needs the durable mode"));
    assert!(!deliveries.contains("<img"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_without_the_pages_csrf_token_is_refused() {
    let dir = seed::TempDir::new();
    let seeded = seed::seed(&dir.0, 0).await;
    let server = Server::start(&seeded.path, "127.0.0.1:0", None);
    let client = http();
    let replay = format!("{}/deliveries/replay", server.base);
    let form: [(&str, &str); 2] = [
        ("provider", "tuum"),
        ("key", "tuum:AML_SUBPROCESS_CREATED:n-1"),
    ];
    let refused = client.post(&replay).form_pairs(&form).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(refused.text().await.unwrap().contains("CSRF"));
    let zeros = "0".repeat(64);
    let forged = [("csrf", zeros.as_str()), form[0], form[1]];
    let refused = client
        .post(&replay)
        .form_pairs(&forged)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    // The confirmation page's token lets the form through: replay then says what it needs.
    let confirm = client
        .get(format!(
            "{replay}?provider=tuum&key=tuum%3AAML_SUBPROCESS_CREATED%3An-1"
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&confirm);
    let with = [("csrf", csrf.as_str()), form[0], form[1]];
    let answered = client.post(&replay).form_pairs(&with).send().await.unwrap();
    assert_eq!(answered.status(), StatusCode::CONFLICT);
    assert!(
        answered
            .text()
            .await
            .unwrap()
            .contains("replay needs the durable intake mode")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn off_loopback_a_token_is_required_and_never_shown() {
    let dir = seed::TempDir::new();
    let seeded = seed::seed(&dir.0, 0).await;

    // Without a token the console refuses to serve beyond the loopback.
    let refused = Command::new(env!("CARGO_BIN_EXE_compliance"))
        .args(["console", "--bind", "0.0.0.0:0", "--store"])
        .arg(format!("sqlite:{}", seeded.path.display()))
        .env_remove("COMPLIANCE_CONSOLE_TOKEN")
        .env_remove("COMPLIANCE_CONSOLE_TOKEN_FILE")
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("requires a token") && stderr.contains("COMPLIANCE_CONSOLE_TOKEN"),
        "{stderr}"
    );

    // Nor with a token short enough to guess.
    let short = Command::new(env!("CARGO_BIN_EXE_compliance"))
        .args(["console", "--bind", "0.0.0.0:0", "--store"])
        .arg(format!("sqlite:{}", seeded.path.display()))
        .env("COMPLIANCE_CONSOLE_TOKEN", "hunter2")
        .env_remove("COMPLIANCE_CONSOLE_TOKEN_FILE")
        .output()
        .unwrap();
    assert_eq!(short.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&short.stderr);
    assert!(
        stderr.contains("shorter than 16") && !stderr.contains("hunter2"),
        "{stderr}"
    );

    let server = Server::start(&seeded.path, "0.0.0.0:0", Some(TOKEN));
    let client = http();
    let home = format!("{}/", server.base);
    let anonymous = client.get(&home).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::SEE_OTHER);
    assert_eq!(anonymous.headers()[LOCATION], "/login");
    let post = client
        .post(format!("{}/logout", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), StatusCode::UNAUTHORIZED);

    let bearer = client.get(&home).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(bearer.status(), StatusCode::OK);
    let wrong = client.get(&home).bearer_auth("nope").send().await.unwrap();
    assert_eq!(wrong.status(), StatusCode::SEE_OTHER);

    let login = format!("{}/login", server.base);
    let failed = client
        .post(&login)
        .form_pairs(&[("token", "wrong")])
        .send()
        .await
        .unwrap();
    assert_eq!(failed.status(), StatusCode::UNAUTHORIZED);
    assert!(!failed.text().await.unwrap().contains(TOKEN));
    let ok = client
        .post(&login)
        .form_pairs(&[("token", TOKEN)])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    let cookie = ok.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(
        !cookie.contains(TOKEN),
        "the cookie is a session id, not the token"
    );
    let session = cookie.split(';').next().unwrap().to_owned();
    for path in ["/", "/deliveries", "/deliveries/replay?provider=tuum"] {
        let page = client
            .get(format!("{}{path}", server.base))
            .header("cookie", &session)
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::OK, "{path}");
        assert!(
            !page.text().await.unwrap().contains(TOKEN),
            "{path} shows the token"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_token_only_loopback_host_names_are_answered() {
    let dir = seed::TempDir::new();
    let seeded = seed::seed(&dir.0, 0).await;
    let server = Server::start(&seeded.path, "127.0.0.1:0", None);
    // A page elsewhere that rebinds its own name to 127.0.0.1 sends its own Host.
    let rebound = http()
        .get(format!("{}/", server.base))
        .header("host", "attacker.example")
        .send()
        .await
        .unwrap();
    assert_eq!(rebound.status(), StatusCode::MISDIRECTED_REQUEST);
}

/// The same pages from a PostgreSQL store (a throwaway server; skipped in one line without
/// PostgreSQL outside CI, like compliance-store's own tests).
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_store_shows_the_same_pages() {
    use compliance_core::aml::AmlStatus;
    use compliance_core::{ApplicantKey, ApplicantRecord, ApplicantStore, Claim, Expected, Inbox};
    use compliance_store::PostgresStore;
    use compliance_store::test_util::TempPostgres;

    let Some(postgres) = TempPostgres::shared() else {
        return;
    };
    let url = postgres.create_database().await.unwrap();
    let store = PostgresStore::connect(&url).await.unwrap();
    for (id, status) in [
        ("<script>alert(1)</script>", AmlStatus::UnderReview),
        ("a-1", AmlStatus::Clear),
        ("a-2", AmlStatus::Rejected),
    ] {
        let record = ApplicantRecord::new(
            ApplicantKey::new("elkyc", id),
            "RAW",
            status,
            compliance_core::Timestamp::now(),
        );
        store.put(record, Expected::Absent).await.unwrap();
    }
    let inbox = store.inbox("tuum");
    let Claim::Acquired(token) = inbox.claim("tuum:n-1").await.unwrap() else {
        panic!("not new");
    };
    inbox.complete("tuum:n-1", &token).await.unwrap();

    let server = Server::serve(&url, "127.0.0.1:0", None);
    let client = http();
    let page = client
        .get(format!("{}/?status=rejected", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    assert!(page.contains(r#"data-total="1""#), "{page}");
    assert!(
        page.contains(r#"<span class="n" data-count="all">3</span>"#),
        "{page}"
    );
    let page = client
        .get(format!("{}/?q=script", server.base))
        .send()
        .await
        .unwrap();
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("&lt;script&gt;alert(1)&lt;/script&gt;")
    );
    let deliveries = client
        .get(format!("{}/deliveries", server.base))
        .send()
        .await
        .unwrap();
    let deliveries = deliveries.text().await.unwrap();
    assert!(deliveries.contains(r#"data-count="tuum:done""#) && deliveries.contains("tuum:n-1"));
}
