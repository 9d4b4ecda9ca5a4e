//! TLS to RabbitMQ (`amqps://`) and Redis (`rediss://`): the server certificates are verified
//! against the system's CA certificates, or against the CA of `tls_ca_file` when it is set
//! (a private CA, a self-signed server certificate).
use crate::settings::FleetConfig;

/// `tls_ca_file` cannot be used: names the file and says why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("tls_ca_file {path:?}: {detail}")]
pub struct TlsCaError {
    pub path: String,
    pub detail: String,
}

/// The PEM text of `tls_ca_file`, or `None` when it is not set (the system's CAs apply).
pub fn ca_pem(cfg: &FleetConfig) -> Result<Option<String>, TlsCaError> {
    let path = cfg.tls_ca_file.trim();
    if path.is_empty() {
        return Ok(None);
    }
    let error = |detail: String| TlsCaError { path: path.to_owned(), detail };
    let pem = std::fs::read_to_string(path).map_err(|e| error(format!("cannot read it: {e}")))?;
    if !pem.contains("-----BEGIN CERTIFICATE-----") {
        return Err(error("no PEM certificate (-----BEGIN CERTIFICATE-----) in it".to_owned()));
    }
    Ok(Some(pem))
}

/// A hint for a failed TLS handshake, from the error's text.
pub(crate) fn handshake_hint(error: &str, cfg: &FleetConfig) -> &'static str {
    let e = error.to_ascii_lowercase();
    if !(e.contains("certificate") || e.contains("unknownissuer") || e.contains("tls")) {
        ""
    } else if cfg.tls_ca_file.trim().is_empty() {
        " (the server's TLS certificate is not signed by a CA this system trusts: give its CA in tls_ca_file)"
    } else {
        " (the server's TLS certificate is not signed by the CA in tls_ca_file, or does not name the host of the URL)"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_file_means_system_roots_and_bad_files_are_named() {
        let mut cfg = FleetConfig::default();
        assert_eq!(ca_pem(&cfg), Ok(None));
        cfg.tls_ca_file = "/nonexistent/ca.pem".into();
        let e = ca_pem(&cfg).unwrap_err();
        assert!(e.to_string().starts_with("tls_ca_file \"/nonexistent/ca.pem\": cannot read it"), "{e}");
        let dir = std::env::temp_dir().join(format!("fitfleet-tls-test-{}", std::process::id()));
        std::fs::write(&dir, "not a certificate").unwrap();
        cfg.tls_ca_file = dir.display().to_string();
        let e = ca_pem(&cfg).unwrap_err();
        assert!(e.detail.contains("no PEM certificate"), "{e}");
        std::fs::remove_file(&dir).unwrap();
    }

    #[test]
    fn hints_only_for_certificate_errors() {
        let cfg = FleetConfig::default();
        assert_eq!(handshake_hint("Connection refused (os error 111)", &cfg), "");
        assert!(handshake_hint("invalid peer certificate: UnknownIssuer", &cfg).contains("tls_ca_file"));
    }
}
