//! A minimal HTTP/1.1 static file responder for the generated site (the reference serves it with
//! warp + wai-app-static, `Web.staticFiles` / `Web.resolveStaticFile`).
//!
//! Hand-written rather than built on `hyper`: the site is a handful of small files, only GET and
//! HEAD are served, and each connection answers one request and closes (`Connection: close`), so
//! a request-line + headers reader is all that is needed and no new dependency tree (with its
//! own timeouts and limits to configure) enters the server.
//!
//! Paths: `/` is `index.html`; a directory is its `index.html` (`/a` is `a/index.html`);
//! `/.well-known/...` is read from `well-known/`; other segments starting with `.`, `..`,
//! backslashes, NULs and anything resolving (through symlinks) outside the root are 404; there is
//! no directory listing.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::site::WELL_KNOWN_DIR;

/// Largest request head (request line and headers) accepted.
const MAX_HEAD: usize = 16 * 1024;
/// How long a client may take to send its request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// Content type by file name (`Web.staticMimeType`).
pub fn mime_type(path: &Path) -> &'static str {
    let name = path
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or("");
    let types: [(&str, &str); 11] = [
        (".html", "text/html"),
        (".css", "text/css"),
        (".js", "application/javascript"),
        (".svg", "image/svg+xml"),
        (".png", "image/png"),
        (".ico", "image/x-icon"),
        (".json", "application/json"),
        ("apple-app-site-association", "application/json"),
        (".woff", "font/woff"),
        (".woff2", "font/woff2"),
        (".ttf", "font/ttf"),
    ];
    types
        .iter()
        .find(|(suffix, _)| name.ends_with(suffix))
        .map_or("application/octet-stream", |(_, mime)| mime)
}

/// Decodes `%XX` escapes; `None` for a malformed escape or non-UTF-8 result.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = text.get(index + 1..index + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The file under `root` (already canonical) that `target` (the request target) names, if any.
pub fn resolve(root: &Path, target: &str) -> Option<PathBuf> {
    let path = target.split(['?', '#']).next().unwrap_or("");
    if !path.starts_with('/') {
        return None;
    }
    let decoded = percent_decode(path)?;
    let mut relative = PathBuf::new();
    for (index, segment) in decoded.split('/').filter(|s| !s.is_empty()).enumerate() {
        let segment = if index == 0 && segment == ".well-known" {
            WELL_KNOWN_DIR
        } else {
            segment
        };
        if segment.starts_with('.') || segment.contains(['\\', '\0']) {
            return None;
        }
        relative.push(segment);
    }
    let requested = root.join(relative);
    let file = if requested.is_dir() {
        requested.join("index.html")
    } else {
        requested
    };
    let canonical = std::fs::canonicalize(file).ok()?;
    (canonical.starts_with(root) && canonical.is_file()).then_some(canonical)
}

/// Reads the request head (up to the blank line); `None` when the client closes, is too slow or
/// sends too much.
async fn read_head<S: AsyncRead + Unpin>(stream: &mut S) -> Option<String> {
    let mut head = Vec::with_capacity(1024);
    let mut buffer = [0u8; 2048];
    let read = async {
        loop {
            let count = stream.read(&mut buffer).await.ok()?;
            if count == 0 {
                return None;
            }
            head.extend_from_slice(&buffer[..count]);
            if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
                head.truncate(end);
                return String::from_utf8(head).ok();
            }
            if head.len() > MAX_HEAD {
                return None;
            }
        }
    };
    tokio::time::timeout(HEAD_TIMEOUT, read).await.ok()?
}

/// A response: status, content type and body (the body is left out for HEAD).
struct Response {
    status: &'static str,
    content_type: &'static str,
    body: Vec<u8>,
    allow: bool,
}

impl Response {
    fn text(status: &'static str) -> Response {
        Response {
            status,
            content_type: "text/plain; charset=utf-8",
            body: format!("{status}\n").into_bytes(),
            allow: false,
        }
    }
}

/// The response to one request head.
async fn respond(root: &Path, head: &str) -> (Response, bool) {
    let request_line = head.lines().next().unwrap_or("");
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return (Response::text("400 Bad Request"), false);
    };
    if !version.starts_with("HTTP/1.") {
        return (Response::text("400 Bad Request"), false);
    }
    let head_only = method == "HEAD";
    if method != "GET" && !head_only {
        let mut response = Response::text("405 Method Not Allowed");
        response.allow = true;
        return (response, false);
    }
    let root = root.to_path_buf();
    let target = target.to_string();
    let file = tokio::task::spawn_blocking(move || {
        let file = resolve(&root, &target)?;
        let body = std::fs::read(&file).ok()?;
        Some((mime_type(&file), body))
    })
    .await
    .ok()
    .flatten();
    match file {
        Some((content_type, body)) => (
            Response {
                status: "200 OK",
                content_type,
                body,
                allow: false,
            },
            head_only,
        ),
        None => (Response::text("404 Not Found"), head_only),
    }
}

/// Serves one request on `stream` from the site at `root` (canonical), then closes.
pub async fn serve_connection<S>(root: &Path, mut stream: S)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let Some(head) = read_head(&mut stream).await else {
        return;
    };
    let (response, head_only) = respond(root, &head).await;
    let mut out = format!(
        "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n\
X-Content-Type-Options: nosniff\r\nConnection: close\r\n",
        response.status,
        response.content_type,
        response.body.len()
    )
    .into_bytes();
    if response.allow {
        out.extend_from_slice(b"Allow: GET, HEAD\r\n");
    }
    out.extend_from_slice(b"\r\n");
    if !head_only {
        out.extend_from_slice(&response.body);
    }
    let _ = stream.write_all(&out).await;
    let _ = stream.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("www");
        crate::web::site::generate(&root, &crate::web::site::tests::sample_info()).unwrap();
        std::fs::write(dir.path().join("secret.txt"), "secret").unwrap();
        std::fs::create_dir_all(root.join(".hidden")).unwrap();
        std::fs::write(root.join(".hidden/file.html"), "hidden").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret.txt"), root.join("link.html")).unwrap();
        let root = std::fs::canonicalize(root).unwrap();
        (dir, root)
    }

    #[test]
    fn resolves_pages() {
        let (_dir, root) = site();
        assert_eq!(resolve(&root, "/"), Some(root.join("index.html")));
        assert_eq!(resolve(&root, "/index.html"), Some(root.join("index.html")));
        assert_eq!(resolve(&root, "/a"), Some(root.join("a/index.html")));
        assert_eq!(
            resolve(&root, "/contact/"),
            Some(root.join("contact/index.html"))
        );
        assert_eq!(resolve(&root, "/i?x=1"), Some(root.join("i/index.html")));
        assert_eq!(
            resolve(&root, "/.well-known/assetlinks.json"),
            Some(root.join("well-known/assetlinks.json"))
        );
        assert_eq!(resolve(&root, "/nothing"), None);
    }

    #[test]
    fn refuses_traversal() {
        let (_dir, root) = site();
        for target in [
            "/../secret.txt",
            "/a/../../secret.txt",
            "/%2e%2e/secret.txt",
            "/a/%2E%2E/%2E%2E/secret.txt",
            "/..%2fsecret.txt",
            "/.hidden/file.html",
            "/link.html",
            "/a%00",
            "/%zz",
            "//etc/passwd",
            "/a\\..\\..\\secret.txt",
            "secret.txt",
            "*",
        ] {
            assert_eq!(resolve(&root, target), None, "{target}");
        }
    }

    #[test]
    fn mime_types() {
        assert_eq!(mime_type(Path::new("x/index.html")), "text/html");
        assert_eq!(
            mime_type(Path::new("apple-app-site-association")),
            "application/json"
        );
        assert_eq!(mime_type(Path::new("a.woff2")), "font/woff2");
        assert_eq!(mime_type(Path::new("a.bin")), "application/octet-stream");
    }

    async fn exchange(root: &Path, request: &str) -> String {
        let (mut client, server) = tokio::io::duplex(1 << 20);
        client.write_all(request.as_bytes()).await.unwrap();
        serve_connection(root, server).await;
        let mut out = String::new();
        client.read_to_string(&mut out).await.unwrap();
        out
    }

    #[tokio::test]
    async fn responses() {
        let (_dir, root) = site();
        let ok = exchange(&root, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert!(ok.starts_with("HTTP/1.1 200 OK\r\n"), "{ok}");
        assert!(ok.contains("Content-Type: text/html\r\n"));
        assert!(ok.contains("simplex:/"));
        let head = exchange(&root, "HEAD / HTTP/1.1\r\n\r\n").await;
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(head.ends_with("\r\n\r\n"), "{head}");
        let missing = exchange(&root, "GET /../secret.txt HTTP/1.1\r\n\r\n").await;
        assert!(missing.starts_with("HTTP/1.1 404 Not Found\r\n"));
        assert!(!missing.contains("secret"));
        let post = exchange(&root, "POST / HTTP/1.1\r\n\r\n").await;
        assert!(post.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"));
        assert!(post.contains("Allow: GET, HEAD\r\n"));
        let bad = exchange(&root, "GARBAGE\r\n\r\n").await;
        assert!(bad.starts_with("HTTP/1.1 400 Bad Request\r\n"));
    }
}
