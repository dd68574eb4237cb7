-- wrk script: POST /api/auth/login with the body read from the file named by the first argument (the
-- bench writes it, mode 0600, with the password of the user it created for the run).
local body

function init(args)
  local f = assert(io.open(args[1], "r"))
  body = f:read("*a")
  f:close()
end

function request()
  return wrk.format("POST", "/api/auth/login", { ["Content-Type"] = "application/json" }, body)
end
