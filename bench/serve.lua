-- wrk script for bench/serve: POSTs JSON bodies read from a file (one body a
-- line, path in $BENCH_BODIES) to the URL given to wrk, cycling through them;
-- each wrk thread starts at a different place in the list.
local bodies = {}
local file = os.getenv("BENCH_BODIES")
local f = file and io.open(file, "r")
if not f then
	error("bench/serve.lua: set BENCH_BODIES to a readable file of JSON bodies")
end
for line in f:lines() do
	if #line > 0 then bodies[#bodies + 1] = line end
end
f:close()
if #bodies == 0 then error("bench/serve.lua: no bodies in " .. file) end

local threads = 0
function setup(thread)
	threads = threads + 1
	thread:set("start", threads * 997)
end

local i = nil
local headers = { ["Content-Type"] = "application/json" }
function request()
	if i == nil then i = (start or 0) % #bodies end
	i = i % #bodies + 1
	return wrk.format("POST", nil, headers, bodies[i])
end
