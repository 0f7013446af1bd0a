//! The HTML of the generated site: the server information page and the connection link page.
//! Our own small, self-contained pages (inline CSS, no external media); they show the same
//! facts as the reference's `index.html` rendered by `SMPWeb.serverInformation` with
//! `Web.serverInfoSubsts`, and the link page does what the reference's `link.html` does for the
//! app (open `simplex:/<path>#<fragment>`). Every configured value is HTML-escaped.

use std::fmt::Write as _;

use super::{Persistence, SiteInfo};
use crate::config::{ContactAddress, Entity};

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;\
padding:0 1rem;line-height:1.5;color:#1b1b1f;background:#fff}\
h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:1.8rem;border-bottom:1px solid #ddd}\
table{border-collapse:collapse;width:100%}td{padding:.25rem .5rem;vertical-align:top}\
td:first-child{width:14rem;color:#555}code{word-break:break-all}\
a.button{display:inline-block;padding:.6rem 1.2rem;background:#0053d0;color:#fff;\
border-radius:.4rem;text-decoration:none}\
@media (prefers-color-scheme:dark){body{color:#eee;background:#111}a{color:#7db3ff}\
td:first-child{color:#aaa}}";

/// Escapes text for HTML element content and double-quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A link when `url` is an http(s) URL (other schemes, e.g. `javascript:`, are shown as text).
fn link(url: &str) -> String {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("https://") || lower.starts_with("http://") {
        format!("<a href=\"{0}\">{0}</a>", escape(url))
    } else {
        escape(url)
    }
}

/// `Web.timedTTLText`: months (30 days), days (7 = "1 week", 14 = "2 weeks"), hours, minutes
/// and seconds, largest first, zero parts left out.
pub fn ttl_text(seconds: i64) -> String {
    if seconds == 0 {
        return "0 sec".into();
    }
    let (minutes, sec) = (seconds / 60, seconds % 60);
    let (hours, min) = (minutes / 60, minutes % 60);
    let (days, hour) = (hours / 24, hours % 24);
    let (months, day) = (days / 30, days % 30);
    let mut parts = Vec::new();
    if months != 0 {
        parts.push(match months {
            1 => "1 month".to_string(),
            n => format!("{n} months"),
        });
    }
    if day != 0 {
        parts.push(match day {
            1 => "1 day".to_string(),
            7 => "1 week".to_string(),
            14 => "2 weeks".to_string(),
            n => format!("{n} days"),
        });
    }
    if hour != 0 {
        parts.push(match hour {
            1 => "1 hour".to_string(),
            n => format!("{n} hours"),
        });
    }
    if min != 0 {
        parts.push(format!("{min} min"));
    }
    if sec != 0 {
        parts.push(format!("{sec} sec"));
    }
    parts.join(" ")
}

fn yes_no(value: bool) -> &'static str {
    if value {
        "Yes"
    } else {
        "No"
    }
}

/// Rows of one table; each value is already HTML.
struct Table(String);

impl Table {
    fn new() -> Table {
        Table(String::new())
    }

    fn row(&mut self, label: &str, html: &str) {
        let _ = write!(self.0, "<tr><td>{}</td><td>{html}</td></tr>", escape(label));
    }

    fn text(&mut self, label: &str, text: &str) {
        self.row(label, &escape(text));
    }

    fn section(self, out: &mut String, title: &str) {
        if !self.0.is_empty() {
            let _ = write!(out, "<h2>{}</h2><table>{}</table>", escape(title), self.0);
        }
    }
}

fn entity(table: &mut Table, label: &str, entity: &Entity) {
    table.text(label, &entity.name);
    if let Some(country) = &entity.country {
        table.text(&format!("{label} country"), country);
    }
}

fn contacts(out: &mut String, title: &str, contact: &ContactAddress) {
    let mut table = Table::new();
    if let Some(simplex) = &contact.simplex {
        table.row("SimpleX address", &link(simplex));
    }
    if let Some(email) = &contact.email {
        table.row(
            "Email",
            &format!("<a href=\"mailto:{0}\">{0}</a>", escape(email)),
        );
    }
    if let Some((uri, fingerprint)) = &contact.pgp {
        table.row("PGP key", &link(uri));
        table.text("PGP key fingerprint", fingerprint);
    }
    table.section(out, title);
}

fn page(title: &str, body: &str, script: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<title>{}</title><style>{STYLE}</style></head><body>{body}{script}</body></html>\n",
        escape(title)
    )
}

/// The server information page (`index.html`).
pub fn index_html(info: &SiteInfo) -> String {
    let mut body = String::new();
    let _ = write!(
        body,
        "<h1>SimpleX messaging server</h1><p>This is a SimpleX Messaging Protocol (SMP) relay. \
Use its address in the SimpleX Chat app (Network &amp; servers) to receive messages \
through it.</p>"
    );
    let mut server = Table::new();
    server.row(
        "Server address",
        &format!("<code>{}</code>", escape(&info.address)),
    );
    server.row(
        "Fingerprint",
        &format!("<code>{}</code>", escape(&info.fingerprint)),
    );
    if let Some(onion) = &info.onion_host {
        server.text("Onion host", onion);
    }
    server.section(&mut body, "Server");

    let mut config = Table::new();
    config.text("Persistence", info.persistence.text());
    config.text(
        "Message expiration",
        &info
            .message_expiration_seconds
            .map_or_else(|| "Never".to_string(), ttl_text),
    );
    config.text("Statistics enabled", yes_no(info.stats_enabled));
    config.text("New queues allowed", yes_no(info.new_queues_allowed));
    config.text("Basic auth enabled", yes_no(info.basic_auth_enabled));
    config.section(&mut body, "Configuration");

    let mut public = Table::new();
    let information = info.information.as_ref();
    match information.map(|i| i.source_code.as_str()) {
        Some(source) if !source.is_empty() => public.row("Source code", &link(source)),
        _ => public.text("Source code", "none"),
    }
    if let Some(website) = information.and_then(|i| i.website.as_deref()) {
        public.row("Website", &link(website));
    }
    if let Some(conditions) = information.and_then(|i| i.usage_conditions.as_ref()) {
        public.row("Usage conditions", &link(&conditions.conditions));
        if let Some(amendments) = &conditions.amendments {
            public.row("Amendments", &link(amendments));
        }
    }
    if let Some(operator) = information.and_then(|i| i.operator.as_ref()) {
        entity(&mut public, "Operator", operator);
    }
    if let Some(hosting) = information.and_then(|i| i.hosting.as_ref()) {
        entity(&mut public, "Hosting provider", hosting);
    }
    if let Some(hosting_type) = information.and_then(|i| i.hosting_type) {
        let name = hosting_type.name();
        let mut chars = name.chars();
        let capitalised = chars
            .next()
            .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
            .unwrap_or_default();
        public.text("Hosting type", &capitalised);
    }
    if let Some(country) = information.and_then(|i| i.server_country.as_deref()) {
        public.text("Server country", country);
    }
    public.text("Server version", &info.version);
    public.section(&mut body, "Server information");

    if let Some(admin) = information.and_then(|i| i.admin_contacts.as_ref()) {
        contacts(&mut body, "Administrator contacts", admin);
    }
    if let Some(complaints) = information.and_then(|i| i.complaints_contacts.as_ref()) {
        contacts(&mut body, "Complaints and feedback", complaints);
    }
    page("SimpleX messaging server", &body, "")
}

/// Fills the link page from `location`: the app URL is `simplex:/<action><fragment>`, where the
/// action is the last path segment; for short links (one-letter action) the page's host is added
/// to the fragment's `h` parameter (first in its list), as the reference's link page does.
const LINK_SCRIPT: &str = "<script>(function(){\
var loc=new URL(window.location.href);\
var parts=loc.pathname.split('/').filter(function(p){return p.length>0;});\
var action=parts.length>0?parts[parts.length-1]:'';\
var frag=loc.hash,host=loc.hostname;\
if(action.length===1){\
if(frag.indexOf('?')<0){frag+='?h='+host;}\
else if(!/[?&]h=/.test(frag)){frag+='&h='+host;}\
else{frag=frag.replace(/([?&])h=([^&]+)/,function(m,sep,hosts){return sep+'h='+host+','+hosts;});}}\
var web='https://'+loc.host+'/'+action+loc.hash;\
document.getElementById('link').textContent=web;\
document.getElementById('open').href='simplex:/'+action+frag;\
document.getElementById('open').style.display='inline-block';\
})();</script>";

/// The page for a connection link path (`/a`, `/c`, `/contact`, ...).
pub fn link_html() -> String {
    let body = "<h1>SimpleX connection link</h1>\
<p>Someone shared this SimpleX link with you:</p><p><code id=\"link\"></code></p>\
<p><a id=\"open\" class=\"button\" style=\"display:none\" href=\"#\">Open in SimpleX app</a></p>\
<noscript><p>Enable JavaScript to open the link in the app, or copy this page's address \
and paste it into the SimpleX Chat app.</p></noscript>\
<p>To connect, install the SimpleX Chat app from \
<a href=\"https://simplex.chat\">simplex.chat</a>, then open this link again or paste it \
into the app.</p>";
    page("SimpleX connection link", body, LINK_SCRIPT)
}

impl Persistence {
    /// The text the reference shows (`SMPWeb.serverInformation`, `persistence`).
    pub fn text(self) -> &'static str {
        match self {
            Persistence::MemoryOnly => "In-memory only",
            Persistence::Queues => "Queues",
            Persistence::QueuesAndMessages => "Queues and messages",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape("<a href=\"x\">Tom & 'Jerry'</a>"),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;"
        );
        assert_eq!(escape("plain"), "plain");
    }

    #[test]
    fn links_only_http() {
        assert_eq!(
            link("https://e.org/?a=1&b=2"),
            "<a href=\"https://e.org/?a=1&amp;b=2\">https://e.org/?a=1&amp;b=2</a>"
        );
        assert_eq!(link("javascript:alert(1)"), "javascript:alert(1)");
    }

    /// `Web.timedTTLText` examples.
    #[test]
    fn ttl_texts() {
        assert_eq!(ttl_text(0), "0 sec");
        assert_eq!(ttl_text(21 * 86_400), "21 days");
        assert_eq!(ttl_text(7 * 86_400), "1 week");
        assert_eq!(ttl_text(14 * 86_400), "2 weeks");
        assert_eq!(ttl_text(30 * 86_400), "1 month");
        assert_eq!(ttl_text(3_600 + 61), "1 hour 1 min 1 sec");
        assert_eq!(ttl_text(2 * 3_600), "2 hours");
    }
}
