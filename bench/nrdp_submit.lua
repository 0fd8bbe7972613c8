-- POST /nrdp/: one NRDP submitcheck form (cmd, token, XMLDATA) of 20 service results, as NCPA
-- sends it.
local function urlencode(s)
  return (s:gsub("[^%w%-_%.~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end
local xml = { "<?xml version='1.0'?><checkresults>" }
for i = 1, 20 do
  xml[#xml + 1] = string.format(
    "<checkresult type='service'><hostname>test_host</hostname><servicename>svc%d</servicename>" ..
    "<state>%d</state><output>bench result %d|value=%d</output></checkresult>", i, i % 4, i, i)
end
xml[#xml + 1] = "</checkresults>"
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "cmd=submitcheck&token=bench-token&XMLDATA=" .. urlencode(table.concat(xml))
