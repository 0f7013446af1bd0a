//! Lines the CLI prints to operators, with the reference's wording (`CLI.printServiceInfo`,
//! `CLI.warnCAPrivateKeyFile`, `Server.Main.printSourceCode`, `CLI.simplexmqVersionCommit`),
//! plus the server address as a terminal QR code.

use std::path::Path;

use qrcode::render::unicode::Dense1x2;
use qrcode::QrCode;
use smp_proto::keys::KeyHash;
use smp_server::config::BasicAuth;

/// The reference release this server is a drop-in replacement for.
pub const REFERENCE_VERSION: &str = "6.5.5.0";

/// `SMP server v6.5.5.0 / ⟨first 7 characters of the build's git commit⟩`.
pub fn version_line() -> String {
    let commit: String = env!("SMP_SERVER_GIT_COMMIT").chars().take(7).collect();
    format!("SMP server v{REFERENCE_VERSION} / {commit}")
}

/// `smp://⟨fingerprint⟩[:⟨password⟩]@⟨host⟩[:⟨port⟩]` (`Protocol.strEncodeServer`).
pub fn server_address(
    identity: &KeyHash,
    password: Option<&BasicAuth>,
    host: &str,
    port: &str,
) -> String {
    let mut address = format!("smp://{}", identity.to_text());
    if let Some(password) = password {
        address.push(':');
        address.push_str(password.as_str());
    }
    address.push('@');
    address.push_str(host);
    if !port.is_empty() {
        address.push(':');
        address.push_str(port);
    }
    address
}

/// Version, fingerprint and address lines (`CLI.printServiceInfo`).
pub fn print_service_info(identity: &KeyHash, address: &str) {
    println!("{}", version_line());
    println!("Fingerprint: {}", identity.to_text());
    println!("Server address: {address}");
}

/// `Server.Main.printSourceCode`.
pub fn print_source_code(source_code: Option<&str>) {
    match source_code {
        Some(source_code) => println!("Server source code: {source_code}"),
        None => {
            println!("Warning: server source code is not specified.");
            println!("Add 'source_code' property to [INFORMATION] section of INI file.");
        }
    }
}

/// Advice to keep the CA key offline (`CLI.warnCAPrivateKeyFile`).
pub fn warn_ca_private_key(cfg_dir: &Path) {
    println!("----------");
    println!("You should store CA private key securely and delete it from the server.");
    println!("If server TLS credential is compromised this key can be used to sign a new one, keeping the same server identity and established connections.");
    println!("CA private key location:");
    println!(
        "{}",
        cfg_dir
            .join(smp_transport::credentials::CA_KEY_FILE)
            .display()
    );
    println!("----------");
}

/// The address as a QR code drawn with Unicode half blocks, for scanning from a phone.
pub fn qr_code(text: &str) -> Option<String> {
    let code = QrCode::new(text.as_bytes()).ok()?;
    Some(
        code.render::<Dense1x2>()
            .dark_color(Dense1x2::Light)
            .light_color(Dense1x2::Dark)
            .quiet_zone(true)
            .build(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        let identity = KeyHash::from_text("LcJUMfVhwD8yxjAiSaDzzGF3-kLG4Uh0Fl_ZIjrRwjI=").unwrap();
        assert_eq!(
            server_address(&identity, None, "<hostnames>", ""),
            "smp://LcJUMfVhwD8yxjAiSaDzzGF3-kLG4Uh0Fl_ZIjrRwjI=@<hostnames>"
        );
        let password = BasicAuth::parse("pw").unwrap();
        assert_eq!(
            server_address(&identity, Some(&password), "smp.example.com", "5223,443"),
            "smp://LcJUMfVhwD8yxjAiSaDzzGF3-kLG4Uh0Fl_ZIjrRwjI=:pw@smp.example.com:5223,443"
        );
    }

    #[test]
    fn version_line_format() {
        let line = version_line();
        assert!(line.starts_with("SMP server v6.5.5.0 / "), "{line}");
        assert!(line.len() <= "SMP server v6.5.5.0 / ".len() + 7);
    }

    #[test]
    fn qr_code_renders() {
        let code = qr_code("smp://abc@example.com").unwrap();
        assert!(code.lines().count() > 10);
    }
}
