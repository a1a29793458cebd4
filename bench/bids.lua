-- POST /api/v1/demands/{id}/bids with a different (bidder, demand) pair on
-- every request: each wrk thread owns a slice of the bidders' tokens and
-- walks demands above the seeded bids, so no request is a duplicate.
local tokens = {}
local threads = {}
local counter = 1

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(os.getenv("BENCH_TOKENS")) do
    table.insert(tokens, line)
  end
  per = math.floor(#tokens / 2)
  first = (tid - 1) * per
  first_demand = tonumber(os.getenv("BENCH_FIRST_DEMAND")) + (tid - 1) * 20000
  k = 0
end

-- BENCH_BIDS_SPREAD=1: every request bids on the next demand (a market
-- of many open demands); otherwise the thread's bidders bid on one demand
-- after another together (a hot demand: its row is contended).
spread = os.getenv("BENCH_BIDS_SPREAD") == "1"

function request()
  local token = tokens[first + (k % per) + 1]
  local demand = first_demand + math.floor(k / per)
  if spread then demand = first_demand + k end
  k = k + 1
  return wrk.format("POST", "/api/v1/demands/" .. demand .. "/bids",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token},
    '{"price": "88.00", "proposal": "bench"}')
end
