//! Site generation (`Web.generateSite` with `SMPWeb.smpLinkPages`): `index.html`, one
//! `<link path>/index.html` per connection link path, and the app association files under
//! `well-known/` (served as `/.well-known/...`, like the reference, which keeps them out of a
//! hidden directory on disk).

use std::io;
use std::path::Path;

use serde_json::json;

use super::{pages, SiteInfo};

/// The link paths that get a link page (`SMPWeb.smpLinkPages`).
pub const LINK_PATHS: [&str; 7] = ["contact", "invitation", "a", "c", "g", "r", "i"];

/// The on-disk directory served as `/.well-known` (`Web.rewriteWellKnown`).
pub const WELL_KNOWN_DIR: &str = "well-known";

/// iOS app id (team id + bundle id) of SimpleX Chat.
const APPLE_APP_ID: &str = "5NN7GUYB6T.chat.simplex.app";
/// Android package of SimpleX Chat and the SHA-256 fingerprints of its signing certificates.
const ANDROID_PACKAGE: &str = "chat.simplex.app";
const ANDROID_CERT_FINGERPRINTS: [&str; 3] = [
    "5E:3E:DC:C2:00:FB:A8:D5:F4:88:F3:CA:4C:32:5B:05:78:C5:6A:9C:03:A1:CC:B5:92:9C:D7:5C:7E:57:E2:4D",
    "3C:52:C4:FD:3C:AD:1C:07:C9:B0:0A:70:80:E3:58:FA:B9:FE:FC:B8:AF:5A:EC:14:77:65:F1:6D:0F:21:AD:85",
    "AE:C1:95:DC:FD:46:14:BD:3A:91:EC:26:D1:D5:14:C8:75:71:C5:CC:8D:CF:48:08:3F:92:83:14:3C:A2:B9:A6",
];

/// The universal links the iOS app handles on this host: each link path, with and without a
/// trailing part (the reference's `apple-app-site-association`; `/r` is not in it).
const APPLE_LINK_PATHS: [&str; 6] = ["contact", "invitation", "a", "c", "g", "i"];

/// `apple-app-site-association`.
pub fn apple_app_site_association() -> String {
    let components: Vec<serde_json::Value> = APPLE_LINK_PATHS
        .iter()
        .flat_map(|path| {
            [
                json!({ "/": format!("/{path}/*") }),
                json!({ "/": format!("/{path}") }),
            ]
        })
        .collect();
    let value = json!({
        "applinks": {
            "details": [{ "appIDs": [APPLE_APP_ID], "components": components }]
        }
    });
    format!("{value:#}\n")
}

/// `assetlinks.json` (Android App Links).
pub fn asset_links() -> String {
    let value = json!([{
        "relation": ["delegate_permission/common.handle_all_urls"],
        "target": {
            "namespace": "android_app",
            "package_name": ANDROID_PACKAGE,
            "sha256_cert_fingerprints": ANDROID_CERT_FINGERPRINTS,
        }
    }]);
    format!("{value:#}\n")
}

/// Writes the site under `root` (created if missing), overwriting the files it generates and
/// leaving anything else there alone.
pub fn generate(root: &Path, info: &SiteInfo) -> io::Result<()> {
    std::fs::create_dir_all(root)?;
    std::fs::write(root.join("index.html"), pages::index_html(info))?;
    let well_known = root.join(WELL_KNOWN_DIR);
    std::fs::create_dir_all(&well_known)?;
    std::fs::write(
        well_known.join("apple-app-site-association"),
        apple_app_site_association(),
    )?;
    std::fs::write(well_known.join("assetlinks.json"), asset_links())?;
    let link = pages::link_html();
    for path in LINK_PATHS {
        let directory = root.join(path);
        std::fs::create_dir_all(&directory)?;
        std::fs::write(directory.join("index.html"), &link)?;
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::config::{ContactAddress, Entity, ServerInformation};
    use crate::web::Persistence;

    pub(crate) fn sample_info() -> SiteInfo {
        SiteInfo {
            address: "smp://abc@smp.example.com".into(),
            fingerprint: "abc".into(),
            onion_host: Some("xyz.onion".into()),
            persistence: Persistence::Queues,
            message_expiration_seconds: Some(21 * 86_400),
            stats_enabled: true,
            new_queues_allowed: false,
            basic_auth_enabled: true,
            information: Some(ServerInformation {
                source_code: "https://github.com/example/<src>".into(),
                usage_conditions: None,
                server_country: Some("DE".into()),
                operator: Some(Entity {
                    name: "Evil <script>alert(1)</script> & Co".into(),
                    country: Some("GB".into()),
                }),
                website: Some("javascript:alert(1)".into()),
                admin_contacts: Some(ContactAddress {
                    simplex: None,
                    email: Some("admin@example.com".into()),
                    pgp: None,
                }),
                complaints_contacts: None,
                hosting: None,
                hosting_type: Some(crate::config::HostingType::Dedicated),
            }),
            version: "test 1.0".into(),
        }
    }

    #[test]
    fn index_shows_escaped_information() {
        let html = pages::index_html(&sample_info());
        assert!(html.contains("Evil &lt;script&gt;alert(1)&lt;/script&gt; &amp; Co"));
        assert!(!html.contains("<script>alert"));
        assert!(!html.contains("href=\"javascript:"));
        assert!(html.contains("https://github.com/example/&lt;src&gt;"));
        for text in [
            "smp://abc@smp.example.com",
            "xyz.onion",
            "Queues",
            "21 days",
            "Dedicated",
            "DE",
            "GB",
            "admin@example.com",
            "test 1.0",
        ] {
            assert!(html.contains(text), "{text} missing");
        }
    }

    #[test]
    fn writes_all_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("www");
        generate(&root, &sample_info()).unwrap();
        assert!(std::fs::read_to_string(root.join("index.html"))
            .unwrap()
            .contains("smp://abc@smp.example.com"));
        for path in LINK_PATHS {
            let page = std::fs::read_to_string(root.join(path).join("index.html")).unwrap();
            assert!(page.contains("simplex:/"), "{path}");
        }
        let apple: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(root.join("well-known/apple-app-site-association")).unwrap(),
        )
        .unwrap();
        let details = &apple["applinks"]["details"][0];
        assert_eq!(details["appIDs"][0], APPLE_APP_ID);
        assert_eq!(details["components"].as_array().unwrap().len(), 12);
        assert_eq!(details["components"][0]["/"], "/contact/*");
        let android: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(root.join("well-known/assetlinks.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(android[0]["target"]["package_name"], "chat.simplex.app");
        assert_eq!(
            android[0]["target"]["sha256_cert_fingerprints"]
                .as_array()
                .unwrap()
                .len(),
            3
        );
        // generating again over an existing site succeeds
        generate(&root, &sample_info()).unwrap();
    }
}
