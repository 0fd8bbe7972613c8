// Over 400 lines, earned: the /host algorithm (upstream-spec §5) for a host and its services, one step after the other as the spec lists them; its tests are in update_tests.rs.
//! The `PATCH|POST /host` algorithm (upstream-spec §5.1/§5.2, with the later versions'
//! services list, `ignore_unknown_*`, `give_result`, `give_feedback`, creation rules),
//! written once against `store::Session`. It returns the answer and the command lines; the
//! lines go to the daemon once the session is committed (`dispatch::run_then_push`). An answer
//! lists only lines that are sent; a result held back (backend mode, host just created) is
//! said to be kept instead.

use serde_json::{Map, Value};

use super::catalog::CoreCatalog;
use super::core_vars;
use super::customs;
use super::feedback::feedback;
use super::livestate::{self, LivestateIn, Target};
use super::request::{ElementRequest, HostRequest};
use crate::config::WsConfig;
use crate::response::Envelope;
use crate::store::model::{CheckRecord, Element, ElementPatch, Kind};
use crate::store::{Session, StoreError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    /// Some issue was raised: 422 (the rest was processed).
    Issues,
    /// The host does not exist and may not be created: 404, nothing processed.
    UnknownHost,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub status: Status,
    pub body: Envelope,
    pub commands: Vec<String>,
    /// Hosts whose object file must be (re)written (`objects_dir`): marked for the writer
    /// once the session is committed, so that it reads what the request stored.
    pub objects: std::collections::BTreeSet<String>,
}

#[cfg(test)]
impl Outcome {
    /// The answer as JSON, for tests to read its keys.
    pub fn answer(&self) -> Value {
        self.body.clone().into_value()
    }
}

/// A store failure part-way, and the commands built before it (a store that is not atomic
/// has applied what came before: those commands are still sent, as the original did).
#[derive(Debug)]
pub struct Failure {
    pub error: StoreError,
    pub commands: Vec<String>,
}

/// Why an element's commands are held back instead of sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hold {
    /// Backend mode, host created by this request: the backend makes the arbiter reload.
    Backend,
    /// `objects_dir`: the core does not have the element yet; the module writes it and sends
    /// its last livestate once the core has loaded it.
    UntilLoaded,
}

/// What the steps of one element (host or service) accumulate.
struct Work<'a> {
    config: &'a WsConfig,
    objects: Option<&'a dyn CoreCatalog>,
    now: i64,
    result: Vec<String>,
    issues: Vec<String>,
    commands: Vec<String>,
    /// Hosts whose object file must be written (`objects_dir`), once the session committed.
    to_write: std::collections::BTreeSet<String>,
}

impl Work<'_> {
    fn stamp(&self, line: String) -> String {
        livestate::prefix(None, self.config.set_timestamp, self.now) + &line
    }

    /// With a backend, a host created by this very request is not known to Alignak until
    /// the backend makes the arbiter reload (the original's rule): its commands are held
    /// back. The embedded store is only the module's memory: a host new to it is most often
    /// one the core already monitors, so everything is sent.
    fn held_back(&self, host_created: bool) -> bool {
        host_created && self.config.alignak_backend.is_some()
    }

    /// Whether the element's commands are held, and why; an element the core lacks is
    /// marked for writing.
    fn hold(&mut self, host_created: bool, host: &str, service: Option<&str>) -> Option<Hold> {
        if self.held_back(host_created) {
            return Some(Hold::Backend);
        }
        let objects = self.objects?;
        let in_core = match service {
            None => objects.core_knows_host(host),
            Some(service) => objects.core_knows_service(host, service),
        };
        if in_core {
            return None;
        }
        self.to_write.insert(host.to_string());
        Some(Hold::UntilLoaded)
    }

    /// A check toggle (upstream-spec §6.3): a command only when the value changes, and none
    /// when `silent` (a host held back, see `held_back`).
    #[allow(clippy::too_many_arguments)]
    fn toggle(
        &mut self,
        requested: Option<bool>,
        current: bool,
        update: &mut Option<bool>,
        slot: &mut Option<bool>,
        target: Target,
        what: &str,
        commands: (&str, &str),
        silent: bool,
    ) {
        let Some(wanted) = requested else { return };
        update.get_or_insert(false);
        if wanted == current {
            return;
        }
        *update = Some(true);
        *slot = Some(wanted);
        if silent {
            return;
        }
        let (verb, command) = if wanted {
            ("enabled", commands.0)
        } else {
            ("disabled", commands.1)
        };
        let (label, args) = match target {
            Target::Host(host) => (format!("Host {host}"), host.to_string()),
            Target::Service { host, service } => (
                format!("Service {host}/{service}"),
                format!("{host};{service}"),
            ),
        };
        self.result
            .push(format!("{label} {what} checks will be {verb}."));
        let line = self.stamp(format!("{command};{args}"));
        self.result.push(format!("Sent external command: {line}."));
        self.commands.push(line);
    }

    /// The element's livestates: each valid one gives a command line (unless held back, see
    /// `held_back`: then the answer says the result is kept, never a line that is not sent),
    /// a `check.result` history entry, and the last one the stored state.
    fn livestates(
        &mut self,
        session: &mut dyn Session,
        (host, service): (&Element, Option<&Element>),
        livestates: &[LivestateIn],
        patch: &mut ElementPatch,
        hold: Option<Hold>,
    ) -> Result<(), StoreError> {
        let target = match service {
            None => Target::Host(&host.name),
            Some(service) => Target::Service {
                host: &host.name,
                service: &service.name,
            },
        };
        for ls in livestates {
            let (state, code) = match livestate::state_of(target, ls) {
                Ok(found) => found,
                Err(issue) => {
                    self.issues.push(issue);
                    continue;
                }
            };
            let line =
                livestate::command_line(target, code, ls, self.config.set_timestamp, self.now);
            let element = || match target {
                Target::Host(host) => host.to_string(),
                Target::Service { host, service } => format!("{host}/{service}"),
            };
            match hold {
                None => {
                    self.commands.push(line.clone());
                    self.result.push(line);
                }
                Some(Hold::Backend) => self.result.push(format!(
                    "Livestate of {} kept in the backend, not sent: Alignak does not know the host yet.",
                    element()
                )),
                Some(Hold::UntilLoaded) => self.result.push(format!(
                    "Livestate of {} held: the core does not have it yet; it is sent once the core has loaded the objects written for it.",
                    element()
                )),
            }
            let last = livestate::last_state(state, code, ls, self.now);
            session.record_check(&CheckRecord {
                host,
                service,
                last: &last,
                timestamp: ls.timestamp,
            })?;
            patch.livestate = Some(last);
        }
        Ok(())
    }

    fn variables(
        &mut self,
        target: Target,
        element: &Element,
        variables: Option<&Map<String, Value>>,
        update: &mut Option<bool>,
        patch: &mut ElementPatch,
    ) {
        let Some(variables) = variables else { return };
        update.get_or_insert(false);
        let (merged, changed) = customs::merge(&element.customs, variables);
        if changed {
            // With a backend, the backend is the core's configuration (the original's rule):
            // nothing is sent. The embedded store is only the module's memory.
            if self.config.alignak_backend.is_none() {
                self.send_variables(target, element, &merged, variables);
            }
            *update = Some(true);
            patch.customs = Some(merged);
        }
    }

    /// With `objects_dir`: a variable of an object the module writes goes into its file (the
    /// core has it after the next reload); a command is then sent only if the core's object
    /// has the variable already, as the core changes no other. Returns whether to send it.
    fn core_variable(
        &mut self,
        objects: &dyn CoreCatalog,
        (host, service): (&str, Option<&str>),
        name: &str,
        label: &str,
        after: Option<&Value>,
    ) -> bool {
        let in_core = match service {
            None => objects.core_knows_host(host),
            Some(service) => objects.core_knows_service(host, service),
        };
        let ours = !in_core || objects.written(host, service);
        if ours {
            self.to_write.insert(host.to_string());
            self.result.push(match after {
                Some(_) => format!(
                    "Custom variable {name} of {label} written to its object file: the core has it after the next reload."
                ),
                None => format!(
                    "Custom variable {name} of {label} deleted from its object file: the core drops it at the next reload."
                ),
            });
        }
        let core_has = in_core && objects.core_has_variable(host, service, name);
        if !core_has && !ours && after.is_some() {
            self.result.push(format!(
                "Custom variable {name} of {label} kept here only: the core's object has no such variable, and the core defines it in its own files."
            ));
        }
        // A deletion the module cannot write is answered as without objects_dir.
        (core_has && after.is_some()) || (!ours && after.is_none())
    }

    /// One `CHANGE_CUSTOM_*_VAR` per variable whose value changed; the core cannot delete a
    /// variable nor take a value with a line break: the answer says so.
    fn send_variables(
        &mut self,
        target: Target,
        element: &Element,
        merged: &Map<String, Value>,
        variables: &Map<String, Value>,
    ) {
        let (command, args, label) = match target {
            Target::Host(host) => ("CHANGE_CUSTOM_HOST_VAR", host.to_string(), host.to_string()),
            Target::Service { host, service } => (
                "CHANGE_CUSTOM_SVC_VAR",
                format!("{host};{service}"),
                format!("{host}/{service}"),
            ),
        };
        let (host, service) = match target {
            Target::Host(host) => (host, None),
            Target::Service { host, service } => (host, Some(service)),
        };
        for key in variables.keys() {
            let name = customs::custom_name(key);
            let after = merged.get(&name);
            if element.customs.get(&name) == after {
                continue;
            }
            if let Some(objects) = self.objects {
                if !self.core_variable(objects, (host, service), &name, &label, after) {
                    continue;
                }
            }
            let Some(value) = after else {
                self.result.push(format!(
                    "Custom variable {name} of {label} deleted here only: the core cannot delete a custom variable."
                ));
                continue;
            };
            let Some(text) = core_vars::value_text(value) else {
                self.result.push(format!(
                    "Custom variable {name} of {label} kept here only: a command cannot carry a line break."
                ));
                continue;
            };
            let variable = self.config.core.variable_name(&name);
            let line = self.stamp(format!("{command};{args};{variable};{text}"));
            self.result.push(format!("Sent external command: {line}."));
            self.commands.push(line);
        }
    }
}

pub fn update_host(
    session: &mut dyn Session,
    config: &WsConfig,
    objects: Option<&dyn CoreCatalog>,
    request: &HostRequest,
    now: i64,
) -> Result<Outcome, Failure> {
    let name = request.host.name.clone().unwrap_or_default();
    let mut work = Work {
        config,
        objects,
        now,
        result: vec![format!("{name} is alive :)")],
        issues: Vec::new(),
        commands: Vec::new(),
        to_write: Default::default(),
    };
    update(session, &mut work, request, &name).map_err(|error| Failure {
        error,
        commands: std::mem::take(&mut work.commands),
    })
}

fn update(
    session: &mut dyn Session,
    work: &mut Work,
    request: &HostRequest,
    name: &str,
) -> Result<Outcome, StoreError> {
    let config = work.config;
    let (host, created) = match session.host(name)? {
        Some(host) => (host, false),
        None if !config.allow_host_creation => {
            return Ok(unknown_host(config, name, std::mem::take(&mut work.result)))
        }
        None => {
            work.result
                .push(format!("Requested host '{name}' does not exist."));
            match session.create_from_template(
                Kind::Host,
                None,
                name,
                request.host.template.as_ref(),
                config.realm_case,
            ) {
                Ok(host) => {
                    work.result
                        .push(format!("Requested host '{name}' created."));
                    (host, true)
                }
                Err(StoreError::Refused(why)) => match session.host(name)? {
                    // Created meanwhile by another request or gateway: an update of it,
                    // answered as if it had existed.
                    Some(host) => {
                        log::info!("host '{name}' created meanwhile elsewhere: updated ({why})");
                        work.result.pop();
                        (host, false)
                    }
                    None => {
                        log::warn!("host '{name}' not created: {why}");
                        work.issues
                            .push(format!("Requested host '{name}' creation failed."));
                        return Ok(creation_failed(work));
                    }
                },
                Err(err) => return Err(err),
            }
        }
    };

    let mut update = None;
    let mut patch = ElementPatch::default();
    let h = &request.host;
    let hold = work.hold(created, name, None);
    let held = hold.is_some();
    work.toggle(
        h.active_checks_enabled,
        host.active_checks_enabled,
        &mut update,
        &mut patch.active_checks_enabled,
        Target::Host(name),
        "active",
        ("ENABLE_HOST_CHECK", "DISABLE_HOST_CHECK"),
        held,
    );
    work.toggle(
        h.passive_checks_enabled,
        host.passive_checks_enabled,
        &mut update,
        &mut patch.passive_checks_enabled,
        Target::Host(name),
        "passive",
        ("ENABLE_PASSIVE_HOST_CHECKS", "DISABLE_PASSIVE_HOST_CHECKS"),
        held,
    );
    if let Some(wanted) = h.check_freshness {
        // Alignak has no command for it: the store only.
        update.get_or_insert(false);
        if wanted != host.check_freshness {
            update = Some(true);
            patch.check_freshness = Some(wanted);
        }
    }
    work.variables(
        Target::Host(name),
        &host,
        h.variables.as_ref(),
        &mut update,
        &mut patch,
    );
    work.livestates(session, (&host, None), &h.livestates, &mut patch, hold)?;
    // The original (v1.5+): a livestate is an update of a host created by this request, and
    // of any host when the store writes livestates as updates (`livestate_update`).
    if (created || session.livestate_is_update()) && patch.livestate.is_some() {
        update = Some(true);
    }

    let mut services_feedback = Vec::new();
    if let Some(services) = &request.services {
        for service in services {
            let Some(service_name) = service.name.as_deref() else {
                work.issues
                    .push("A service does not have a 'name' property".into());
                continue;
            };
            if let Some(fb) = update_service(session, work, &host, created, service_name, service)?
            {
                services_feedback.push(Value::Object(fb));
            }
        }
    }

    match update {
        None => {}
        Some(false) => work.result.push(format!("Host '{name}' unchanged.")),
        Some(true) => work.result.push(format!("Host '{name}' updated.")),
    }
    session.update(Kind::Host, host.id, &patch)?;

    let with_feedback = config.give_feedback >= 1;
    let (status, body) = if work.issues.is_empty() {
        let mut body = Envelope::ok();
        if config.give_result {
            body = body.lines(std::mem::take(&mut work.result));
        }
        if with_feedback {
            let stored = session.host(name)?.unwrap_or(host);
            let mut fb = feedback(&stored, &config.feedback_host);
            if !services_feedback.is_empty() {
                fb.insert("services".into(), Value::Array(services_feedback));
            }
            body = body.with("_feedback", fb);
        }
        (Status::Ok, body)
    } else {
        let mut body = Envelope::err()
            .lines(std::mem::take(&mut work.result))
            .issues(std::mem::take(&mut work.issues));
        if with_feedback && request.services.is_some() {
            let mut fb = Map::new();
            if !services_feedback.is_empty() {
                fb.insert("services".into(), Value::Array(services_feedback));
            }
            body = body.with("_feedback", fb);
        }
        (Status::Issues, body)
    };
    Ok(Outcome {
        status,
        body,
        commands: std::mem::take(&mut work.commands),
        objects: std::mem::take(&mut work.to_write),
    })
}

/// The store refused to create the host: nothing else is done.
fn creation_failed(work: &mut Work) -> Outcome {
    let body = Envelope::err()
        .lines(std::mem::take(&mut work.result))
        .issues(std::mem::take(&mut work.issues));
    Outcome {
        status: Status::Issues,
        body,
        commands: Vec::new(),
        objects: Default::default(),
    }
}

/// The host is unknown and creation is off: 404 (or, with `ignore_unknown_host`, an OK that
/// says so, as the original answered).
fn unknown_host(config: &WsConfig, name: &str, result: Vec<String>) -> Outcome {
    let (status, body) = if config.ignore_unknown_host {
        (
            Status::Ok,
            Envelope::ok()
                .lines(vec![format!("Requested host '{name}' does not exist")])
                .issues(Vec::new()),
        )
    } else {
        (
            Status::UnknownHost,
            Envelope::err().lines(result).issue(format!(
                "Requested host '{name}' does not exist. Note that host creation is not allowed."
            )),
        )
    };
    Outcome {
        status,
        body,
        commands: Vec::new(),
        objects: Default::default(),
    }
}

/// `host/service`, as the answers name a service: written where it is used, so that a
/// service whose answer does not name it costs no string.
#[derive(Clone, Copy)]
struct FullName<'a>(&'a str, &'a str);

impl std::fmt::Display for FullName<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.0, self.1)
    }
}

/// One service of the request (upstream-spec §5.2, §5.4). Returns its feedback when it had
/// no issue and `give_feedback` is 2.
fn update_service(
    session: &mut dyn Session,
    work: &mut Work,
    host: &Element,
    host_created: bool,
    name: &str,
    request: &ElementRequest,
) -> Result<Option<Map<String, Value>>, StoreError> {
    let config = work.config;
    let full = FullName(&host.name, name);
    let issues_before = work.issues.len();
    let service = match session.service(host.id, name)? {
        Some(service) => service,
        None if config.allow_service_creation => {
            work.result
                .push(format!("Requested service '{full}' does not exist."));
            match session.create_from_template(
                Kind::Service,
                Some(host),
                name,
                request.template.as_ref(),
                config.realm_case,
            ) {
                Ok(service) => {
                    work.result
                        .push(format!("Requested service '{full}' created."));
                    service
                }
                Err(StoreError::Refused(why)) => match session.service(host.id, name)? {
                    Some(service) => {
                        log::info!("service '{full}' created meanwhile elsewhere: updated ({why})");
                        work.result.pop();
                        service
                    }
                    None => {
                        log::warn!("service '{full}' not created: {why}");
                        work.issues
                            .push(format!("Requested service '{full}' creation failed."));
                        return Ok(None);
                    }
                },
                Err(err) => return Err(err),
            }
        }
        None => {
            let message = format!(
                "Requested service '{full}' does not exist. Note that service creation is not allowed."
            );
            if config.ignore_unknown_service {
                work.result.push(message);
            } else {
                work.issues.push(message);
            }
            return Ok(None);
        }
    };

    let mut update = None;
    let mut patch = ElementPatch::default();
    let target = Target::Service {
        host: &host.name,
        service: name,
    };
    let hold = work.hold(host_created, &host.name, Some(name));
    let held = hold.is_some();
    work.toggle(
        request.active_checks_enabled,
        service.active_checks_enabled,
        &mut update,
        &mut patch.active_checks_enabled,
        target,
        "active",
        ("ENABLE_SVC_CHECK", "DISABLE_SVC_CHECK"),
        held,
    );
    work.toggle(
        request.passive_checks_enabled,
        service.passive_checks_enabled,
        &mut update,
        &mut patch.passive_checks_enabled,
        target,
        "passive",
        ("ENABLE_PASSIVE_SVC_CHECKS", "DISABLE_PASSIVE_SVC_CHECKS"),
        held,
    );
    if let Some(wanted) = request.check_freshness {
        update.get_or_insert(false);
        if wanted != service.check_freshness {
            update = Some(true);
            patch.check_freshness = Some(wanted);
        }
    }
    work.variables(
        target,
        &service,
        request.variables.as_ref(),
        &mut update,
        &mut patch,
    );
    work.livestates(
        session,
        (host, Some(&service)),
        &request.livestates,
        &mut patch,
        hold,
    )?;
    // The original (v1.5+): a livestate forces an update for the services of a host created
    // by this request (their state goes to the store instead of a command), and for any
    // service when the store writes livestates as updates.
    if (host_created || session.livestate_is_update()) && patch.livestate.is_some() {
        update = Some(true);
    }
    match update {
        None => {}
        // No final period on "updated": the original's text.
        Some(false) => work.result.push(format!("Service '{full}' unchanged.")),
        Some(true) => work.result.push(format!("Service '{full}' updated")),
    }
    session.update(Kind::Service, service.id, &patch)?;

    if work.issues.len() > issues_before || config.give_feedback < 2 {
        return Ok(None);
    }
    let stored = session.service(host.id, name)?.unwrap_or(service);
    Ok(Some(feedback(&stored, &config.feedback_service)))
}

#[cfg(test)]
#[path = "update_tests.rs"]
mod tests;
