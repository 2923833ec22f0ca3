-- wrk script: PUT of small objects, each under a new key and with a body of
-- its own (PFS stores a chunk once, so equal bodies would measure less
-- work than a real upload).
--
--   BENCH_PREFIX  path before the key, e.g. /master.bench.bench/put/r1-
--   BENCH_SIZE    body size in bytes (4096)
--   BENCH_LIMIT   objects per wrk thread; 0 = new keys for the whole run.
--                 With a limit the thread stops after that many answers and
--                 requests already on the way overwrite a key it made, so
--                 about threads x limit keys exist afterwards (wrk calls
--                 request() once on thread 0 before the run: its keys start
--                 at 2).
--   BENCH_DONE    with a limit: a file name prefix; a thread that is done
--                 creates <prefix><thread number>, so that bench/run can
--                 end wrk (wrk itself runs for its whole duration).

local prefix = os.getenv("BENCH_PREFIX") or "/"
local size = tonumber(os.getenv("BENCH_SIZE") or "4096")
local limit = tonumber(os.getenv("BENCH_LIMIT") or "0")
local done = os.getenv("BENCH_DONE")

local threads = 0

function setup(thread)
    thread:set("tid", threads)
    threads = threads + 1
end

local filler
local sent, answered = 0, 0

function init(args)
    filler = string.rep("0123456789abcdef", math.ceil(size / 16) + 1)
end

function request()
    sent = sent + 1
    local n = sent
    if limit > 0 and n > limit then
        n = limit
    end
    local key = string.format("%st%d-%d", prefix, tid, n)
    local body = key .. "\n" .. filler
    body = body:sub(1, size)
    return wrk.format("PUT", key, nil, body)
end

function response(status, headers, body)
    answered = answered + 1
    if limit > 0 and answered == limit then
        if done then
            io.open(done .. tid, "w"):close()
        end
        wrk.thread:stop()
    end
end
