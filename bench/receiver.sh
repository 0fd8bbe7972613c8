# Sourced by bench/run.sh and bench/instructions.sh: the one receiver configuration both measure,
# so that a rate and an instruction count are of the same daemon.
#
#   bench_config DIR PORT AUTHORIZATION(0|1) METRICS(0|1) [MODULES_DIR]
#
# writes DIR/alignak.cfg (command file, spool and users file in DIR) and, with AUTHORIZATION 1,
# DIR/users.htpasswd holding `bench:bench password` (htpasswd -B: needs apache2-utils).
BENCH_USER='bench'
BENCH_PASSWORD='bench password'
bench_config() {
  local dir=$1 port=$2 authorization=$3 metrics=$4 modules_dir=${5:-}
  if [ "$authorization" = 1 ]; then
    htpasswd -cbB "$dir/users.htpasswd" "$BENCH_USER" "$BENCH_PASSWORD" 2>/dev/null
  fi
  cat > "$dir/alignak.cfg" <<CFG
define receiver {
    receiver_name bench
    ${modules_dir:+modules_dir $modules_dir}
    modules web-services
    command_file $dir/commands.cmd
    create_command_file 1
    spool_dir $dir/spool
}
define module {
    module_alias web-services
    python_name alignak_module_ws
    host 127.0.0.1
    port $port
    authorization $authorization
    metrics $metrics
    users_file $dir/users.htpasswd
    log_level WARNING
    # As the original's baseline (../shared/peers/python-baseline.md): the PATCH case creates
    # test_host and its services on its first request, then updates them.
    allow_host_creation 1
    allow_service_creation 1
    give_result 1
    give_feedback 0
    set_timestamp 0
    alignak_host
}
CFG
}
