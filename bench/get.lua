-- wrk script: GET of BENCH_KEYS small objects named BENCH_PREFIX1 ..
-- BENCH_PREFIX<n>, in turn, so every request reads a stored object and the
-- same script serves nginx static files, our S3 paths and s3rver's.

local prefix = os.getenv("BENCH_PREFIX") or "/"
local keys = tonumber(os.getenv("BENCH_KEYS") or "1")
local i = 0

function request()
    i = i % keys + 1
    return wrk.format("GET", prefix .. i)
end
