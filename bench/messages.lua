-- POST /api/v1/conversations/{id}/messages: each wrk thread owns a slice
-- of (token, conversation) pairs (a bidder's conversation with the demand
-- owner) and sends from them in turn.
local pairs_ = {}
local counter = 1

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end

function init(args)
  for line in io.lines(os.getenv("BENCH_CONVS")) do
    local token, conv = line:match("^(%S+) (%S+)$")
    table.insert(pairs_, {token, conv})
  end
  per = math.floor(#pairs_ / 2)
  first = (tid - 1) * per
  k = 0
end

function request()
  local p = pairs_[first + (k % per) + 1]
  k = k + 1
  return wrk.format("POST", "/api/v1/conversations/" .. p[2] .. "/messages",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. p[1]},
    '{"text": "明天早上九点在商场东门集合，带好工牌。"}')
end
