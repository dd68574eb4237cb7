-- wrk script: POST /api/auth/refresh with a pool of refresh tokens (a queue with explicit head and
-- tail: Lua's # is undefined on tables with holes). Each token is used once; the rotated token from
-- the answer goes back into the pool, so every request presents a current token.
local pool = {}
local head, tail = 1, 0

function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then
      tail = tail + 1
      pool[tail] = line
    end
  end
end

function request()
  if head > tail then
    -- The pool ran dry (answers without a token): count it against refresh, visibly, as a 404.
    return wrk.format("GET", "/api/auth/refresh-pool-empty")
  end
  local token = pool[head]
  pool[head] = nil
  head = head + 1
  return wrk.format("POST", "/api/auth/refresh", { ["Content-Type"] = "application/json" }, '{"refreshToken":"' .. token .. '"}')
end

function response(status, headers, body)
  local token = body:match('"refreshToken":"([^"]+)"')
  if token then
    tail = tail + 1
    pool[tail] = token
  end
end
