//! The console's HTML, rendered on the server with maud: every value is escaped by the
//! template engine (a subject id `<script>` is text), links are followed only when they are
//! `https://` or `http://`, and no page carries script.

use compliance_core::Timestamp;
use compliance_core::aml::{AmlStatus, RequiredAction};
use compliance_store::ApplicantRecord;
use compliance_store::listing::{ApplicantCount, ApplicantPage, StatusKind};
use maud::{DOCTYPE, Markup, html};

use super::access::Viewer;
use super::deliveries::{DeliveriesView, DeliveryDetail};

/// Which section a page belongs to (the header's highlighted link).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// AML states.
    States,
    /// Deliveries.
    Deliveries,
}

/// What every page's frame needs.
pub struct Frame<'a> {
    /// The store, as it may be shown (no password).
    pub store: &'a str,
    /// Who is looking (`None` on the login page).
    pub viewer: Option<&'a Viewer>,
}

/// The frame around every page: header, navigation, the store's name, logout.
pub fn layout(frame: &Frame<'_>, title: &str, here: Option<Section>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) " · compliance console" }
                link rel="stylesheet" href="/assets/console.css";
            }
            body {
                header {
                    span.brand { "compliance console" }
                    @if frame.viewer.is_some() {
                        nav {
                            a href="/" class=[(here == Some(Section::States)).then_some("here")] { "AML states" }
                            a href="/deliveries" class=[(here == Some(Section::Deliveries)).then_some("here")] { "Deliveries" }
                        }
                    }
                    span.store { "store: " (frame.store) }
                    @if let Some(viewer) = frame.viewer.filter(|v| v.session) {
                        form method="post" action="/logout" {
                            input type="hidden" name="csrf" value=(viewer.csrf);
                            button type="submit" { "Log out" }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

/// A timestamp as the console shows it.
pub fn when(t: &Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// The stored tag of a status (`action_required`).
pub fn status_tag(status: &AmlStatus) -> &'static str {
    match status {
        AmlStatus::Clear => "clear",
        AmlStatus::Pending => "pending",
        AmlStatus::ActionRequired { .. } => "action_required",
        AmlStatus::UnderReview => "under_review",
        AmlStatus::Rejected => "rejected",
        _ => "unknown",
    }
}

/// A status kind as people read it.
pub fn status_label(kind: StatusKind) -> &'static str {
    match kind {
        StatusKind::Clear => "clear",
        StatusKind::Pending => "pending",
        StatusKind::ActionRequired => "action required",
        StatusKind::UnderReview => "under review",
        StatusKind::Rejected => "rejected",
        _ => "unknown",
    }
}

/// `%XX`-encodes a query-string value.
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A query string from the pairs whose value is set.
pub fn query_string(pairs: &[(&str, Option<&str>)]) -> String {
    let parts: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| {
            v.filter(|v| !v.is_empty())
                .map(|v| format!("{k}={}", encode(v)))
        })
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

/// Only web links are followed; anything else (`javascript:`...) is shown as text.
fn followable(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://")
}

fn link_host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    authority.rsplit_once('@').map_or(authority, |(_, h)| h)
}

/// What the person must do, per provider's words.
fn action_name(provider: &str) -> &'static str {
    match provider {
        "heleket" => "Heleket AML questionnaire",
        "elkyc" => "elKYC verification",
        "btcdirect" => "BTC Direct AMLD5 answers",
        _ => "the provider's page",
    }
}

fn action(provider: &str, action: &RequiredAction) -> Markup {
    match action {
        RequiredAction::OpenLink {
            url,
            expires_at,
            status,
        } => html! {
            (action_name(provider)) ": "
            @if followable(url) {
                a href=(url) rel="noopener noreferrer" target="_blank" { "open on " (link_host(url)) }
            } @else {
                span.id { (url) }
            }
            @if let Some(status) = status { span.sub { "link status: " (status) } }
            @if let Some(expires) = expires_at { span.sub { "expires " (when(expires)) } }
        },
        RequiredAction::AnswerQuestions { questions } => html! {
            (action_name(provider)) ": answer " (questions.len())
            @if questions.len() == 1 { " question" } @else { " questions" }
            @for q in questions { span.sub { (q.label) } }
        },
        _ => html! { "see the provider" },
    }
}

/// The AML states page's filters as given (to rebuild links and the form).
#[derive(Debug, Clone, Default)]
pub struct StatesFilters {
    /// `provider`.
    pub provider: Option<String>,
    /// `status` (a stored tag).
    pub status: Option<String>,
    /// `q`.
    pub search: Option<String>,
    /// `sort`: `updated`, `provider`, `subject`, `status`.
    pub sort: String,
    /// `dir`: `asc` or `desc`.
    pub dir: String,
    /// The page number, from 1.
    pub page: u64,
}

impl StatesFilters {
    fn link(&self, change: impl FnOnce(&mut StatesFilters)) -> String {
        let mut f = self.clone();
        change(&mut f);
        let page = (f.page > 1).then(|| f.page.to_string());
        let sort = (f.sort != "updated").then_some(f.sort.as_str());
        let dir = (f.dir != "desc").then_some(f.dir.as_str());
        format!(
            "/{}",
            query_string(&[
                ("provider", f.provider.as_deref()),
                ("status", f.status.as_deref()),
                ("q", f.search.as_deref()),
                ("sort", sort),
                ("dir", dir),
                ("page", page.as_deref()),
            ])
        )
    }
}

fn pager(
    total: u64,
    offset: u64,
    shown: usize,
    prev: Option<String>,
    next: Option<String>,
) -> Markup {
    html! {
        div.pager {
            @if total == 0 { span { "nothing matches" } }
            @else { span { "showing " (offset + 1) "–" (offset + shown as u64) " of " (total) } }
            @if let Some(prev) = prev { a href=(prev) rel="prev" { "← previous" } }
            @if let Some(next) = next { a href=(next) rel="next" { "next →" } }
        }
    }
}

/// The AML states page.
pub fn states(
    frame: &Frame<'_>,
    filters: &StatesFilters,
    counts: &[ApplicantCount],
    page: &ApplicantPage,
    offset: u64,
    size: u32,
) -> Markup {
    let mut providers: Vec<&str> = counts.iter().map(|c| c.provider.as_str()).collect();
    providers.dedup();
    let scoped = |c: &&ApplicantCount| filters.provider.as_deref().is_none_or(|p| c.provider == p);
    let total_in_scope: u64 = counts.iter().filter(scoped).map(|c| c.count).sum();
    let sort_link = |key: &str| {
        filters.link(|f| {
            f.dir = if f.sort == key && f.dir == "asc" {
                "desc".into()
            } else {
                "asc".into()
            };
            f.sort = key.to_owned();
            f.page = 1;
        })
    };
    let prev = (filters.page > 1).then(|| filters.link(|f| f.page -= 1));
    let next =
        (offset + (page.records.len() as u64) < page.total).then(|| filters.link(|f| f.page += 1));
    let body = html! {
        h1 { "AML states" }
        div.tiles {
            a.tile.on[filters.status.is_none()] href=(filters.link(|f| { f.status = None; f.page = 1; })) {
                span.n data-count="all" { (total_in_scope) } span.l { "all subjects" }
            }
            @for kind in StatusKind::ALL {
                @let n: u64 = counts.iter().filter(scoped).filter(|c| c.status == kind.as_str()).map(|c| c.count).sum();
                a.tile.on[filters.status.as_deref() == Some(kind.as_str())]
                    href=(filters.link(|f| { f.status = Some(kind.as_str().into()); f.page = 1; })) {
                    span.n data-count=(kind.as_str()) { (n) } span.l { (status_label(kind)) }
                }
            }
        }
        form.filters method="get" action="/" {
            label { "provider"
                select name="provider" {
                    option value="" { "all providers" }
                    @for p in &providers {
                        option value=(p) selected[filters.provider.as_deref() == Some(*p)] { (p) }
                    }
                }
            }
            label { "AML status"
                select name="status" {
                    option value="" { "any status" }
                    @for kind in StatusKind::ALL {
                        option value=(kind.as_str()) selected[filters.status.as_deref() == Some(kind.as_str())] { (status_label(kind)) }
                    }
                }
            }
            label { "subject or external id contains"
                input type="search" name="q" value=[filters.search.as_deref()];
            }
            label { "sort by"
                select name="sort" {
                    @for (key, label) in [("updated", "last update"), ("provider", "provider"), ("subject", "subject"), ("status", "status")] {
                        option value=(key) selected[filters.sort == key] { (label) }
                    }
                }
            }
            label { "order"
                select name="dir" {
                    option value="desc" selected[filters.dir == "desc"] { "descending" }
                    option value="asc" selected[filters.dir == "asc"] { "ascending" }
                }
            }
            button.primary type="submit" { "Apply" }
        }
        (pager(page.total, offset, page.records.len(), prev.clone(), next.clone()))
        div.table {
            @if page.records.is_empty() {
                p.empty { "No subject matches these filters." }
            } @else {
                table #subjects data-total=(page.total) data-page-size=(size) {
                    thead { tr {
                        th { a href=(sort_link("subject")) { "Subject" } }
                        th { a href=(sort_link("provider")) { "Provider" } }
                        th { a href=(sort_link("status")) { "AML status" } }
                        th { "Required action" }
                        th { "Provider status" }
                        th { a href=(sort_link("updated")) { "Last update" } }
                    } }
                    tbody {
                        @for r in &page.records { (subject_row(r)) }
                    }
                }
            }
        }
        (pager(page.total, offset, page.records.len(), prev, next))
    };
    layout(frame, "AML states", Some(Section::States), body)
}

fn subject_row(r: &ApplicantRecord) -> Markup {
    let tag = status_tag(&r.aml_status);
    html! {
        tr data-status=(tag) {
            td data-label="subject" {
                span.id.subject { (r.key.provider_id) }
                @if let Some(external) = &r.external_user_id { span.sub { "external id " span.id { (external) } } }
            }
            td data-label="provider" { (r.key.provider) }
            td data-label="AML status" { span class=(format!("badge s-{tag}")) { (r.aml_status.label()) } }
            td data-label="required action" {
                @match &r.aml_status {
                    AmlStatus::ActionRequired { actions } if !actions.is_empty() => {
                        ul.actions { @for a in actions { li { (action(&r.key.provider, a)) } } }
                    }
                    AmlStatus::ActionRequired { .. } => { "ask the provider" }
                    AmlStatus::Unknown { raw } => { span.sub { "unmapped provider status " span.id { (raw) } } }
                    _ => { "—" }
                }
            }
            td data-label="provider status" { span.id { (r.provider_status) } }
            td data-label="last update" {
                span.when { (when(&r.updated_at)) }
                @if let Some(at) = &r.provider_updated_at { span.sub { "provider: " (when(at)) } }
            }
        }
    }
}

/// The Deliveries page's filters as given.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilters {
    /// `provider`.
    pub provider: Option<String>,
    /// `state`.
    pub state: Option<String>,
    /// The page number, from 1.
    pub page: u64,
}

impl DeliveryFilters {
    fn link(&self, change: impl FnOnce(&mut DeliveryFilters)) -> String {
        let mut f = self.clone();
        change(&mut f);
        let page = (f.page > 1).then(|| f.page.to_string());
        format!(
            "/deliveries{}",
            query_string(&[
                ("provider", f.provider.as_deref()),
                ("state", f.state.as_deref()),
                ("page", page.as_deref()),
            ])
        )
    }
}

/// The Deliveries page.
pub fn deliveries(
    frame: &Frame<'_>,
    filters: &DeliveryFilters,
    view: &DeliveriesView,
    offset: u64,
) -> Markup {
    let mut providers: Vec<&str> = view.counts.iter().map(|c| c.provider.as_str()).collect();
    providers.dedup();
    let count = |p: &str, s: &str| -> u64 {
        view.counts
            .iter()
            .filter(|c| c.provider == p && c.state == s)
            .map(|c| c.count)
            .sum()
    };
    let prev = (filters.page > 1).then(|| filters.link(|f| f.page -= 1));
    let next =
        (offset + (view.rows.len() as u64) < view.total).then(|| filters.link(|f| f.page += 1));
    let show_attempts = view.rows.iter().any(|r| r.attempts.is_some());
    let body = html! {
        h1 { "Deliveries" }
        @if !view.durable {
            p.notice #inbox-mode {
                "This store has no durable intake: the receivers process each webhook inline and "
                "keep only its key, done once processed or claimed while a handler runs. "
                "Bodies, attempts and errors are not kept, and "
                strong { "replay needs the durable mode" } "."
            }
        }
        @if let Some(oldest) = &view.oldest_queued { p { "oldest queued delivery: " (when(oldest)) } }
        h2 { "By provider" }
        div.table {
            @if providers.is_empty() { p.empty { "No delivery has been received yet." } }
            @else {
                table #counts {
                    thead { tr { th { "Provider" } @for s in &view.states { th { (s) } } @if view.durable { th { "" } } } }
                    tbody {
                        @for p in &providers {
                            tr {
                                td data-label="provider" { a href=(DeliveryFilters { provider: Some((*p).into()), ..DeliveryFilters::default() }.link(|_| {})) { (p) } }
                                @for s in &view.states {
                                    td data-label=(s) data-count=(format!("{p}:{s}")) {
                                        a href=(DeliveryFilters { provider: Some((*p).into()), state: Some((*s).into()), page: 1 }.link(|_| {})) { (count(p, s)) }
                                    }
                                }
                                @if view.durable && count(p, "dead") > 0 {
                                    td { a href=(format!("/deliveries/replay{}", query_string(&[("provider", Some(p))]))) { "replay all dead…" } }
                                } @else if view.durable { td {} }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Keys" }
        form.filters method="get" action="/deliveries" {
            label { "provider"
                select name="provider" {
                    option value="" { "all providers" }
                    @for p in &providers { option value=(p) selected[filters.provider.as_deref() == Some(*p)] { (p) } }
                }
            }
            label { "state"
                select name="state" {
                    option value="" { "any state" }
                    @for s in &view.states { option value=(s) selected[filters.state.as_deref() == Some(*s)] { (s) } }
                }
            }
            button.primary type="submit" { "Apply" }
        }
        (pager(view.total, offset, view.rows.len(), prev.clone(), next.clone()))
        div.table {
            @if view.rows.is_empty() { p.empty { "No delivery matches these filters." } }
            @else {
                table #deliveries data-total=(view.total) {
                    thead { tr {
                        th { "Provider" } th { "Key" } th { "State" } th { "When" }
                        @if show_attempts { th { "Attempts" } th { "Last error" } }
                        @if view.durable { th { "" } }
                    } }
                    tbody {
                        @for row in &view.rows {
                            tr data-state=(row.state) {
                                td data-label="provider" { (row.provider) }
                                td data-label="key" { span.id { (row.key) } }
                                td data-label="state" { span class=(format!("badge s-{}", row.state)) { (row.state) } }
                                td data-label="when" { span.sub { (row.at_label) } (when(&row.at)) }
                                @if show_attempts {
                                    td data-label="attempts" { @if let Some(n) = row.attempts { (n) } }
                                    td data-label="last error" { @if let Some(e) = &row.last_error { span.id { (e) } } }
                                }
                                @if view.durable {
                                    td { a href=(format!("/deliveries/detail{}", query_string(&[("provider", Some(&row.provider)), ("key", Some(&row.key))]))) { "details" } }
                                }
                            }
                        }
                    }
                }
            }
        }
        (pager(view.total, offset, view.rows.len(), prev, next))
    };
    layout(frame, "Deliveries", Some(Section::Deliveries), body)
}

/// One delivery's page (the durable intake), or why there is none.
pub fn detail(
    frame: &Frame<'_>,
    provider: &str,
    key: &str,
    detail: Option<&DeliveryDetail>,
    durable: bool,
) -> Markup {
    let body = html! {
        h1 { "Delivery " span.id { (key) } }
        @match detail {
            None if !durable => {
                p.notice { "Without the durable intake only the key is kept: no metadata, no body. "
                    strong { "Replay needs the durable mode." } }
            }
            None => { p.notice { "No such delivery." } }
            Some(d) => {
                dl.fields { @for (label, value) in &d.fields { dt { (label) } dd { (value) } } }
                @if let Some(body) = &d.body { h2 { "Body" } pre.id { (body) } }
                @else {
                    p { a href=(format!("/deliveries/detail{}", query_string(&[("provider", Some(provider)), ("key", Some(key)), ("body", Some("1"))]))) { "show body" } }
                }
                form method="get" action="/deliveries/replay" {
                    input type="hidden" name="provider" value=(provider);
                    input type="hidden" name="key" value=(key);
                    button.danger type="submit" { "Replay…" }
                }
            }
        }
        p { a href="/deliveries" { "← deliveries" } }
    };
    layout(frame, "Delivery", Some(Section::Deliveries), body)
}

/// The confirmation before a replay: a POST form with the CSRF token.
pub fn confirm_replay(frame: &Frame<'_>, provider: &str, key: Option<&str>) -> Markup {
    let csrf = frame.viewer.map(|v| v.csrf.as_str()).unwrap_or_default();
    let body = html! {
        h1 { "Replay?" }
        p {
            @if let Some(key) = key { "Replay the delivery " span.id { (key) } " of " (provider) "? Its handler runs once more, even if it was done." }
            @else { "Replay every dead delivery of " (provider) "?" }
        }
        form method="post" action="/deliveries/replay" {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="provider" value=(provider);
            @if let Some(key) = key { input type="hidden" name="key" value=(key); }
            button.danger type="submit" { "Replay" }
            " "
            a href="/deliveries" { "Cancel" }
        }
    };
    layout(frame, "Replay", Some(Section::Deliveries), body)
}

/// A message page: a replay's result, a refusal, an error.
pub fn message(frame: &Frame<'_>, title: &str, text: &str, error: bool) -> Markup {
    let body = html! {
        h1 { (title) }
        p.notice.error[error] #message { (text) }
        p { a href="/" { "AML states" } " · " a href="/deliveries" { "Deliveries" } }
    };
    layout(frame, title, None, body)
}

/// The login form.
pub fn login(frame: &Frame<'_>, error: Option<&str>) -> Markup {
    let body = html! {
        form.login method="post" action="/login" {
            h1 { "Log in" }
            p.sub { "This console is served beyond this machine: give the console token "
                "(the one in --token-file or $COMPLIANCE_CONSOLE_TOKEN)." }
            @if let Some(error) = error { p.notice.error #message { (error) } }
            label { "token" input type="password" name="token" autocomplete="current-password" required; }
            button.primary type="submit" { "Log in" }
        }
    };
    layout(frame, "Log in", None, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(
            query_string(&[("q", Some("a&b=<c> d")), ("x", None), ("y", Some(""))]),
            "?q=a%26b%3D%3Cc%3E%20d"
        );
        assert_eq!(query_string(&[]), "");
    }

    #[test]
    fn only_web_links_are_followed() {
        assert!(followable("https://aml.heleket.com/q/1"));
        assert!(!followable("javascript:alert(1)"));
        assert!(!followable(" JAVASCRIPT:alert(1)"));
        assert_eq!(link_host("https://u:p@aml.example:8/q?x"), "aml.example:8");
    }
}
