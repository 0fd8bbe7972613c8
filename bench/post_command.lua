-- POST /command with one global command (the original's baseline case a).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"command":"disable_notifications"}'
