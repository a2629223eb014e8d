//! The OpenAPI 3.1 description of the HTTP API, served at `/openapi.json`. Hand-written (`openapi.json`
//! beside this file) and kept honest by tests: it parses, and it documents exactly the routes the router
//! serves and every error code the service emits.

/// The document, as served.
pub const DOCUMENT: &str = include_str!("openapi.json");

/// Every route of [`crate::server::VoteService::router`], as `(method, OpenAPI path)`.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/"),
    ("get", "/assets/{name}"),
    ("get", "/mesa"),
    ("get", "/mesa/"),
    ("get", "/mesa/assets/{name}"),
    ("get", "/audit/v1/checkpoint"),
    ("get", "/audit/v1/proof/inclusion"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
    ("get", "/v1/election"),
    ("get", "/v1/status"),
    ("post", "/v1/sessions"),
    ("post", "/v1/rights"),
    ("post", "/v1/ballots"),
    ("get", "/v1/ballots"),
    ("get", "/v1/receipts/{anonId}"),
    ("post", "/v1/close"),
    ("post", "/v1/mesas/{mesa}/admissions"),
    ("post", "/v1/mesas/{mesa}/actas"),
    ("get", "/v1/mesas/{mesa}/actas"),
    ("get", "/v1/mesas/{mesa}/actas/{kind}"),
    ("post", "/v1/booth/ballots"),
];

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn documents_exactly_the_routes() {
        let doc: serde_json::Value = serde_json::from_str(DOCUMENT).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        let paths = doc["paths"].as_object().unwrap();
        let mut documented = Vec::new();
        for (path, item) in paths {
            for method in item.as_object().unwrap().keys() {
                documented.push((method.clone(), path.clone()));
            }
        }
        let mut routes: Vec<(String, String)> = ROUTES.iter().map(|(m, p)| ((*m).into(), (*p).into())).collect();
        documented.sort();
        routes.sort();
        assert_eq!(documented, routes);
    }

    #[test]
    fn every_reference_resolves() {
        let doc: serde_json::Value = serde_json::from_str(DOCUMENT).unwrap();
        fn walk(v: &serde_json::Value, doc: &serde_json::Value) {
            match v {
                serde_json::Value::Object(o) => {
                    if let Some(r) = o.get("$ref").and_then(|r| r.as_str()) {
                        let ptr = r.trim_start_matches('#');
                        assert!(doc.pointer(ptr).is_some(), "dangling {r}");
                    }
                    o.values().for_each(|x| walk(x, doc));
                }
                serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, doc)),
                _ => {}
            }
        }
        walk(&doc, &doc);
    }

    #[test]
    fn every_error_code_is_documented() {
        let doc: serde_json::Value = serde_json::from_str(DOCUMENT).unwrap();
        let codes = doc.pointer("/components/schemas/Error/properties/error/properties/code/enum").unwrap();
        let codes: Vec<&str> = codes.as_array().unwrap().iter().filter_map(|c| c.as_str()).collect();
        // Every code passed to ApiError in the crate's sources.
        let sources = [
            include_str!("server/mod.rs"),
            include_str!("server/rights.rs"),
            include_str!("server/ballots.rs"),
            include_str!("server/booth.rs"),
            include_str!("ballot_box.rs"),
            include_str!("booth_box.rs"),
            include_str!("actas.rs"),
            include_str!("acta.rs"),
            include_str!("intake.rs"),
            include_str!("error.rs"),
            include_str!("json.rs"),
        ];
        for src in sources {
            for (i, _) in src.match_indices("\"") {
                let rest = &src[i + 1..];
                let Some(end) = rest.find('"') else { continue };
                let word = &rest[..end];
                let is_code =
                    word.len() > 3 && word.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') && word.contains('_');
                let context = &src[i.saturating_sub(80)..i];
                if is_code && (context.contains("ApiError::new(") || context.contains("StatusCode::")) {
                    assert!(codes.contains(&word), "error code {word} is not documented");
                }
            }
        }
    }
}
