-- wrk script: reservations as a streamed LLM call makes them — hold 100 tokens, then commit 80.
-- Each answered hold queues its id; the next request commits a queued id, or holds anew when
-- the queue is empty. So about half of the requests are holds and half are commits.
local queue = {}
local hold = '{"metric": "tokens_output", "amount": 100, "ttl_seconds": 60}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")

request = function()
  local id = table.remove(queue)
  if id then
    return wrk.format("POST", "/api/v1/billing/usage/reservations/" .. id .. "/commit", nil, '{"amount": 80}')
  end
  return wrk.format("POST", "/api/v1/billing/usage/reservations", nil, hold)
end

response = function(status, headers, body)
  if status == 201 then
    local id = body:match('"id":"([^"]+)"')
    if id then table.insert(queue, id) end
  end
end
