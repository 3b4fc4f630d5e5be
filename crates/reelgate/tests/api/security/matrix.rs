//! Who may call what: every route of the router (read from the source, [`super::routes`]) and
//! every operation in `/openapi.json` × anonymous, the owning customer, another customer and an
//! operator. What is public is fixed here, from the contract, never taken from the document:
//! an unannotated route is protected. Anonymous callers get 401 on every protected API route,
//! customers 403 on operator routes, another customer 404 on the owner's resources, and no
//! response to another customer ever contains the owner's identifiers. Web pages that need a
//! session send everyone without one to the sign-in page, and no web form is taken without
//! its CSRF token. Then every API write again with the operator's session cookie from another
//! site (`Origin`, `Sec-Fetch-Site: cross-site`): 403 `cross_site_request` on every protected
//! one, and nothing changed.

use crate::helpers::TestApp;
use reelgate_domain::accounts::{ApiKey, User};
use serde_json::{json, Value};
use std::collections::BTreeSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Anonymous,
    Other,
    Owner,
    Admin,
}

fn is_write(method: &str) -> bool {
    !matches!(method, "get" | "head" | "options")
}

/// The API routes anyone may call without credentials (product.md).
const PUBLIC: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
    ("get", "/v1/models"),
    ("post", "/v1/quote"),
    ("post", "/v1/auth/password-reset"),
    ("post", "/v1/auth/password-reset/confirm"),
    ("post", "/v1/auth/confirm-email"),
    ("get", "/v1/packages"),
    ("post", "/v1/payments/stripe/webhook"),
    // The customer's browser, sent back by iyzico; the token is only a hint (docs/PAYMENTS.md).
    ("post", "/v1/payments/iyzico/callback"),
    // iyzico's merchant notifications, proved by their signature (docs/PAYMENTS.md).
    ("post", "/v1/payments/iyzico/webhook"),
];

/// Credentials optional: a signed link may stand in for them.
const SIGNED_LINKS: &[(&str, &str)] = &[
    ("get", "/v1/generations/{id}/videos/{index}"),
    ("get", "/v1/generations/{id}/videos/{index}/thumbnail"),
];

/// Proved by the token in the path, for anyone.
const CALLBACKS: &[(&str, &str)] = &[("post", "/callbacks/kie/{generation}/{token}")];

/// Web pages anyone may open.
const PUBLIC_PAGES: &[&str] = &[
    "/",
    "/signin",
    "/signup",
    "/static/{name}",
    "/password-reset",
    "/password-reset/confirm",
    "/confirm-email",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    Public,
    SignedLink,
    Callback,
    Protected,
    PublicPage,
    /// A page or form of the web app that needs a session.
    Page,
}

fn access(method: &str, template: &str) -> Access {
    let listed = |list: &[(&str, &str)]| list.contains(&(method, template));
    let api = template.starts_with("/v1/") || template.starts_with("/callbacks/");
    if listed(PUBLIC) {
        Access::Public
    } else if listed(SIGNED_LINKS) {
        Access::SignedLink
    } else if listed(CALLBACKS) {
        Access::Callback
    } else if api {
        Access::Protected
    } else if method == "get" && PUBLIC_PAGES.contains(&template) {
        Access::PublicPage
    } else {
        Access::Page
    }
}

struct Operation {
    method: String,
    template: String,
    access: Access,
}

/// The operations of the document, with what it says about their security.
fn documented(openapi: &Value) -> Vec<(String, String, bool)> {
    let global = openapi.get("security").is_some();
    let mut operations = Vec::new();
    for (path, item) in openapi["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            if !matches!(method.as_str(), "get" | "post" | "put" | "patch" | "delete") {
                continue;
            }
            let protected = match operation.get("security") {
                Some(Value::Array(schemes)) => !schemes.is_empty(),
                _ => global,
            };
            operations.push((method.clone(), path.clone(), protected));
        }
    }
    operations
}

fn operations(routes: &BTreeSet<(String, String)>) -> Vec<Operation> {
    let mut operations: Vec<Operation> = routes
        .iter()
        .map(|(method, template)| Operation {
            method: method.clone(),
            template: template.clone(),
            access: access(method, template),
        })
        .collect();
    // Deletions last, so a caller reads what it is about to delete while it still exists.
    operations.sort_by_key(|op| op.method == "delete");
    operations
}

/// The ids the owner's resources have, to fill path templates with.
struct Owned {
    user: User,
    key: ApiKey,
    generation: String,
    /// A key of the owner's that the matrix may revoke.
    spare_key_id: String,
    /// A customer the operator's routes act on (they may disable it).
    victim: String,
}

fn fill(template: &str, owned: &Owned) -> String {
    let mut path = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        path.push_str(&rest[..start]);
        let end = rest[start..].find('}').expect("closing brace") + start;
        let name = &rest[start + 1..end];
        let value = match (name, template) {
            ("token", _) => "0".repeat(32),
            ("index", _) => "0".to_owned(),
            (_, t) if t.starts_with("/v1/admin/media") => owned.generation.clone(),
            ("name", _) => "app.css".to_owned(),
            (_, t) if t.starts_with("/v1/admin/users") || t.starts_with("/admin/users") => {
                owned.victim.clone()
            }
            (_, t)
                if t.starts_with("/v1/account/api-keys") || t.starts_with("/account/api-keys") =>
            {
                owned.spare_key_id.clone()
            }
            (_, t) if t.starts_with("/v1/admin") => owned.user.id.to_string(),
            _ => owned.generation.clone(),
        };
        path.push_str(&value);
        rest = &rest[end + 1..];
    }
    path.push_str(rest);
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_each_kind_of_caller_as_it_should() {
    let app = TestApp::spawn().await;
    let (owner, owner_key) = app.customer("owner", 10_000).await;
    let (_, other_key) = app.customer("other", 10_000).await;
    let (victim, _) = app.customer("victim", 0).await;
    let (admin, admin_key) = app.admin().await;
    let (_, created) = app
        .submit(
            &owner_key,
            json!({"model": "kling-2.6/text-to-video", "prompt": "a fox"}),
        )
        .await;
    let generation = created["id"].as_str().expect("a generation").to_owned();
    // Its video is copied into reelgate's storage after it succeeds; the video routes need it.
    let video = format!("/v1/generations/{generation}/videos/0");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while app.get_as(&owner_key, &video).await.status() != 200 {
        assert!(
            std::time::Instant::now() < deadline,
            "the video was never copied"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (spare, _) = app
        .store
        .create_api_key(&owner.id, "spare")
        .await
        .expect("spare key");
    let owned = Owned {
        user: owner,
        key: owner_key,
        generation,
        spare_key_id: spare.id.to_string(),
        victim: victim.id.to_string(),
    };
    let openapi: Value = app.get("/openapi.json").await.json().await.unwrap();
    let document = documented(&openapi);
    let mut routes = super::routes::in_source();
    for (method, path, protected) in &document {
        let access = access(method, path);
        // The document may not call a route public that the contract does not, nor the other
        // way round: customers' programs are written against it.
        assert_eq!(
            *protected,
            !matches!(access, Access::Public | Access::Callback),
            "{method} {path}: the document's security disagrees with the contract ({access:?})"
        );
        routes.insert((method.clone(), path.clone()));
    }
    for (method, path) in &routes {
        let api = path.starts_with("/v1/") || path.starts_with("/callbacks/");
        assert!(
            !api || document.iter().any(|(m, p, _)| m == method && p == path),
            "{method} {path} is routed but missing from /openapi.json"
        );
    }
    for list in [PUBLIC, SIGNED_LINKS, CALLBACKS] {
        assert!(
            list.iter().all(|(_, path)| !path.starts_with("/v1/admin")),
            "an operator route may never be public"
        );
        for (method, path) in list {
            assert!(
                routes.contains(&((*method).to_owned(), (*path).to_owned())),
                "{method} {path} is listed but not routed: the list is stale"
            );
        }
    }
    let operations = operations(&routes);
    assert!(
        operations.len() >= 40,
        "only {} operations: is the route scan reading the source?",
        operations.len()
    );
    let secrets_of_owner = [
        owned.user.email.to_string(),
        owned.user.id.to_string(),
        owned.generation.clone(),
        owned.spare_key_id.clone(),
        owned.key.expose().to_owned(),
    ];
    // Redirects are answers to judge, not to follow.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("HTTP client");
    let mut checked = 0;
    // The owner goes after the other customer (who must not be able to revoke the owner's
    // spare key), and the operator last (its routes may disable the victim).
    for caller in [
        Caller::Anonymous,
        Caller::Other,
        Caller::Owner,
        Caller::Admin,
    ] {
        for op in &operations {
            let path = fill(&op.template, &owned);
            let mut request = client.request(
                op.method.to_uppercase().parse().expect("method"),
                app.url(&path),
            );
            if op.method != "get" && op.method != "delete" {
                request = request.json(&json!({}));
            }
            request = match caller {
                Caller::Anonymous => request,
                Caller::Other => request.bearer_auth(other_key.expose()),
                Caller::Owner => request.bearer_auth(owned.key.expose()),
                Caller::Admin => request.bearer_auth(admin_key.expose()),
            };
            let response = request.send().await.expect("request sent");
            let status = response.status().as_u16();
            let location = response
                .headers()
                .get("location")
                .and_then(|l| l.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let body = response.text().await.unwrap_or_default();
            let what = format!("{caller:?} {} {path} → {status} {body}", op.method);
            assert!(status < 500, "{what}");
            assert!(
                !(status == 404 && body.contains("route not found")),
                "not routed, yet in the source or the document: {what}"
            );
            let admin_route = op.template.starts_with("/v1/admin");
            let owned_route = op.template.contains('{') && !admin_route;
            match op.access {
                Access::Callback => {
                    assert_eq!(status, 403, "a forged token is refused for anyone: {what}")
                }
                Access::Public | Access::PublicPage => {
                    assert!(status != 401 && status != 403, "public: {what}")
                }
                // A form: a bearer key is no session, and there is no CSRF token.
                Access::Page if op.method != "get" => {
                    assert!(!(200..300).contains(&status), "{what}")
                }
                Access::Page => assert!(
                    (300..400).contains(&status) && location.starts_with("/signin"),
                    "a page that needs a session sends to the sign-in page: {what} ({location})"
                ),
                Access::SignedLink | Access::Protected => match caller {
                    Caller::Anonymous if op.access == Access::SignedLink => {
                        assert!(!(200..300).contains(&status), "{what}")
                    }
                    Caller::Anonymous => assert_eq!(status, 401, "{what}"),
                    Caller::Other | Caller::Owner if admin_route => {
                        assert_eq!(status, 403, "{what}")
                    }
                    Caller::Other if owned_route => assert_eq!(status, 404, "{what}"),
                    // The owner's generation is theirs to see; a part of it (a stored
                    // video not copied yet) may still be missing.
                    Caller::Owner if owned_route => assert!(
                        ![401, 403].contains(&status) && !body.contains("generation not found"),
                        "{what}"
                    ),
                    _ => assert!(status != 401 && status != 403, "{what}"),
                },
            }
            if caller == Caller::Other {
                for secret in &secrets_of_owner {
                    assert!(!body.contains(secret.as_str()), "leaks {secret}: {what}");
                }
            }
            checked += 1;
        }
        if caller == Caller::Other {
            // Nothing the other customer did touched the owner's things.
            let keys = app.get_as(&owned.key, "/v1/account/api-keys").await;
            let keys: Value = keys.json().await.unwrap();
            let spare = keys["api_keys"]
                .as_array()
                .unwrap()
                .iter()
                .find(|k| k["id"] == owned.spare_key_id.as_str())
                .expect("the spare key is listed");
            assert!(spare["revoked_at"].is_null(), "{spare}");
        }
    }
    assert_eq!(checked, operations.len() * 4);

    let session = app
        .store
        .create_session(&admin.id, std::time::Duration::from_secs(3600))
        .await
        .expect("operator session");
    let cookie = format!(
        "{}={}",
        reelgate::http::auth::SESSION_COOKIE,
        session.expose()
    );
    let victim_before = app.store.user(&victim.id).await.unwrap();
    let mut writes = 0;
    for op in operations.iter().filter(|op| is_write(&op.method)) {
        let path = fill(&op.template, &owned);
        let response = app
            .client
            .request(
                op.method.to_uppercase().parse().expect("method"),
                app.url(&path),
            )
            .header("cookie", &cookie)
            .header("origin", "https://evil.example")
            .header("sec-fetch-site", "cross-site")
            .json(&json!({}))
            .send()
            .await
            .expect("request sent");
        let status = response.status().as_u16();
        let body = response.text().await.unwrap_or_default();
        let what = format!("cross-site cookie {} {path} → {status} {body}", op.method);
        assert!(status < 500, "{what}");
        if op.access == Access::Protected {
            assert_eq!(status, 403, "{what}");
            assert!(body.contains("cross_site_request"), "{what}");
            writes += 1;
        }
    }
    assert!(writes >= 5, "only {writes} protected writes");
    // The operator's cookie, sent by another site, disabled nobody.
    let victim_after = app.store.user(&victim.id).await.unwrap();
    assert_eq!(victim_after.disabled_at, victim_before.disabled_at);
}
