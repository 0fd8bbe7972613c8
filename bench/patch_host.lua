-- PATCH /host/test_host: a host livestate and two service livestates (baseline case b).
wrk.method = "PATCH"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"livestate":{"state":"UP","output":"Output...","long_output":"Long output...","perf_data":"\'counter\'=1"},"services":[{"name":"svc1","livestate":{"state":"OK","output":"ok","perf_data":"\'a\'=1"}},{"name":"svc2","livestate":{"state":"CRITICAL","output":"bad","long_output":"details"}}]}'
