//! Creating and changing tenants from the pages: "New issuer" / "New verifier" on the start
//! page, and "Edit" / "Disable" / "Enable" on each tenant page. Every form goes through the
//! service calls the management API's `POST` and `PATCH` use (`Issuer::create_issuer`,
//! `Issuer::update_issuer`, `Verifier::create_verifier`, `Verifier::update_verifier`), and,
//! as those routes, needs the admin key: without a key the key form (401), with a scoped
//! key a 403 page; the forms are shown to the admin key only.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde_json::{Map, Value, json};
use vdc_issuer::definition::IssuerDefinition;
use vdc_issuer::management::IssuerObject;
use vdc_verifier::{VerifierDefinition, VerifierObject};

use crate::Pages;
use crate::layout::{error_page, html_response, key_required, service_error};
use crate::post::{Form, PagePost};

/// The configurations the "New issuer" form starts with: one SD-JWT VC configuration, the
/// shape of docs/FIRST-ISSUER.md, so submitting the form as is makes a working issuer.
pub(crate) const EXAMPLE_CONFIGURATIONS: &str = r#"{
  "EmployeeBadge": {
    "format": "dc+sd-jwt",
    "vct": "https://acme.example/vct/employee-badge",
    "claims": [
      {"path": ["given_name"]},
      {"path": ["family_name"]},
      {"path": ["employee_id"], "mandatory": true}
    ],
    "cryptographic_binding_methods_supported": ["jwk"],
    "expires_in": 31536000
  }
}"#;

/// The client identifier prefixes a verifier can be created with (OID4VP 1.0 §5.9.3).
const PREFIXES: [&str; 4] = [
    "x509_san_dns",
    "x509_hash",
    "decentralized_identifier",
    "redirect_uri",
];

/// What the disabled state means, shown next to it.
const DISABLED_HINT: &str = "disabled: wallets get 404";

/// Admin-only, as the management API's tenant `POST` and `PATCH`: `None` when the pages
/// key is the admin key, else the answer (the key form without a key, 403 with another).
async fn require_admin(pages: &Pages, headers: &HeaderMap) -> Option<Response> {
    match pages.caller(headers).await {
        Some(c) if c.is_admin() => None,
        Some(_) => Some(error_page(
            StatusCode::FORBIDDEN,
            "Creating and changing issuers and verifiers needs the admin key.",
        )),
        None => Some(key_required()),
    }
}

/// A form's trimmed text field ("" when absent).
fn text<'a>(form: &'a Form, name: &str) -> &'a str {
    form.field(name).unwrap_or_default().trim()
}

/// The trusted issuers of a verifier form: the ticked local issuers, then the lines of the
/// text area, without blanks or repeats.
fn trusted_issuers(form: &Form) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let lines = form.field("trusted_issuers").unwrap_or_default().lines();
    for url in form.all("trusted_issuer").chain(lines) {
        let url = url.trim();
        if !url.is_empty() && !out.iter().any(|u| u == url) {
            out.push(url.to_owned());
        }
    }
    out
}

/// The issuer `display` with its first entry's name set to `name` (other members and
/// locales kept); an empty `name` removes it.
fn issuer_display(current: &[Value], name: &str) -> Vec<Value> {
    let mut display = current.to_vec();
    match display.first_mut().and_then(Value::as_object_mut) {
        Some(first) if name.is_empty() => {
            first.remove("name");
            if first.keys().all(|k| k == "locale") {
                display.remove(0);
            }
        }
        Some(first) => {
            first.insert("name".into(), name.into());
        }
        None if name.is_empty() => {}
        None => display.insert(0, json!({ "name": name })),
    }
    display
}

/// The verifier `display` (free JSON) with its `name` set to `name`; an empty `name`
/// removes it.
fn verifier_display(current: Option<&Value>, name: &str) -> Value {
    let mut display = match current {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    if name.is_empty() {
        display.remove("name");
    } else {
        display.insert("name".into(), name.into());
    }
    if display.is_empty() {
        Value::Null
    } else {
        Value::Object(display)
    }
}

/// The configurations text area as JSON, or why not.
fn configurations(form: &Form) -> Result<Value, String> {
    serde_json::from_str(text(form, "credential_configurations"))
        .map_err(|e| format!("credential_configurations is not valid JSON: {e}"))
}

/// A refused form shown again with the reason: 4xx with the service's description; a
/// server error is the generic error page.
fn refused(status: StatusCode, title: &str, message: &str, form: Markup) -> Response {
    if status.is_server_error() {
        return service_error(status, message.to_owned());
    }
    html_response(
        status,
        title,
        html! {
            h1 { (title) }
            p.error #error { (message) }
            (form)
            p { a href="/ui" { "Start page" } }
        },
    )
}

fn issuer_status(e: vdc_issuer::IssuerError) -> (StatusCode, String) {
    let description = e.to_string();
    (e.into_response().status(), description)
}

fn verifier_status(e: vdc_verifier::VerifierError) -> (StatusCode, String) {
    let description = e.to_string();
    (e.into_response().status(), description)
}

/// The "New issuer" form, with the values of a refused submission.
pub(crate) fn new_issuer_form(form: Option<&Form>) -> Markup {
    let value = |name: &str| form.map(|f| text(f, name)).unwrap_or_default().to_owned();
    let configurations = form
        .map(|f| f.field("credential_configurations").unwrap_or_default())
        .unwrap_or(EXAMPLE_CONFIGURATIONS);
    html! {
        form #new-issuer method="post" action="/ui/issuers" {
            label { "Id " input name="id" required maxlength="63" pattern="[a-z0-9][a-z0-9\\-]*" value=(value("id")); }
            label { "Display name " input name="display_name" maxlength="200" value=(value("display_name")); }
            label {
                "Credential configurations (JSON, as "
                code { "credential_configurations" } " of " code { "POST /api/v1/issuers" } ")"
                textarea name="credential_configurations" rows="14" required { (configurations) }
            }
            button type="submit" { "Create issuer" }
        }
    }
}

/// The local issuers as checkboxes (ticked when `trusted` holds them) and a text area for
/// the other trusted issuers.
fn trusted_issuers_fields(local: &[(String, String)], trusted: &[String]) -> Markup {
    let others: Vec<&str> = trusted
        .iter()
        .filter(|t| !local.iter().any(|(_, url)| url == *t))
        .map(String::as_str)
        .collect();
    html! {
        fieldset {
            legend { "Trusted issuers" }
            @for (id, url) in local {
                label {
                    input type="checkbox" name="trusted_issuer" value=(url) checked[trusted.contains(url)];
                    " " (id) " " small { code { (url) } }
                }
            }
            label {
                "Other credential issuer identifiers, one per line "
                textarea name="trusted_issuers" rows="3" { (others.join("\n")) }
            }
        }
    }
}

/// The "New verifier" form (`local`: this deployment's issuers as (id, credential issuer
/// identifier)), with the values of a refused submission.
pub(crate) fn new_verifier_form(local: &[(String, String)], form: Option<&Form>) -> Markup {
    let value = |name: &str| form.map(|f| text(f, name)).unwrap_or_default().to_owned();
    let trusted = form.map(trusted_issuers).unwrap_or_default();
    let prefix = form
        .map(|f| text(f, "client_id_prefix"))
        .filter(|p| !p.is_empty())
        .unwrap_or(PREFIXES[0])
        .to_owned();
    html! {
        form #new-verifier method="post" action="/ui/verifiers" {
            label { "Id " input name="id" required maxlength="63" pattern="[a-z0-9][a-z0-9\\-]*" value=(value("id")); }
            label { "Display name " input name="display_name" maxlength="200" value=(value("display_name")); }
            label {
                "Client identifier prefix "
                select name="client_id_prefix" {
                    @for p in PREFIXES {
                        option value=(p) selected[p == prefix] { (p) }
                    }
                }
            }
            (trusted_issuers_fields(local, &trusted))
            button type="submit" { "Create verifier" }
        }
    }
}

/// The start page's "New issuer" and "New verifier" sections (admin key only).
pub(crate) fn new_tenant_sections(local: &[(String, String)]) -> Markup {
    html! {
        section #new-issuer-section {
            h2 { "New issuer" }
            (new_issuer_form(None))
        }
        section #new-verifier-section {
            h2 { "New verifier" }
            (new_verifier_form(local, None))
        }
    }
}

/// `POST /ui/issuers`: creates an issuer as `POST /api/v1/issuers` does, then 303 to its
/// page.
pub(crate) async fn create_issuer(
    State(pages): State<Pages>,
    headers: HeaderMap,
    post: PagePost,
) -> Response {
    if let Some(r) = require_admin(&pages, &headers).await {
        return r;
    }
    let form = match post.form() {
        Ok(f) => f,
        Err(bad) => return bad.into_response(),
    };
    let again = |status: StatusCode, message: &str| {
        refused(status, "New issuer", message, new_issuer_form(Some(&form)))
    };
    let configurations = match configurations(&form) {
        Ok(c) => c,
        Err(m) => return again(StatusCode::BAD_REQUEST, &m),
    };
    let body = json!({
        "id": text(&form, "id"),
        "display": issuer_display(&[], text(&form, "display_name")),
        "credential_configurations": configurations,
    });
    // The API's strict body parsing: an unknown member is named, not ignored.
    let def: IssuerDefinition = match vdc_http::extract::from_value_strict(body) {
        Ok(d) => d,
        Err(e) => return again(StatusCode::BAD_REQUEST, &e.description),
    };
    match pages.issuer.create_issuer(def).await {
        Ok(created) => Redirect::to(&format!("/ui/issuers/{}", created.id)).into_response(),
        Err(e) => {
            let (status, message) = issuer_status(e);
            again(status, &message)
        }
    }
}

/// `POST /ui/verifiers`: creates a verifier as `POST /api/v1/verifiers` does, then 303 to
/// its page.
pub(crate) async fn create_verifier(
    State(pages): State<Pages>,
    headers: HeaderMap,
    post: PagePost,
) -> Response {
    if let Some(r) = require_admin(&pages, &headers).await {
        return r;
    }
    let form = match post.form() {
        Ok(f) => f,
        Err(bad) => return bad.into_response(),
    };
    let local = match local_issuers(&pages).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let again = |status: StatusCode, message: &str| {
        refused(
            status,
            "New verifier",
            message,
            new_verifier_form(&local, Some(&form)),
        )
    };
    let mut body = json!({
        "id": text(&form, "id"),
        "client_id_prefix": text(&form, "client_id_prefix"),
        "trusted_issuers": trusted_issuers(&form),
    });
    let display = verifier_display(None, text(&form, "display_name"));
    if !display.is_null() {
        body["display"] = display;
    }
    let def: VerifierDefinition = match vdc_http::extract::from_value_strict(body) {
        Ok(d) => d,
        Err(e) => return again(StatusCode::BAD_REQUEST, &e.description),
    };
    match pages.verifier.create_verifier(def).await {
        Ok(created) => Redirect::to(&format!("/ui/verifiers/{}", created.id)).into_response(),
        Err(e) => {
            let (status, message) = verifier_status(e);
            again(status, &message)
        }
    }
}

/// This deployment's issuers as (id, credential issuer identifier), for the verifier forms.
pub(crate) async fn local_issuers(pages: &Pages) -> Result<Vec<(String, String)>, Response> {
    match pages.issuer.list_issuers().await {
        Ok(list) => Ok(list
            .items
            .into_iter()
            .map(|i| (i.id, i.credential_issuer))
            .collect()),
        Err(e) => {
            let (status, message) = issuer_status(e);
            Err(service_error(status, message))
        }
    }
}

/// The enabled/disabled state and the button that flips it.
fn state_block(action: &str, disabled: bool) -> Markup {
    html! {
        p #tenant-state data-disabled=(disabled) {
            "State: "
            @if disabled { strong { (DISABLED_HINT) } } @else { strong { "enabled" } }
        }
        form #toggle-disabled method="post" action=(action) {
            input type="hidden" name="disabled" value=(!disabled);
            button type="submit" { @if disabled { "Enable" } @else { "Disable" } }
        }
    }
}

/// The issuer page's "Manage" section (admin key only): edit, disable / enable.
pub(crate) fn issuer_manage(def: &IssuerObject) -> Markup {
    let configurations =
        serde_json::to_string_pretty(&def.credential_configurations).unwrap_or_default();
    let name = def
        .display
        .first()
        .and_then(|d| d["name"].as_str())
        .unwrap_or_default();
    html! {
        section #manage {
            h2 { "Manage" }
            (state_block(&format!("/ui/issuers/{}/disabled", def.id), def.disabled))
            form #edit method="post" action={ "/ui/issuers/" (def.id) "/edit" } {
                label { "Display name " input name="display_name" maxlength="200" value=(name); }
                label {
                    "Credential configurations (JSON)"
                    textarea name="credential_configurations" rows="14" required { (configurations) }
                }
                button type="submit" { "Save" }
            }
        }
    }
}

/// The verifier page's "Manage" section (admin key only): edit, disable / enable.
pub(crate) fn verifier_manage(object: &VerifierObject, local: &[(String, String)]) -> Markup {
    let name = object
        .display
        .as_ref()
        .and_then(|d| d.get("name"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    html! {
        section #manage {
            h2 { "Manage" }
            (state_block(&format!("/ui/verifiers/{}/disabled", object.id), object.disabled))
            form #edit method="post" action={ "/ui/verifiers/" (object.id) "/edit" } {
                label { "Display name " input name="display_name" maxlength="200" value=(name); }
                (trusted_issuers_fields(local, &object.trusted_issuers))
                button type="submit" { "Save" }
            }
        }
    }
}

/// The `disabled` field of the toggle form.
fn disabled_field(form: &Form) -> Result<bool, String> {
    match text(form, "disabled") {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err("disabled must be true or false".into()),
    }
}

/// `POST /ui/issuers/{issuer}/edit`: display name and configurations through the
/// service's `PATCH`.
pub(crate) async fn edit_issuer(
    State(pages): State<Pages>,
    Path(issuer): Path<String>,
    headers: HeaderMap,
    post: PagePost,
) -> Response {
    if let Some(r) = require_admin(&pages, &headers).await {
        return r;
    }
    let form = match post.form() {
        Ok(f) => f,
        Err(bad) => return bad.into_response(),
    };
    let current = match pages.issuer.get_issuer(&issuer).await {
        Ok(c) => c,
        Err(e) => {
            let (status, message) = issuer_status(e);
            return service_error(status, message);
        }
    };
    let configurations = match configurations(&form) {
        Ok(c) => c,
        Err(m) => return error_page(StatusCode::BAD_REQUEST, &m),
    };
    let mut patch = Map::new();
    patch.insert(
        "display".into(),
        json!(issuer_display(
            &current.display,
            text(&form, "display_name")
        )),
    );
    // Sent only when changed: the stored configurations need no second validation.
    if serde_json::to_value(&current.credential_configurations).ok() != Some(configurations.clone())
    {
        patch.insert("credential_configurations".into(), configurations);
    }
    patched(pages.issuer.update_issuer(&issuer, patch).await, &issuer)
}

/// The answer to an issuer `PATCH`: 303 to its page, or the reason.
fn patched(result: vdc_issuer::Result<IssuerObject>, issuer: &str) -> Response {
    match result {
        Ok(_) => Redirect::to(&format!("/ui/issuers/{issuer}")).into_response(),
        Err(e) => {
            let (status, message) = issuer_status(e);
            service_error(status, message)
        }
    }
}

/// `POST /ui/issuers/{issuer}/disabled`: `disabled=true|false` through the service's
/// `PATCH`.
pub(crate) async fn toggle_issuer(
    State(pages): State<Pages>,
    Path(issuer): Path<String>,
    headers: HeaderMap,
    post: PagePost,
) -> Response {
    if let Some(r) = require_admin(&pages, &headers).await {
        return r;
    }
    let form = match post.form() {
        Ok(f) => f,
        Err(bad) => return bad.into_response(),
    };
    let disabled = match disabled_field(&form) {
        Ok(d) => d,
        Err(m) => return error_page(StatusCode::BAD_REQUEST, &m),
    };
    let patch = [("disabled".to_owned(), json!(disabled))]
        .into_iter()
        .collect();
    patched(pages.issuer.update_issuer(&issuer, patch).await, &issuer)
}

/// `POST /ui/verifiers/{verifier}/edit`: display name and trusted issuers through the
/// service's `PATCH`.
pub(crate) async fn edit_verifier(
    State(pages): State<Pages>,
    Path(verifier): Path<String>,
    headers: HeaderMap,
    post: PagePost,
) -> Response {
    if let Some(r) = require_admin(&pages, &headers).await {
        return r;
    }
    let form = match post.form() {
        Ok(f) => f,
        Err(bad) => return bad.into_response(),
    };
    let current = match pages.verifier.get_verifier(&verifier).await {
        Ok(c) => c,
        Err(e) => {
            let (status, message) = verifier_status(e);
            return service_error(status, message);
        }
    };
    let mut patch = Map::new();
    patch.insert(
        "display".into(),
        verifier_display(current.display.as_ref(), text(&form, "display_name")),
    );
    patch.insert("trusted_issuers".into(), json!(trusted_issuers(&form)));
    verifier_patched(
        pages.verifier.update_verifier(&verifier, patch).await,
        &verifier,
    )
}

/// The answer to a verifier `PATCH`: 303 to its page, or the reason.
fn verifier_patched(result: vdc_verifier::Result<VerifierObject>, verifier: &str) -> Response {
    match result {
        Ok(_) => Redirect::to(&format!("/ui/verifiers/{verifier}")).into_response(),
        Err(e) => {
            let (status, message) = verifier_status(e);
            service_error(status, message)
        }
    }
}

/// `POST /ui/verifiers/{verifier}/disabled`: `disabled=true|false` through the service's
/// `PATCH`.
pub(crate) async fn toggle_verifier(
    State(pages): State<Pages>,
    Path(verifier): Path<String>,
    headers: HeaderMap,
    post: PagePost,
) -> Response {
    if let Some(r) = require_admin(&pages, &headers).await {
        return r;
    }
    let form = match post.form() {
        Ok(f) => f,
        Err(bad) => return bad.into_response(),
    };
    let disabled = match disabled_field(&form) {
        Ok(d) => d,
        Err(m) => return error_page(StatusCode::BAD_REQUEST, &m),
    };
    let patch = [("disabled".to_owned(), json!(disabled))]
        .into_iter()
        .collect();
    verifier_patched(
        pages.verifier.update_verifier(&verifier, patch).await,
        &verifier,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_configurations_are_a_valid_create_body() {
        let body = json!({
            "id": "x",
            "credential_configurations": serde_json::from_str::<Value>(EXAMPLE_CONFIGURATIONS).unwrap(),
        });
        let def: IssuerDefinition = vdc_http::extract::from_value_strict(body).unwrap();
        def.validate().unwrap();
    }

    #[test]
    fn display_names_replace_only_the_name() {
        let current = vec![json!({"name": "A", "locale": "en", "logo": {"uri": "x"}})];
        assert_eq!(
            issuer_display(&current, "B"),
            vec![json!({"name": "B", "locale": "en", "logo": {"uri": "x"}})]
        );
        assert_eq!(issuer_display(&[], "B"), vec![json!({"name": "B"})]);
        assert_eq!(
            issuer_display(&[json!({"name": "A", "locale": "en"})], ""),
            Vec::<Value>::new()
        );
        assert_eq!(
            verifier_display(Some(&json!({"name": "A", "logo": 1})), "B"),
            json!({"name": "B", "logo": 1})
        );
        assert_eq!(verifier_display(None, ""), Value::Null);
    }
}
