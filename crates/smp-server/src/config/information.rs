//! `[INFORMATION]`: what the server publishes about itself on the info page
//! (`Server.Main.serverPublicInfo`, `Server.Information.ServerPublicInfo`).

use super::values::country;
use super::{ConfigError, Ini};

const SECTION: &str = "INFORMATION";

/// A named organisation or person with an optional country (`Information.Entity`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entity {
    pub name: String,
    pub country: Option<String>,
}

/// Hosting type (`Information.HostingType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostingType {
    Virtual,
    Dedicated,
    Colocation,
    Owned,
}

impl HostingType {
    pub fn parse(text: &str) -> Option<HostingType> {
        match text {
            "virtual" => Some(HostingType::Virtual),
            "dedicated" => Some(HostingType::Dedicated),
            "colocation" => Some(HostingType::Colocation),
            "owned" => Some(HostingType::Owned),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            HostingType::Virtual => "virtual",
            HostingType::Dedicated => "dedicated",
            HostingType::Colocation => "colocation",
            HostingType::Owned => "owned",
        }
    }
}

/// Administrative or complaints contact (`Information.ServerContactAddress`). The SimpleX link is
/// kept as text; the PGP key is present only when both its URI and fingerprint are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactAddress {
    pub simplex: Option<String>,
    pub email: Option<String>,
    /// (key URI, fingerprint)
    pub pgp: Option<(String, String)>,
}

/// Usage conditions and their amendments (`Information.ServerConditions`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerConditions {
    pub conditions: String,
    pub amendments: Option<String>,
}

/// Public server information (`Information.ServerPublicInfo`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerInformation {
    pub source_code: String,
    pub usage_conditions: Option<ServerConditions>,
    pub server_country: Option<String>,
    pub operator: Option<Entity>,
    pub website: Option<String>,
    pub admin_contacts: Option<ContactAddress>,
    pub complaints_contacts: Option<ContactAddress>,
    pub hosting: Option<Entity>,
    pub hosting_type: Option<HostingType>,
}

/// The section, or `None` when `source_code` is absent (then everything else is ignored).
pub(crate) fn from_ini(ini: &Ini) -> Result<Option<ServerInformation>, ConfigError> {
    let value = |key: &str| ini.value(SECTION, key).map(str::to_string);
    let Some(source_code) = value("source_code") else {
        return Ok(None);
    };
    let country_value = |key: &str| -> Result<Option<String>, ConfigError> {
        match ini.value(SECTION, key) {
            None => Ok(None),
            Some(text) => country(key, text).map(Some).map_err(|message| {
                ConfigError::invalid(SECTION, key, text, &format!("2 letters ({message})"))
            }),
        }
    };
    let entity = |name_key: &str, country_key: &str| -> Result<Option<Entity>, ConfigError> {
        match value(name_key) {
            None => Ok(None),
            Some(name) => Ok(Some(Entity {
                name,
                country: country_value(country_key)?,
            })),
        }
    };
    let contacts = |prefix: &str| -> Option<ContactAddress> {
        let simplex = value(&format!("{prefix}_simplex"));
        let email = value(&format!("{prefix}_email"));
        let pgp_uri = value(&format!("{prefix}_pgp"));
        let pgp_fingerprint = value(&format!("{prefix}_pgp_fingerprint"));
        match (&simplex, &email, &pgp_uri, &pgp_fingerprint) {
            (None, None, None, _) | (None, None, _, None) => None,
            _ => Some(ContactAddress {
                simplex,
                email,
                pgp: pgp_uri.zip(pgp_fingerprint),
            }),
        }
    };
    let hosting_type = match ini.value(SECTION, "hosting_type") {
        None => None,
        Some(text) => Some(HostingType::parse(text).ok_or_else(|| {
            ConfigError::invalid(
                SECTION,
                "hosting_type",
                text,
                "virtual, dedicated, colocation or owned",
            )
        })?),
    };
    Ok(Some(ServerInformation {
        source_code,
        usage_conditions: value("usage_conditions").map(|conditions| ServerConditions {
            conditions,
            amendments: value("condition_amendments"),
        }),
        server_country: country_value("server_country")?,
        operator: entity("operator", "operator_country")?,
        website: value("website"),
        admin_contacts: contacts("admin"),
        complaints_contacts: contacts("complaints"),
        hosting: entity("hosting", "hosting_country")?,
        hosting_type,
    }))
}
