// Over 400 lines, earned: every call of the store traits on the Alignak backend, with the original's texts and its order of calls, which read best together.
//! `AlignakBackend`: the store when `alignak_backend` is set. Hosts, services, customs,
//! creation, hostgroups, history, log check results and logins live in an Alignak backend
//! (Eve REST), called with the caller's own token as the original (v1.5+) did.
//!
//! The backend has no transactions: each call is applied when it is made (`atomic` is
//! false), so the commands built before a failure are still sent, as the original did. A
//! failure is never remembered: the next request calls the backend again.

pub mod address;
mod calls;
pub mod client;
pub mod create;
pub mod credentials;
pub mod documents;
#[cfg(test)]
mod fake;
mod names;
mod poll;
#[cfg(test)]
mod session_tests;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long one request may spend with the backend, all its calls together.
const SESSION_BUDGET: Duration = Duration::from_secs(30);

/// Which of several elements of one name is the one every gateway uses: the oldest, the
/// smallest `_id` among those created in the same second (`_created` has seconds only).
/// Every lookup reads in this order, so a reader takes the survivor as soon as it exists.
const SURVIVOR_ORDER: &str = "_created,_id";

/// A lookup's query: the documents `filter` matches, the survivor first.
fn in_survivor_order(filter: Value) -> [(&'static str, String); 2] {
    [("where", q(filter)), ("sort", SURVIVOR_ORDER.to_string())]
}

use serde_json::{json, Map, Value};

use self::address::AddressError;
use self::calls::Calls;
use self::client::{q, BackendError, Client};
use self::create::Resolver;
use self::names::{NameGuard, NameLocks};
use crate::auth::credentials::{CredentialStore, Verdict};
use crate::auth::Caller;
use crate::config::{RealmCase, WsConfig};
use crate::store::model::{
    CheckRecord, Element, ElementPatch, HistoryQuery, Kind, NewElement, NewHistory,
};
use crate::store::{Documents, Lookups, Session, Store, StoreError};

/// What the backend store does beyond the calls: the original's `alignak_backend_*` options.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `alignak_backend_livestate_update`: write `ls_*` for every livestate (always for a
    /// host created by the request).
    pub livestate_update: bool,
    /// `alignak_backend_old_lcr`: a log check result for every timestamped livestate.
    pub old_lcr: bool,
    /// `alignak_backend_get_lcr`: copy the acknowledgement/downtime fields of the latest
    /// earlier log check result into the new one.
    pub get_lcr: bool,
    /// `alignak_backend_timeshift`: older results than this are logged as from the past.
    pub timeshift: i64,
}

impl Settings {
    pub fn from_config(config: &WsConfig) -> Settings {
        Settings {
            livestate_update: config.backend_livestate_update,
            old_lcr: config.backend_old_lcr,
            get_lcr: config.backend_get_lcr,
            timeshift: config.backend_timeshift,
        }
    }
}

pub struct AlignakBackend {
    client: Arc<Client>,
    credentials: Arc<credentials::BackendCredentials>,
    settings: Settings,
    names: Arc<NameLocks>,
    _poll: Option<poll::Poller>,
}

impl AlignakBackend {
    /// The store on the backend at `config.alignak_backend` (which must be set), with the
    /// availability poll of `alignak_backend_polling_period` (0: none) using the module's
    /// own credentials; refused when that value is not an http(s) URL.
    pub fn new(url: &str, config: &WsConfig) -> Result<AlignakBackend, AddressError> {
        let client = Arc::new(Client::new(url)?);
        let poll = poll::Poller::start(Arc::clone(&client), config);
        Ok(AlignakBackend {
            credentials: Arc::new(credentials::BackendCredentials::new(Arc::clone(&client))),
            client,
            settings: Settings::from_config(config),
            names: Arc::new(NameLocks::default()),
            _poll: poll,
        })
    }

    /// The logins and tokens checks on this backend, sharing what the store learns: a token
    /// the backend refuses is no longer trusted from the cache.
    pub fn credentials(&self) -> Arc<credentials::BackendCredentials> {
        Arc::clone(&self.credentials)
    }
}

/// The original's message, and why.
pub fn store_error(err: BackendError) -> StoreError {
    match err {
        BackendError::Unavailable(why) => StoreError::Unavailable(format!(
            "Alignak backend is not available currently ({why})."
        )),
        BackendError::Unauthorized(call) => StoreError::Unauthorized(format!(
            "The Alignak backend refused the credentials ({call}): log in with a backend user."
        )),
        refused @ BackendError::Refused { .. } => StoreError::Refused(refused.to_string()),
    }
}

impl Store for AlignakBackend {
    fn session(
        &self,
        caller: &Caller,
        work: &mut dyn FnMut(&mut dyn Session) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.with_caller(caller, &mut |session| work(session))
    }

    fn read(
        &self,
        caller: &Caller,
        work: &mut dyn FnMut(&mut dyn Documents) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.with_caller(caller, &mut |session| work(session))
    }

    fn atomic(&self) -> bool {
        false
    }
}

impl AlignakBackend {
    /// `work` in one session with the caller's token, within `SESSION_BUDGET`.
    fn with_caller(
        &self,
        caller: &Caller,
        work: &mut dyn FnMut(&mut BackendSession<'_>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        // One request's whole work with the backend is bounded, however many calls it makes.
        let deadline = Instant::now() + SESSION_BUDGET;
        let _deadline = client::DeadlineGuard::new(deadline);
        let (result, wrote) = self.run_session(caller.token.as_deref(), work, deadline);
        let (Err(StoreError::Unauthorized(_)), Some(token)) = (&result, &caller.token) else {
            return result;
        };
        // A backend restarted with new tokens, or a token changed there: the cache no longer
        // trusts this one. A request that sent its password logs in again and, if the
        // refused session wrote nothing, is run once more with the new token.
        self.credentials.forget(token);
        let (Some(user), Some(password), false) = (&caller.user, &caller.password, wrote) else {
            return result;
        };
        match self.credentials.verify_password(user, &password.0) {
            Ok(Verdict::Accepted { token: Some(fresh) }) if fresh != *token => {
                log::info!("user '{user}': the backend refused the cached token; logged in again");
                self.run_session(Some(&fresh), work, deadline).0
            }
            _ => result,
        }
    }
}

/// A document the session has read: `Element::id` is its index in `handles`.
struct Handle {
    id: String,
    etag: String,
    /// The host's handle, for a service.
    host: Option<i64>,
    /// Changed by this session: read again before it is shown.
    stale: bool,
}

struct BackendSession<'a> {
    client: &'a dyn Calls,
    token: Option<&'a str>,
    settings: &'a Settings,
    handles: Vec<Handle>,
    /// A host's services, read once per session (upstream v1.5+), by host handle.
    services: HashMap<i64, Vec<Element>>,
    /// Handles of the documents this session created.
    created: HashSet<i64>,
    /// Whether it POSTed or PATCHed anything (a session that did cannot be run again).
    wrote: bool,
    names: &'a Arc<NameLocks>,
    /// The name this session looked up, found nothing for, and may create: held until the
    /// creation is done (one at a time, so two sessions never wait for each other's).
    holding: Option<NameGuard>,
    deadline: Instant,
}

fn resource(kind: Kind) -> &'static str {
    match kind {
        Kind::Host => "host",
        Kind::Service => "service",
    }
}

fn id_of(doc: &Map<String, Value>) -> String {
    doc.get("_id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

impl AlignakBackend {
    /// One run of `work` with `token`; whether it wrote anything to the backend.
    fn run_session(
        &self,
        token: Option<&str>,
        work: &mut dyn FnMut(&mut BackendSession<'_>) -> Result<(), StoreError>,
        deadline: Instant,
    ) -> (Result<(), StoreError>, bool) {
        let mut session =
            BackendSession::new(&*self.client, token, &self.settings, &self.names, deadline);
        let result = work(&mut session);
        (result, session.wrote)
    }
}

impl<'a> BackendSession<'a> {
    fn new(
        client: &'a dyn Calls,
        token: Option<&'a str>,
        settings: &'a Settings,
        names: &'a Arc<NameLocks>,
        deadline: Instant,
    ) -> BackendSession<'a> {
        BackendSession {
            client,
            token,
            settings,
            handles: Vec::new(),
            services: HashMap::new(),
            created: HashSet::new(),
            wrote: false,
            names,
            holding: None,
            deadline,
        }
    }

    fn adopt(&mut self, kind: Kind, host: Option<i64>, doc: &Map<String, Value>) -> Element {
        let handle = self.handles.len() as i64;
        self.handles.push(Handle {
            id: id_of(doc),
            etag: doc
                .get("_etag")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            host,
            stale: false,
        });
        documents::element(kind, handle, doc)
    }

    fn handle(&self, id: i64) -> Result<&Handle, StoreError> {
        usize::try_from(id)
            .ok()
            .and_then(|i| self.handles.get(i))
            .ok_or_else(|| {
                StoreError::Unavailable(format!("no backend document {id} in this session"))
            })
    }

    fn load_services(&mut self, host_id: i64) -> Result<(), StoreError> {
        if self.services.contains_key(&host_id) {
            return Ok(());
        }
        let host = self.handle(host_id)?.id.clone();
        let docs = self
            .client
            .get_all(
                self.token,
                "service",
                &in_survivor_order(json!({"host": host})),
            )
            .map_err(store_error)?;
        let services = docs
            .iter()
            .map(|doc| self.adopt(Kind::Service, Some(host_id), doc))
            .collect();
        self.services.insert(host_id, services);
        Ok(())
    }

    /// A value of the element's backend document, for a log check result.
    fn field(element: &Element, key: &str, default: Value) -> Value {
        element.fields.get(key).cloned().unwrap_or(default)
    }

    fn post_lcr(&self, check: &CheckRecord, timestamp: i64) -> Result<(), BackendError> {
        let element = check.service.unwrap_or(check.host);
        let host_id = &self
            .handle(check.host.id)
            .map_err(|e| BackendError::Unavailable(e.to_string()))?
            .id;
        let service_id = match check.service {
            Some(service) => json!(
                self.handle(service.id)
                    .map_err(|e| BackendError::Unavailable(e.to_string()))?
                    .id
            ),
            None => Value::Null,
        };
        let last_check = element
            .fields
            .get("ls_last_check")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        if last_check > timestamp + self.settings.timeshift {
            log::info!(
                "{}: check result of {timestamp} is older than the last one ({last_check})",
                element.name
            );
        }
        let default_state = match check.service {
            Some(_) => "OK",
            None => "UP",
        };
        let mut lcr = json!({
            "last_check": timestamp,
            "host": host_id,
            "service": service_id,
            "acknowledged": Self::field(element, "ls_acknowledged", json!(false)),
            "acknowledgement_type": Self::field(element, "ls_acknowledgement_type", json!(1)),
            "downtimed": Self::field(element, "ls_downtimed", json!(false)),
            "state_id": check.last.state_id,
            "state": check.last.state,
            "state_type": Self::field(element, "ls_state_type", json!("HARD")),
            "last_state": Self::field(element, "ls_last_state", json!(default_state)),
            "last_state_type": Self::field(element, "ls_last_state_type", json!("HARD")),
            "latency": 0,
            "execution_time": 0,
            "output": check.last.output,
            "long_output": check.last.long_output,
            "perf_data": check.last.perf_data,
            "_realm": Self::field(element, "_realm", Value::Null),
        });
        if self.settings.get_lcr {
            let mut filter =
                json!({"host_name": check.host.name, "last_check": {"$lte": timestamp}});
            if let Some(service) = check.service {
                filter["service_name"] = json!(service.name);
            }
            if let Some(previous) = self.client.first(
                self.token,
                "logcheckresult",
                &[("max_results", "1".into()), ("where", q(filter))],
            )? {
                for key in [
                    "acknowledged",
                    "acknowledgement_type",
                    "downtimed",
                    "state_type",
                    "last_state",
                    "last_state_type",
                    "state_changed",
                ] {
                    if let Some(value) = previous.get(key) {
                        lcr[key] = value.clone();
                    }
                }
            }
        }
        if lcr["_realm"].is_null() {
            if let Some(map) = lcr.as_object_mut() {
                map.remove("_realm");
            }
        }
        self.client.post(self.token, "logcheckresult", &lcr)?;
        Ok(())
    }
}

impl Lookups for BackendSession<'_> {
    fn host(&mut self, name: &str) -> Result<Option<Element>, StoreError> {
        self.hold(format!("host\0{name}"))?;
        let found = self
            .client
            .first(
                self.token,
                "host",
                &in_survivor_order(json!({"name": name})),
            )
            .map_err(store_error)?;
        if found.is_some() {
            self.holding = None;
        }
        Ok(found.map(|doc| self.adopt(Kind::Host, None, &doc)))
    }

    fn service(&mut self, host_id: i64, name: &str) -> Result<Option<Element>, StoreError> {
        self.load_services(host_id)?;
        let Some(position) = self
            .services
            .get(&host_id)
            .and_then(|list| list.iter().position(|s| s.name == name))
        else {
            return self.service_created_meanwhile(host_id, name);
        };
        let current = self.services[&host_id][position].clone();
        if !self.handle(current.id)?.stale {
            return Ok(Some(current));
        }
        let id = self.handle(current.id)?.id.clone();
        let Some(doc) = self
            .client
            .get_one(self.token, "service", &id)
            .map_err(store_error)?
        else {
            return Ok(None);
        };
        let fresh = self.adopt(Kind::Service, Some(host_id), &doc);
        if let Some(list) = self.services.get_mut(&host_id) {
            list[position] = fresh.clone();
        }
        Ok(Some(fresh))
    }

    fn services(&mut self, host_id: i64) -> Result<Vec<Element>, StoreError> {
        self.load_services(host_id)?;
        Ok(self.services.get(&host_id).cloned().unwrap_or_default())
    }
}

impl Session for BackendSession<'_> {
    fn create(
        &mut self,
        kind: Kind,
        host_id: Option<i64>,
        new: &NewElement,
    ) -> Result<Element, StoreError> {
        let mut template = new.fields.clone();
        template.insert("customs".into(), Value::Object(new.customs.clone()));
        template.insert(
            "active_checks_enabled".into(),
            json!(new.active_checks_enabled),
        );
        template.insert(
            "passive_checks_enabled".into(),
            json!(new.passive_checks_enabled),
        );
        template.insert("check_freshness".into(), json!(new.check_freshness));
        self.post_new(
            kind,
            host_id,
            &new.name,
            Some(&template),
            RealmCase::Unchanged,
        )
    }

    fn create_from_template(
        &mut self,
        kind: Kind,
        host: Option<&Element>,
        name: &str,
        template: Option<&Map<String, Value>>,
        realm_case: RealmCase,
    ) -> Result<Element, StoreError> {
        self.post_new(kind, host.map(|h| h.id), name, template, realm_case)
    }

    fn update(&mut self, kind: Kind, id: i64, patch: &ElementPatch) -> Result<(), StoreError> {
        let handle = self.handle(id)?;
        // The `ls_*` of a host created by this request, and of its services: Alignak does
        // not know them yet, so no command carries their state (the original's rule).
        let created = match handle.host {
            None => self.created.contains(&id),
            Some(host) => self.created.contains(&host),
        };
        let mut body = Map::new();
        if let Some(customs) = &patch.customs {
            body.insert("customs".into(), Value::Object(customs.clone()));
        }
        for (key, value) in [
            ("active_checks_enabled", patch.active_checks_enabled),
            ("passive_checks_enabled", patch.passive_checks_enabled),
            ("check_freshness", patch.check_freshness),
        ] {
            if let Some(value) = value {
                body.insert(key.into(), json!(value));
            }
        }
        if let Some(ls) = patch
            .livestate
            .as_ref()
            .filter(|_| self.settings.livestate_update || created)
        {
            for (key, value) in [
                ("ls_state", json!(ls.state)),
                ("ls_state_id", json!(ls.state_id)),
                ("ls_state_type", json!(ls.state_type)),
                ("ls_last_check", json!(ls.last_check)),
                ("ls_output", json!(ls.output)),
                ("ls_long_output", json!(ls.long_output)),
                ("ls_perf_data", json!(ls.perf_data)),
            ] {
                body.insert(key.into(), value);
            }
        }
        if body.is_empty() {
            return Ok(());
        }
        let (resource_id, etag) = (handle.id.clone(), handle.etag.clone());
        self.wrote = true;
        let etag = self
            .client
            .patch(
                self.token,
                resource(kind),
                &resource_id,
                &etag,
                &Value::Object(body),
            )
            .map_err(store_error)?;
        if let Some(handle) = usize::try_from(id)
            .ok()
            .and_then(|i| self.handles.get_mut(i))
        {
            handle.etag = etag;
            handle.stale = true;
        }
        Ok(())
    }

    fn put_hostgroup(&mut self, name: &str, _: &str, _: &[String]) -> Result<(), StoreError> {
        Err(StoreError::Refused(format!(
            "hostgroup '{name}': with an Alignak backend, hostgroups are the backend's (hostgroups_file is not used)"
        )))
    }

    fn add_history(&mut self, entry: &NewHistory) -> Result<(), StoreError> {
        let mut doc = json!({
            "host_name": entry.host_name,
            "user_name": entry.user_name,
            "type": entry.kind,
            "message": entry.message,
        });
        if let Some(service) = &entry.service_name {
            doc["service_name"] = json!(service);
        }
        self.wrote = true;
        self.client
            .post(self.token, "history", &doc)
            .map(|_| ())
            .map_err(store_error)
    }

    fn livestate_is_update(&self) -> bool {
        self.settings.livestate_update
    }

    fn record_check(&mut self, check: &CheckRecord) -> Result<(), StoreError> {
        // The original posted one only for a truthy timestamp: `0` is none.
        let Some(timestamp) = check.timestamp.filter(|t| *t != 0 && self.settings.old_lcr) else {
            return Ok(());
        };
        // As the original: a log check result that cannot be written is logged, and the
        // check result itself still goes to Alignak.
        self.wrote = true;
        if let Err(err) = self.post_lcr(check, timestamp) {
            log::error!(
                "log check result of {}{} not written: {err}",
                check.host.name,
                check
                    .service
                    .map(|s| format!("/{}", s.name))
                    .unwrap_or_default()
            );
        }
        Ok(())
    }
}

/// The backend's own documents, as it shows them (secrets stripped).
impl Documents for BackendSession<'_> {
    fn host_page(
        &mut self,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<Map<String, Value>>, u64), StoreError> {
        let limit = limit.max(1);
        let params = vec![
            ("page", (offset / limit + 1).to_string()),
            ("max_results", limit.to_string()),
            ("sort", "_id".to_string()),
            ("where", q(json!({"_is_template": false}))),
        ];
        let answer = self
            .client
            .get(self.token, "host", &params)
            .map_err(store_error)?;
        Ok(one_page(&answer, |doc| {
            let mut value = Value::Object(doc.clone());
            documents::strip_secrets(&mut value);
            match value {
                Value::Object(doc) => doc,
                _ => Map::new(),
            }
        }))
    }

    fn host_documents(&mut self, name: &str) -> Result<Vec<Map<String, Value>>, StoreError> {
        let docs = self
            .client
            .get_all(
                self.token,
                "host",
                &[
                    ("where", q(json!({"name": name}))),
                    ("embedded", documents::HOST_EMBEDDED.to_string()),
                ],
            )
            .map_err(store_error)?;
        Ok(docs
            .into_iter()
            .map(|doc| {
                let mut value = Value::Object(doc);
                documents::strip_secrets(&mut value);
                match value {
                    Value::Object(doc) => doc,
                    _ => Map::new(),
                }
            })
            .collect())
    }

    fn hostgroup_documents(
        &mut self,
        name: Option<&str>,
        embedded: bool,
    ) -> Result<Vec<Map<String, Value>>, StoreError> {
        let mut query = vec![(
            "projection",
            q(
                json!({"name":1,"alias":1,"notes":1,"hostgroups":1,"hosts":1,"_level":1,
                     "_parent":1,"_tree_parents":1,"_realm":1}),
            ),
        )];
        if let Some(name) = name {
            query.push(("where", q(json!({"name": name}))));
        }
        if embedded {
            query.push((
                "embedded",
                q(json!({"hostgroups":1,"hosts":1,"_parent":1,"_tree_parents":1,"_realm":1})),
            ));
        }
        let docs = self
            .client
            .get_all(self.token, "hostgroup", &query)
            .map_err(store_error)?;
        Ok(docs
            .into_iter()
            .map(|doc| documents::hostgroup(doc, embedded))
            .collect())
    }

    fn history_documents(
        &mut self,
        query: &HistoryQuery,
    ) -> Result<(Vec<Map<String, Value>>, u64), StoreError> {
        let limit = query.limit.max(1);
        let mut params = vec![
            ("page", (query.offset / limit + 1).to_string()),
            ("max_results", limit.to_string()),
            ("sort", "-_id".to_string()),
            (
                "projection",
                q(
                    json!({"host_name":1,"service_name":1,"user_name":1,"type":1,"message":1,
                         "logcheckresult":1}),
                ),
            ),
            ("embedded", q(json!({"logcheckresult": 1}))),
        ];
        if let Some(filter) = documents::history_where(&query.filters) {
            params.push(("where", q(filter)));
        }
        let answer = self
            .client
            .get(self.token, "history", &params)
            .map_err(store_error)?;
        Ok(one_page(&answer, |doc| {
            documents::history_item(doc.clone())
        }))
    }
}

/// One page of an Eve listing: its items, each made into what the API shows, and the
/// listing's total (`_meta.total`).
fn one_page(
    answer: &Value,
    item: impl Fn(&Map<String, Value>) -> Map<String, Value>,
) -> (Vec<Map<String, Value>>, u64) {
    let total = answer
        .pointer("/_meta/total")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let items = answer
        .get("_items")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_object)
                .map(&item)
                .collect()
        })
        .unwrap_or_default();
    (items, total)
}

impl BackendSession<'_> {
    /// `POST` of the document made from `template` (its links resolved), then the created
    /// document read back; `host_handle` for a service.
    fn post_new(
        &mut self,
        kind: Kind,
        host_handle: Option<i64>,
        name: &str,
        template: Option<&Map<String, Value>>,
        realm_case: RealmCase,
    ) -> Result<Element, StoreError> {
        let host_id = match host_handle {
            Some(handle) => Some(self.handle(handle)?.id.clone()),
            None => None,
        };
        let resolver = Resolver {
            client: self.client,
            token: self.token,
        };
        let doc = resolver
            .document(kind, name, template, realm_case, host_id.as_deref())
            .map_err(store_error)?;
        let resource = resource(kind);
        self.wrote = true;
        // A refusal (the name created meanwhile by another gateway, caught by the backend's
        // `unique` check, or a document it does not validate) goes back to the caller, who
        // reads the name again.
        let id = self
            .client
            .post(self.token, resource, &Value::Object(doc))
            .map_err(store_error)?;
        self.keep_survivor(kind, name, host_id.as_deref(), &id)?;
        let stored = self
            .client
            .get_one(self.token, resource, &id)
            .map_err(store_error)?
            .ok_or_else(|| {
                StoreError::Unavailable(format!(
                    "Alignak backend is not available currently (the created {resource} '{name}' cannot be read)."
                ))
            })?;
        let element = self.adopt(kind, host_handle, &stored);
        self.created.insert(element.id);
        self.holding = None;
        if let Some(host_handle) = host_handle {
            self.load_services(host_handle)?;
            if let Some(list) = self.services.get_mut(&host_handle) {
                if !list.iter().any(|s| s.name == element.name) {
                    list.push(element.clone());
                }
            }
        }
        Ok(element)
    }
}

impl BackendSession<'_> {
    /// Holds `key` (a name this session may create), letting go of any other first.
    fn hold(&mut self, key: String) -> Result<(), StoreError> {
        if self.holding.as_ref().is_some_and(|held| held.key == key) {
            return Ok(());
        }
        self.holding = None;
        let guard = self.names.acquire(&key, self.deadline).ok_or_else(|| {
            StoreError::Unavailable(format!(
                "Alignak backend is not available currently (another request's creation of '{}' did not end in time).",
                key.replace('\0', "/")
            ))
        })?;
        self.holding = Some(guard);
        Ok(())
    }

    /// A service not in the host's list read at the session's start: with its name held,
    /// read again, since another request may have created it since.
    fn service_created_meanwhile(
        &mut self,
        host_handle: i64,
        name: &str,
    ) -> Result<Option<Element>, StoreError> {
        let host = self.handle(host_handle)?.id.clone();
        self.hold(format!("service\0{host}\0{name}"))?;
        let Some(doc) = self
            .client
            .first(
                self.token,
                "service",
                &in_survivor_order(json!({"host": host, "name": name})),
            )
            .map_err(store_error)?
        else {
            return Ok(None);
        };
        self.holding = None;
        let element = self.adopt(Kind::Service, Some(host_handle), &doc);
        if let Some(list) = self.services.get_mut(&host_handle) {
            list.push(element.clone());
        }
        Ok(Some(element))
    }

    /// After creating `id`: when another gateway created the same name meanwhile, the
    /// survivor (`SURVIVOR_ORDER`'s first) stays; if it is not ours, ours (and any service
    /// made on it) is removed and the creation answers `Refused`, so that the caller reads
    /// the name again and goes on with the survivor as an existing element.
    fn keep_survivor(
        &mut self,
        kind: Kind,
        name: &str,
        host_id: Option<&str>,
        id: &str,
    ) -> Result<(), StoreError> {
        let resource = resource(kind);
        let mut filter = json!({"name": name});
        if let Some(host_id) = host_id {
            filter["host"] = json!(host_id);
        }
        let same_name = self
            .client
            .get_all(
                self.token,
                resource,
                &[
                    &in_survivor_order(filter)[..],
                    &[("projection", q(json!({"name": 1})))],
                ]
                .concat(),
            )
            .map_err(store_error)?;
        let survivor = same_name.first().map(id_of);
        if same_name.len() < 2 || survivor.as_deref() == Some(id) {
            return Ok(());
        }
        log::warn!(
            "{resource} '{name}': created by another gateway meanwhile; this gateway's copy ({id}) is removed and the first one ({}) used",
            survivor.unwrap_or_default()
        );
        if kind == Kind::Host {
            let services = self
                .client
                .get_all(self.token, "service", &[("where", q(json!({"host": id})))])
                .map_err(store_error)?;
            for service in &services {
                self.remove("service", service)?;
            }
        }
        if let Some(ours) = self
            .client
            .get_one(self.token, resource, id)
            .map_err(store_error)?
        {
            self.remove(resource, &ours)?;
        }
        Err(StoreError::Refused(format!(
            "{resource} '{name}' was created by another gateway at the same time"
        )))
    }

    fn remove(&self, resource: &str, doc: &Map<String, Value>) -> Result<(), StoreError> {
        let etag = doc.get("_etag").and_then(Value::as_str).unwrap_or_default();
        self.client
            .delete(self.token, resource, &id_of(doc), etag)
            .map_err(store_error)
    }
}
