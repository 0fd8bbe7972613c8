// Over 400 lines, earned: one writer cycle (write, verify, reload, revert on refusal) is one transaction over files and the core, and its steps only make sense together.
//! The writer thread: at most once per `reload_period`, writes the pending hosts' files,
//! verifies, takes a refused change back out, reloads; then, once the core's object cache
//! names an element that was held, sends its last livestate from the store.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;

use super::{host_path, known, lock, refused_dir, CoreObjects};
use crate::auth::Caller;
use crate::hosts::livestate::{self, LivestateIn, Target};
use crate::queue::CommandQueue;
use crate::store::model::Element;
use crate::store::{Store, StoreError};

/// An element the core did not have when its file was written: `(host, service)`.
type Held = (String, Option<String>);

/// One host file about to change.
struct Change {
    host: String,
    path: PathBuf,
    old: Option<String>,
    new: String,
    held: Vec<Held>,
    /// The file holds something the core's loaded objects lack: an element or a variable.
    /// A changed value of a variable the core has went as a command; the file only keeps
    /// it for the next start, without a reload (which resets states without retention).
    needs_reload: bool,
}

pub fn run(objects: &CoreObjects, store: &dyn Store, queue: &CommandQueue, set_timestamp: bool) {
    let period = Duration::from_secs(objects.config.reload_period_secs);
    let mut last_cycle: Option<Instant> = None;
    let mut awaiting: BTreeSet<Held> = BTreeSet::new();
    loop {
        {
            let state = lock(&objects.state);
            let (state, _) = objects
                .wake
                .wait_timeout(state, Duration::from_millis(500))
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if state.stopping {
                return;
            }
        }
        if !awaiting.is_empty() {
            send_loaded(objects, store, queue, set_timestamp, &mut awaiting);
        }
        let due = last_cycle.is_none_or(|t| t.elapsed() >= period);
        if due && !lock(&objects.state).pending.is_empty() {
            last_cycle = Some(Instant::now());
            awaiting.extend(cycle(objects, store));
            lock(&objects.state).awaiting = awaiting.iter().map(|(h, _)| h.clone()).collect();
        }
    }
}

/// Writes, verifies and reloads the pending hosts; returns the elements now awaiting the
/// core's reload.
fn cycle(objects: &CoreObjects, store: &dyn Store) -> Vec<Held> {
    let hosts = std::mem::take(&mut lock(&objects.state).pending);
    let started = Instant::now();
    let core = objects.known(Clone::clone);
    let mut changes = Vec::new();
    for host in hosts {
        match prepare(objects, store, &core, &host) {
            Ok(Some(change)) => changes.push(change),
            Ok(None) => {}
            Err(err) => {
                log::warn!("objects: host '{host}' not written, tried again later: {err}");
                lock(&objects.state).pending.insert(host);
            }
        }
    }
    if changes.is_empty() {
        return Vec::new();
    }
    let mut kept: Vec<Change> = Vec::new();
    if apply_all(&changes) && verify(objects).is_ok() {
        kept = changes;
    } else {
        // One at a time: a bad change is kept out, the others go in.
        revert_all(&changes);
        for change in changes {
            if !apply(&change) {
                continue;
            }
            match verify(objects) {
                Ok(()) => kept.push(change),
                Err(output) => refuse(objects, &change, &output),
            }
        }
    }
    if kept.is_empty() {
        return Vec::new();
    }
    let names: Vec<&str> = kept.iter().map(|c| c.host.as_str()).collect();
    log::info!(
        "objects: {} host file(s) written and verified in {} ms: {}",
        kept.len(),
        started.elapsed().as_millis(),
        names.join(", ")
    );
    if kept.iter().any(|c| c.needs_reload) {
        reload(objects, &names);
    }
    kept.into_iter().flat_map(|c| c.held).collect()
}

/// What the host's file must now hold: the host when the module writes it (it wrote it
/// before, or the core lacks it), and the services the core lacks or the module wrote.
fn prepare(
    objects: &CoreObjects,
    store: &dyn Store,
    core: &known::Known,
    host: &str,
) -> Result<Option<Change>, StoreError> {
    let mut found: Option<(Element, Vec<Element>)> = None;
    store.read(&Caller::default(), &mut |session| {
        found = match session.host(host)? {
            Some(element) => {
                let services = session.services(element.id)?;
                Some((element, services))
            }
            None => None,
        };
        Ok(())
    })?;
    let Some((element, services)) = found else {
        return Ok(None);
    };
    let path = host_path(&objects.config.dir, host);
    let old = std::fs::read_to_string(&path).ok();
    let written = if old.is_some() {
        known::read(&path)
    } else {
        known::Known::default()
    };
    let mut held = Vec::new();
    let write_host = written.host(host) || !core.host(host);
    if write_host && !core.host(host) {
        held.push((host.to_string(), None));
    }
    let mut written_services = Vec::new();
    for service in &services {
        let in_core = core.service(host, &service.name);
        if written.service(host, &service.name) || !in_core {
            written_services.push(service);
            if !in_core {
                held.push((host.to_string(), Some(service.name.clone())));
            }
        }
    }
    if !write_host && written_services.is_empty() {
        return Ok(None);
    }
    let new = super::render::host_file(
        &objects.config,
        objects.core,
        &element,
        write_host,
        &written_services,
    );
    if old.as_deref() == Some(new.as_str()) {
        return Ok(None);
    }
    let needs_reload = !held.is_empty() || !covered(&known::parse(&new), core);
    Ok(Some(Change {
        host: host.to_string(),
        path,
        old,
        new,
        held,
        needs_reload,
    }))
}

/// Whether the core has every element of `file` with every one of its variables.
fn covered(file: &known::Known, core: &known::Known) -> bool {
    let hosts = file.hosts.iter().all(|(host, variables)| {
        core.hosts
            .get(host)
            .is_some_and(|loaded| variables.is_subset(loaded))
    });
    hosts
        && file.services.iter().all(|(key, variables)| {
            core.services
                .get(key)
                .is_some_and(|loaded| variables.is_subset(loaded))
        })
}

/// Temp file then rename: the core never reads half a file. The temp name does not end in
/// `.cfg`, so a core reading the folder meanwhile skips it.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = path.with_file_name(format!(".{name}.tmp"));
    {
        use std::io::Write;
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
    }
    std::fs::rename(&temp, path)
}

fn apply(change: &Change) -> bool {
    match write_atomically(&change.path, &change.new) {
        Ok(()) => true,
        Err(err) => {
            log::error!("objects: cannot write {}: {err}", change.path.display());
            false
        }
    }
}

fn apply_all(changes: &[Change]) -> bool {
    changes.iter().all(apply)
}

fn revert(change: &Change) {
    let done = match &change.old {
        Some(old) => write_atomically(&change.path, old),
        None => match std::fs::remove_file(&change.path) {
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
            other => other,
        },
    };
    if let Err(err) = done {
        log::error!("objects: cannot take back {}: {err}", change.path.display());
    }
}

fn revert_all(changes: &[Change]) {
    changes.iter().for_each(revert);
}

/// The verifier's answer: `Err` with its output when it refused (or could not run).
fn verify(objects: &CoreObjects) -> Result<(), String> {
    let Some(command) = &objects.config.verify_command else {
        return Ok(());
    };
    let started = Instant::now();
    let outcome = shell(command);
    log::debug!(
        "objects: verify_command took {} ms",
        started.elapsed().as_millis()
    );
    outcome
}

/// Runs an admin's command (`/bin/sh -c`, from the configuration only); `Err` holds the end
/// of its output when it failed.
fn shell(command: &str) -> Result<(), String> {
    match Command::new("/bin/sh").arg("-c").arg(command).output() {
        Ok(output) if output.status.success() => Ok(()),
        Ok(output) => {
            let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
            text.push_str(&String::from_utf8_lossy(&output.stderr));
            Err(format!("{} ({})", tail(&text), output.status))
        }
        Err(err) => Err(format!("cannot run '{command}': {err}")),
    }
}

/// The last lines of a command's output: where Nagios says what it refused.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(12);
    lines[start..].join("\n")
}

/// Takes a refused change back out and keeps it aside for the admin.
fn refuse(objects: &CoreObjects, change: &Change, output: &str) {
    revert(change);
    let file_name = change
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let aside = refused_dir(&objects.config.dir).join(format!("{file_name}.refused"));
    if let Err(err) = write_atomically(&aside, &change.new) {
        log::error!("objects: cannot keep {}: {err}", aside.display());
    }
    log::error!(
        "objects: the core refused the objects of host '{}'; kept aside in {} and not loaded. The verifier said:\n{output}",
        change.host,
        aside.display()
    );
    lock(&objects.state).report.last_refused = Some(json!({
        "host": change.host,
        "at": crate::store::now(),
        "verifier": output,
    }));
}

fn reload(objects: &CoreObjects, hosts: &[&str]) {
    let Some(command) = &objects.config.reload_command else {
        log::warn!(
            "objects: written for {}; no reload_command: the core loads them at its next reload",
            hosts.join(", ")
        );
        return;
    };
    let started = Instant::now();
    let outcome = shell(command);
    let elapsed = started.elapsed().as_millis();
    match &outcome {
        Ok(()) => log::info!("objects: core reloaded in {elapsed} ms ({command})"),
        Err(output) => log::error!("objects: reload_command failed: {output}"),
    }
    lock(&objects.state).report.last_reload = Some(json!({
        "at": crate::store::now(),
        "ok": outcome.is_ok(),
        "hosts": hosts,
        "output": outcome.err(),
    }));
}

/// The held elements the core's cache now names: their last livestates go to the core.
fn send_loaded(
    objects: &CoreObjects,
    store: &dyn Store,
    queue: &CommandQueue,
    set_timestamp: bool,
    awaiting: &mut BTreeSet<Held>,
) {
    let loaded: Vec<Held> = objects.known(|core| {
        awaiting
            .iter()
            .filter(|(host, service)| match service {
                None => core.host(host),
                Some(service) => core.service(host, service),
            })
            .cloned()
            .collect()
    });
    if loaded.is_empty() {
        return;
    }
    let mut lines = Vec::new();
    let now = crate::store::now();
    let read = store.read(&Caller::default(), &mut |session| {
        for (host, service) in &loaded {
            let Some(host_element) = session.host(host)? else {
                continue;
            };
            let element = match service {
                None => Some(host_element),
                Some(service) => session.service(host_element.id, service)?,
            };
            let Some(last) = element.and_then(|e| e.livestate) else {
                continue;
            };
            let target = match service {
                None => Target::Host(host),
                Some(service) => Target::Service { host, service },
            };
            let ls = LivestateIn {
                state: Some(last.state.clone()),
                output: last.output.clone(),
                long_output: last.long_output.clone(),
                perf_data: last.perf_data.clone(),
                timestamp: Some(last.last_check),
            };
            lines.push(livestate::command_line(
                target,
                last.state_id,
                &ls,
                set_timestamp,
                now,
            ));
        }
        Ok(())
    });
    if let Err(err) = read {
        log::warn!("objects: held results not read, tried again: {err}");
        return;
    }
    for element in &loaded {
        awaiting.remove(element);
    }
    log::info!(
        "objects: the core loaded {} held element(s); {} last result(s) sent",
        loaded.len(),
        lines.len()
    );
    if !lines.is_empty() {
        let commands = lines
            .into_iter()
            .map(alignak_module_abi::ExternalCommand::now)
            .collect();
        queue.enqueue(
            commands,
            Box::new(|pushed| {
                if let Err(err) = pushed {
                    log::error!(
                        "objects: held results refused by the daemon: {}",
                        err.message
                    );
                }
            }),
        );
    }
}
