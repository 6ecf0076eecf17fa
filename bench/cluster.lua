-- wrk script for bench/cluster and scripts/cluster-test: POSTs JSON bodies
-- read from a file (one body a line, path in $BENCH_BODIES) to the URL given
-- to wrk, cycling through them, and counts the answers by status: at the end
-- it prints one line,
--   cluster.lua: responses N non2xx N statuses CODE=N,...
-- so that a failed request is counted whatever wrk's own summary says (wrk
-- counts a refused or reset connection under "Socket errors", an answer
-- outside 200..399 under "Non-2xx"; this counts outside 200..299).
local bodies = {}
local file = os.getenv("BENCH_BODIES")
local f = file and io.open(file, "r")
if not f then
	error("bench/cluster.lua: set BENCH_BODIES to a readable file of JSON bodies")
end
for line in f:lines() do
	if #line > 0 then bodies[#bodies + 1] = line end
end
f:close()
if #bodies == 0 then error("bench/cluster.lua: no bodies in " .. file) end

local threads = {}
function setup(thread)
	threads[#threads + 1] = thread
	thread:set("start", #threads * 997)
end

-- Per thread (each wrk thread has its own Lua state).
responses = 0
non2xx = 0
statuses = ""
local seen = {}

local i = nil
local headers = { ["Content-Type"] = "application/json" }
function request()
	if i == nil then i = (start or 0) % #bodies end
	i = i % #bodies + 1
	return wrk.format("POST", nil, headers, bodies[i])
end

function response(status, hdrs, body)
	responses = responses + 1
	if status < 200 or status > 299 then
		non2xx = non2xx + 1
	end
	seen[status] = (seen[status] or 0) + 1
	-- What done() reads must be a plain global; refreshed now and then.
	if responses % 64 == 0 or status < 200 or status > 299 then
		local parts = {}
		for code, n in pairs(seen) do parts[#parts + 1] = code .. "=" .. n end
		statuses = table.concat(parts, ",")
	end
end

function done(summary, latency, requests)
	local n, bad = 0, 0
	local all = {}
	for _, t in ipairs(threads) do
		n = n + t:get("responses")
		bad = bad + t:get("non2xx")
		local s = t:get("statuses")
		if s and #s > 0 then all[#all + 1] = s end
	end
	io.write(string.format("cluster.lua: responses %d non2xx %d statuses %s\n", n, bad, table.concat(all, ";")))
end
