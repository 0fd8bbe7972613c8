// Over 400 lines, earned: the real Nagios 4 the end-to-end tests run (its configuration, start, object files, command file and checks), in one harness.
//! A throwaway Nagios 4 (Debian's `nagios4-core`) in a temporary directory: its own
//! configuration, command FIFO, status.dat and log, started as a daemon and stopped on drop.
//! Passive-only objects: hosts `test_host` and `host2`, services `svc1` and `svc2` on
//! `test_host` (which has the custom variable `_ROOM 101`); `max_check_attempts 1`, so passive results are HARD at once; notifications,
//! freshness and flap detection off; `status.dat` rewritten every second.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use tempfile::TempDir;

const BINARY: &str = "nagios4";

pub struct Nagios {
    pub dir: TempDir,
    pub command_fifo: PathBuf,
    pub status_file: PathBuf,
    pub log_file: PathBuf,
    /// `etc/nagios.cfg`, for `nagios4 -v`.
    pub config_file: PathBuf,
    /// `object_cache_file`: rewritten at each start and each reload.
    pub object_cache: PathBuf,
    /// The lock file: the daemon's pid, for `kill -HUP`.
    pub pid_file: PathBuf,
    /// `cfg_dir=` (`start_with_cfg_dir`): every `*.cfg` below it is read.
    pub cfg_dir: Option<PathBuf>,
    pid: i32,
}

/// One `type { key=value ... }` block of status.dat.
#[derive(Debug, Clone)]
pub struct StatusBlock {
    pub kind: String,
    pub fields: HashMap<String, String>,
}

impl StatusBlock {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields.get(key).map(String::as_str)
    }
}

fn installed() -> bool {
    Command::new(BINARY).arg("--version").output().is_ok()
}

fn user_and_group() -> (String, String) {
    let run = |args: &[&str]| {
        Command::new("id")
            .args(args)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_else(|_| "root".into())
    };
    (run(&["-un"]), run(&["-gn"]))
}

impl Nagios {
    /// Starts an instance. Without `nagios4` installed: `None` with a notice, so that
    /// `cargo test` works on a machine without it; under CI (`CI` set) that is a failure,
    /// since `.ci/run` installs it.
    pub fn start() -> Option<Nagios> {
        Nagios::start_with(false)
    }

    /// An instance that also reads `<dir>/objects` as `cfg_dir=` (Debian's `conf.d`).
    pub fn start_with_cfg_dir() -> Option<Nagios> {
        Nagios::start_with(true)
    }

    fn start_with(cfg_dir: bool) -> Option<Nagios> {
        if !installed() {
            crate::skip_or_fail_under_ci(
                "nagios4 is not installed: .ci/run must apt-get install nagios4-core",
                "nagios4 is not installed (apt-get install --no-install-recommends nagios4-core)",
            );
            return None;
        }
        let dir = crate::temp_dir("alignak-nagios-");
        // Nagios needs absolute paths: its daemon mode changes to /.
        let root = fs::canonicalize(dir.path()).expect("canonical path");
        for sub in [
            "etc",
            "rw",
            "var",
            "var/archives",
            "var/spool/checkresults",
            "tmp",
            "objects",
        ] {
            fs::create_dir_all(root.join(sub)).expect("mkdir");
        }
        let (user, group) = user_and_group();
        let path = |p: &str| root.join(p).display().to_string();
        let cfg_dir = cfg_dir.then(|| root.join("objects"));
        let config = format!(
            "{cfg_dir_line}cfg_file={objects}\n\
             resource_file={resource}\n\
             nagios_user={user}\nnagios_group={group}\n\
             lock_file={lock}\ntemp_file={tmp}\ntemp_path={tmpdir}\n\
             object_cache_file={ocache}\nprecached_object_file={pcache}\n\
             check_result_path={results}\nquery_socket={qh}\n\
             check_external_commands=1\ncommand_file={fifo}\n\
             status_file={status}\nstatus_update_interval=1\n\
             log_file={log}\nlog_rotation_method=n\nlog_archive_path={archives}\nuse_syslog=0\n\
             log_notifications=1\nlog_external_commands=1\nlog_passive_checks=1\n\
             log_initial_states=0\nlog_current_states=0\n\
             retain_state_information={retain}\nuse_retained_program_state=0\n\
             use_retained_scheduling_info=0\nstate_retention_file={retention}\n\
             accept_passive_service_checks=1\naccept_passive_host_checks=1\n\
             passive_host_checks_are_soft=0\ntranslate_passive_host_checks=0\n\
             execute_service_checks=1\nexecute_host_checks=1\n\
             check_service_freshness=0\ncheck_host_freshness=0\n\
             enable_notifications=1\nenable_flap_detection=0\nprocess_performance_data=0\n\
             check_for_updates=0\nbare_update_check=0\nenable_environment_macros=0\n\
             interval_length=60\ncheck_result_reaper_frequency=1\n\
             date_format=iso8601\ndaemon_dumps_core=0\nallow_empty_hostgroup_assignment=1\n\
             illegal_object_name_chars=`~!$%^&*|'\"<>?,()=\n\
             debug_level=0\ndebug_file={debug}\n",
            cfg_dir_line = cfg_dir
                .as_ref()
                .map(|d| format!("cfg_dir={}\n", d.display()))
                .unwrap_or_default(),
            // A reload keeps the states only through retention, on as in Debian's nagios.cfg:
            // the instance whose objects the module writes (and reloads) needs it.
            retain = u8::from(cfg_dir.is_some()),
            objects = path("etc/objects.cfg"),
            resource = path("etc/resource.cfg"),
            lock = path("var/nagios.pid"),
            tmp = path("var/nagios.tmp"),
            tmpdir = path("tmp"),
            ocache = path("var/objects.cache"),
            pcache = path("var/objects.precache"),
            results = path("var/spool/checkresults"),
            qh = path("rw/nagios.qh"),
            fifo = path("rw/nagios.cmd"),
            status = path("var/status.dat"),
            log = path("var/nagios.log"),
            archives = path("var/archives"),
            retention = path("var/retention.dat"),
            debug = path("var/nagios.debug"),
        );
        fs::write(root.join("etc/nagios.cfg"), config).expect("write nagios.cfg");
        fs::write(root.join("etc/resource.cfg"), "$USER1$=/bin\n").expect("write resource.cfg");
        fs::write(root.join("etc/objects.cfg"), OBJECTS).expect("write objects.cfg");

        let cfg = root.join("etc/nagios.cfg");
        let mut nagios = Nagios {
            command_fifo: root.join("rw/nagios.cmd"),
            status_file: root.join("var/status.dat"),
            log_file: root.join("var/nagios.log"),
            config_file: cfg,
            object_cache: root.join("var/objects.cache"),
            pid_file: root.join("var/nagios.pid"),
            cfg_dir,
            dir,
            pid: 0,
        };
        nagios.assert_verifies();
        nagios.launch();
        Some(nagios)
    }

    /// Asserts that `nagios4 -v` passes on this instance's configuration (its output in the
    /// failure message).
    pub fn assert_verifies(&self) {
        crate::run_successfully(
            Command::new(BINARY).arg("-v").arg(&self.config_file),
            "nagios4 -v failed",
        );
    }

    /// Whether the daemon started by this harness still runs.
    pub fn running(&self) -> bool {
        // SAFETY: signal 0 only checks that the process exists.
        self.pid != 0 && unsafe { libc::kill(self.pid, 0) } == 0
    }

    /// Stops the daemon and starts it again on the same configuration (a fresh status.dat).
    pub fn restart(&mut self) {
        self.terminate();
        let _ = fs::remove_file(&self.status_file);
        let _ = fs::remove_file(&self.command_fifo);
        self.pid = 0;
        self.launch();
    }

    /// Starts the daemon and waits for its FIFO and status.dat.
    fn launch(&mut self) {
        crate::run_successfully(
            Command::new(BINARY).arg("-d").arg(&self.config_file),
            "nagios4 -d failed",
        );
        crate::wait_for(Duration::from_secs(30), Duration::from_millis(50), || {
            if self.pid == 0 {
                self.pid = fs::read_to_string(&self.pid_file)
                    .ok()
                    .and_then(|p| p.trim().parse().ok())
                    .unwrap_or(0);
            }
            let fifo_ready = is_fifo(&self.command_fifo);
            let status_ready = fs::metadata(&self.status_file).is_ok_and(|m| m.len() > 0);
            if self.pid != 0 && fifo_ready && status_ready {
                return Ok(());
            }
            Err(format!("Nagios did not start:\n{}", self.log()))
        });
    }

    pub fn log(&self) -> String {
        fs::read_to_string(&self.log_file).unwrap_or_default()
    }

    /// status.dat, parsed (it is replaced by a rename, so a read is never torn).
    pub fn status(&self) -> Vec<StatusBlock> {
        parse_status(&fs::read_to_string(&self.status_file).unwrap_or_default())
    }

    /// Waits until `check` holds on a status.dat snapshot; panics with the last one after
    /// `timeout` (status.dat is rewritten every second).
    pub fn wait_status(
        &self,
        timeout: Duration,
        check: impl Fn(&[StatusBlock]) -> bool,
    ) -> Vec<StatusBlock> {
        crate::wait_for(timeout, Duration::from_millis(100), || {
            let status = self.status();
            if check(&status) {
                return Ok(status);
            }
            Err(format!(
                "status.dat never matched; last snapshot: {status:#?}"
            ))
        })
    }

    /// Waits until the log holds `count` lines containing `text`; returns the count seen.
    pub fn wait_log_count(&self, text: &str, count: usize, timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        loop {
            let seen = self.log().matches(text).count();
            if seen >= count || Instant::now() >= deadline {
                return seen;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn is_fifo(path: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    fs::metadata(path).is_ok_and(|m| m.file_type().is_fifo())
}

impl Nagios {
    fn terminate(&mut self) {
        if self.pid == 0 {
            return;
        }
        // SAFETY: signals to the Nagios daemon this harness started.
        unsafe { libc::kill(self.pid, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(15);
        // SAFETY: signal 0 only checks that the process exists.
        while unsafe { libc::kill(self.pid, 0) } == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        unsafe { libc::kill(self.pid, libc::SIGKILL) };
    }
}

impl Drop for Nagios {
    fn drop(&mut self) {
        self.terminate();
    }
}

/// Parses status.dat: `kind {` lines, `key=value` lines, `}`.
pub fn parse_status(text: &str) -> Vec<StatusBlock> {
    let mut blocks = Vec::new();
    let mut current: Option<StatusBlock> = None;
    for line in text.lines() {
        let line = line.trim();
        if let Some(kind) = line.strip_suffix('{') {
            current = Some(StatusBlock {
                kind: kind.trim().to_string(),
                fields: HashMap::new(),
            });
        } else if line == "}" {
            if let Some(block) = current.take() {
                blocks.push(block);
            }
        } else if let (Some(block), Some((k, v))) = (current.as_mut(), line.split_once('=')) {
            block.fields.insert(k.to_string(), v.to_string());
        }
    }
    blocks
}

/// The block of `kind` whose fields match all of `keys`.
pub fn find<'a>(
    status: &'a [StatusBlock],
    kind: &str,
    keys: &[(&str, &str)],
) -> Option<&'a StatusBlock> {
    status
        .iter()
        .find(|b| b.kind == kind && keys.iter().all(|(k, v)| b.get(k) == Some(*v)))
}

/// What the host and service templates share: passive checks only (the API's results are the
/// only checks Nagios sees), no freshness, no flapping, so a state is what the API last sent.
macro_rules! passive_check_settings {
    () => {
        "    check_command check_dummy
    max_check_attempts 1
    check_interval 5
    retry_interval 1
    check_period 24x7
    active_checks_enabled 0
    passive_checks_enabled 1
    check_freshness 0
    flap_detection_enabled 0
    notification_period 24x7
    notification_interval 0
    contacts nagiosadmin
"
    };
}

const OBJECTS: &str = concat!(
    "\
define timeperiod {
    timeperiod_name 24x7
    alias 24x7
    sunday 00:00-24:00
    monday 00:00-24:00
    tuesday 00:00-24:00
    wednesday 00:00-24:00
    thursday 00:00-24:00
    friday 00:00-24:00
    saturday 00:00-24:00
}
define command {
    command_name check_dummy
    command_line $USER1$/echo ACTIVE DUMMY CHECK $HOSTNAME$ $SERVICEDESC$
}
define contact {
    contact_name nagiosadmin
    alias Nagios Admin
    host_notifications_enabled 0
    service_notifications_enabled 0
    host_notification_period 24x7
    service_notification_period 24x7
    host_notification_options n
    service_notification_options n
    host_notification_commands check_dummy
    service_notification_commands check_dummy
}
define host {
    name passive-host
    register 0
",
    passive_check_settings!(),
    "\
}
define host {
    use passive-host
    host_name test_host
    alias test_host
    address 127.0.0.1
    _ROOM 101
}
define host {
    use passive-host
    host_name host2
    alias host2
    address 127.0.0.2
}
define service {
    name passive-service
    register 0
",
    passive_check_settings!(),
    "\
}
define service {
    use passive-service
    host_name test_host
    service_description svc1
}
define service {
    use passive-service
    host_name test_host
    service_description svc2
}
"
);
