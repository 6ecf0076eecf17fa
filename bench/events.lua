-- wrk script for bench/events: POSTs batches of $EVENTS_BATCH (default 100)
-- listener events, every event_id new (wrk thread, request and place in the
-- batch: a run never repeats one, so the store does the work of new events,
-- not of retries), users drawn from 10,000, tracks from a small list.
local batch = tonumber(os.getenv("EVENTS_BATCH") or "100")
local run = os.getenv("EVENTS_RUN") or "r"
local types = { "play", "skip", "like", "dislike", "save" }
local tracks = { "4uLU6hMCjMI75M1A2tKUQC", "40riOy7x9W7GXjyGp4pjAv", "0VjIjW4GlUZAMYd2vXMi3b",
	"7qiZfU4dY1lWllzX7mPBI3", "1zi7xx7UVEFkmKfv06H8x0" }

local threads = 0
function setup(thread)
	threads = threads + 1
	thread:set("tid", threads)
end

local n = 0
local headers = { ["Content-Type"] = "application/json" }
function request()
	n = n + 1
	local parts = {}
	for i = 1, batch do
		local k = n * batch + i
		parts[i] = string.format(
			'{"event_id":"%s-%d-%d-%d","type":"%s","user_id":"user-%d","track":"%s","request_id":"q%d-%d","position":%d,"client_ms":%d}',
			run, tid, n, i, types[k % 5 + 1], (k * 7919 + tid) % 10000, tracks[k % 5 + 1], tid, n, i % 10,
			1764892800000 + n)
	end
	return wrk.format("POST", nil, headers, '{"events":[' .. table.concat(parts, ",") .. "]}")
end
