//! The console in a real browser: headless Chromium driven through WebDriver (chromedriver,
//! started by the test). Debian: `apt-get install chromium chromium-driver`; without them
//! the test prints one line saying it was skipped, and under `CI=true` it fails.
//!
//! Each page is photographed; with `COMPLIANCE_SCREENSHOTS=DIR` (what `cargo xtask
//! screenshots` sets) the PNGs are written there, for the README.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::{Server, TOKEN, seed};

fn is_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

fn find(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

/// chromedriver on a free port, killed on drop.
struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The browser and its driver, or `None` (after one line on stderr) when not installed
/// outside CI.
async fn browser() -> Option<(Driver, Client)> {
    let chromium = find(&["chromium", "chromium-browser", "google-chrome"]);
    let chromedriver = find(&["chromedriver"]);
    let (Some(chromium), Some(chromedriver)) = (chromium, chromedriver) else {
        let message = "Chromium and chromedriver are not installed (Debian: apt-get install chromium chromium-driver)";
        assert!(
            !is_ci(),
            "{message}: under CI=true the browser tests must run"
        );
        eprintln!(
            "\n*** SKIPPING the console's browser test: {message}. Under CI=true this fails. ***\n"
        );
        return None;
    };
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(&chromedriver)
        .arg(format!("--port={port}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let driver = Driver { child, port };
    let capabilities = json!({
        "goog:chromeOptions": {
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,900", "--hide-scrollbars", "--force-device-scale-factor=1"],
        }
    });
    let Value::Object(capabilities) = capabilities else {
        unreachable!()
    };
    let started = Instant::now();
    loop {
        let connected =
            ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(capabilities.clone())
                .connect(&format!("http://127.0.0.1:{}", driver.port))
                .await;
        match connected {
            Ok(client) => return Some((driver, client)),
            Err(e) if started.elapsed() > Duration::from_secs(30) => {
                panic!("chromedriver did not start a browser: {e}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Where screenshots go: `$COMPLIANCE_SCREENSHOTS`, or the test's own directory.
fn shoot_dir(fallback: &Path) -> PathBuf {
    std::env::var_os("COMPLIANCE_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| fallback.to_path_buf())
}

async fn screenshot(client: &Client, dir: &Path, name: &str) {
    let png = client.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "{name} is not a PNG");
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join(name), png).unwrap();
}

async fn text(client: &Client, css: &str) -> String {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .unwrap()
}

async fn count(client: &Client, css: &str) -> usize {
    client.find_all(Locator::Css(css)).await.unwrap().len()
}

async fn path_and_query(client: &Client) -> String {
    let url = client.current_url().await.unwrap();
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    }
}

/// Clicks `css` and waits until the browser is on a page whose path and query satisfy
/// `arrived` (a click does not wait for the navigation it starts), and its `main` is there.
async fn click_to(client: &Client, css: &str, arrived: impl Fn(&str) -> bool) {
    let before = client.find(Locator::Css("html")).await.unwrap();
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap();
    let started = Instant::now();
    loop {
        // The old document is gone once its root element is stale.
        let replaced = before.tag_name().await.is_err();
        let here = path_and_query(client).await;
        if replaced && arrived(&here) && client.find(Locator::Css("main")).await.is_ok() {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "clicking {css} led to {here}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_in_a_real_browser() {
    let Some((_driver, client)) = browser().await else {
        return;
    };
    let dir = seed::TempDir::new();
    // 60 more subjects than the named ones: two pages.
    let seeded = seed::seed(&dir.0, 60).await;
    let shots = shoot_dir(&dir.0);
    let result = tokio::spawn(drive(client.clone(), seeded, shots)).await;
    let _ = client.close().await;
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}

async fn drive(client: Client, seeded: seed::Seeded, shots: PathBuf) {
    let server = Server::start(&seeded.path, "127.0.0.1:0", None);

    // AML states: the counts, the first page, the escaped subject, the links.
    client.goto(&format!("{}/", server.base)).await.unwrap();
    assert_eq!(
        text(&client, "[data-count=all]").await,
        seeded.subjects.to_string()
    );
    assert_eq!(
        text(&client, "[data-count=action_required]").await,
        seeded.action_required.to_string()
    );
    assert_eq!(count(&client, "#subjects tbody tr").await, 50);
    let subjects: Vec<String> = {
        let mut all = Vec::new();
        for e in client
            .find_all(Locator::Css("#subjects .subject"))
            .await
            .unwrap()
        {
            all.push(e.text().await.unwrap());
        }
        all
    };
    assert!(
        subjects.iter().any(|s| s == "<script>alert(1)</script>"),
        "{subjects:?}"
    );
    assert!(client.get_alert_text().await.is_err(), "a script ran");
    assert!(count(&client, "a[href^='https://aml.heleket.com/']").await >= 1);
    screenshot(&client, &shots, "console-aml-states.png").await;

    // Paging: the second page holds the rest.
    click_to(&client, "a[rel=next]", |here| here == "/?page=2").await;
    assert_eq!(
        count(&client, "#subjects tbody tr").await,
        seeded.subjects as usize - 50
    );

    // Filters: elKYC subjects under review, through the form.
    client.goto(&format!("{}/", server.base)).await.unwrap();
    client
        .find(Locator::Css("select[name=provider]"))
        .await
        .unwrap()
        .select_by_value("elkyc")
        .await
        .unwrap();
    client
        .find(Locator::Css("select[name=status]"))
        .await
        .unwrap()
        .select_by_value("under_review")
        .await
        .unwrap();
    click_to(&client, "form.filters button[type=submit]", |here| {
        here.contains("provider=elkyc&status=under_review")
    })
    .await;
    assert_eq!(count(&client, "#subjects tbody tr").await, 1);
    assert_eq!(
        text(&client, "#subjects .subject").await,
        "<script>alert(1)</script>"
    );
    assert_eq!(
        text(&client, "[data-count=all]").await,
        seeded.elkyc.to_string()
    );

    // A status tile filters too; sorting by subject keeps the filter.
    client.goto(&format!("{}/", server.base)).await.unwrap();
    click_to(
        &client,
        "a.tile:has([data-count=action_required])",
        |here| here == "/?status=action_required",
    )
    .await;
    assert_eq!(
        count(&client, "#subjects tbody tr").await,
        seeded.action_required as usize
    );
    assert_eq!(
        count(&client, "#subjects tbody tr[data-status=action_required]").await,
        seeded.action_required as usize
    );
    screenshot(&client, &shots, "console-action-required.png").await;

    // Deliveries, without the durable intake: the inbox's keys and what replay needs.
    client
        .goto(&format!("{}/deliveries", server.base))
        .await
        .unwrap();
    assert!(
        text(&client, "#inbox-mode")
            .await
            .contains("replay needs the durable mode")
    );
    assert_eq!(text(&client, "[data-count='tuum:done']").await, "3");
    assert_eq!(text(&client, "[data-count='tuum:claimed']").await, "1");
    assert_eq!(
        text(&client, "#deliveries").await.matches("done").count() as u64,
        seeded.done
    );
    assert_eq!(
        count(&client, "#deliveries tbody tr").await as u64,
        seeded.done + seeded.claimed
    );
    screenshot(&client, &shots, "console-deliveries.png").await;

    // A phone.
    client.set_window_size(390, 844).await.unwrap();
    client
        .goto(&format!("{}/?status=action_required", server.base))
        .await
        .unwrap();
    assert_eq!(
        count(&client, "#subjects tbody tr").await,
        seeded.action_required as usize
    );
    screenshot(&client, &shots, "console-phone.png").await;
    client.set_window_size(1280, 900).await.unwrap();
    drop(server);

    // Off the loopback: the login form first, then the page, then out again.
    let server = Server::start(&seeded.path, "0.0.0.0:0", Some(TOKEN));
    client
        .goto(&format!("{}/deliveries", server.base))
        .await
        .unwrap();
    assert_eq!(path_and_query(&client).await, "/login");
    client
        .find(Locator::Css("input[name=token]"))
        .await
        .unwrap()
        .send_keys("not the token")
        .await
        .unwrap();
    click_to(&client, "form.login button", |here| here == "/login").await;
    assert!(
        text(&client, "#message")
            .await
            .contains("not the console token")
    );
    screenshot(&client, &shots, "console-login.png").await;
    client
        .find(Locator::Css("input[name=token]"))
        .await
        .unwrap()
        .send_keys(TOKEN)
        .await
        .unwrap();
    click_to(&client, "form.login button", |here| here == "/").await;
    assert_eq!(
        text(&client, "[data-count=all]").await,
        seeded.subjects.to_string()
    );
    assert!(!client.source().await.unwrap().contains(TOKEN));
    click_to(&client, "header form button", |here| here == "/login").await;
    client.goto(&format!("{}/", server.base)).await.unwrap();
    assert_eq!(
        path_and_query(&client).await,
        "/login",
        "logged out for good"
    );
}
