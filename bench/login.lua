-- Login storm: every connection logs the seeded bench users in, in turn.
-- Usage: wrk -s bench/login.lua http://host:port
local n = 0
request = function()
  n = n + 1
  local user = 2 + (n % 32)
  local body = string.format('{"login": "bench_%d", "password": "bench-Passw0rd"}', user)
  return wrk.format("POST", "/api/v1/auth/login", { ["Content-Type"] = "application/json" }, body)
end
