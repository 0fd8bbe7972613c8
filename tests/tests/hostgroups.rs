//! `hostgroups_file` end to end: a file that cannot be read stops the daemon. What
//! `GET /hostgroup` answers runs in-process (`module/ws/src/api_tests/hostgroups.rs`).

use alignak_e2e::Setup;

#[test]
fn a_bad_file_stops_the_start() {
    let mut setup = Setup::new().module_param("hostgroups_file", "groups.cfg");
    setup.extra_files.push((
        "groups.cfg".into(),
        "define hostgroup {\n alias x\n}\n".into(),
    ));
    let mut receiver = setup.spawn();
    let status = receiver.wait_exit(std::time::Duration::from_secs(20));
    assert!(!status.success());
    assert!(
        receiver
            .log()
            .contains("a hostgroup needs a hostgroup_name"),
        "{}",
        receiver.log()
    );
}
