-- magray-lsp team budget: every operation on the team's Redis state, each one atomic.
--
-- Money is integer pico-dollars (10^-12 USD), passed and stored as decimal strings. Lua numbers
-- are doubles (exact only to 2^53 pico = $9,007), so sums and comparisons split each amount
-- into base-10^9 halves; HINCRBY stores them as Redis' exact 64-bit integers.
--
-- KEYS (all of one team, one hash slot thanks to the {team} tag):
--   1 epoch     string  a random id; missing = new team or Redis lost its data
--   2 spend     hash    this month: "team" and "m:<member>" -> settled pico
--   3 clients   hash    this month: "<client>|<member>" -> the client's local total already
--                       counted; "replayed|<client>" -> epoch whose usage rows it re-sent
--   4 usage     stream  this month's ledger rows, one JSON field "row" each (capped)
--   5 holds     zset    reservation id -> expiry (ms, Redis clock)
--   6 holdamt   hash    reservation id -> "<member>|<pico>"
--   7 reserved  hash    "team" and "m:<member>" -> pico held by open reservations
--
-- ARGV[1] is the operation. Every reply starts with
--   {status, epoch, team spent, team reserved, member spent, member reserved}
-- status: "ok", "team" / "member" (that limit refused the reservation) or "epoch" (the caller's
-- epoch is not the current one: it must sync first; nothing was changed).
--
-- reserve and settle are on every paid request's path, so they keep to few commands (each
-- redis.call costs about a microsecond), read the figures with one HMGET per hash and pass them
-- on as stored, parsing and formatting only the amounts they compute (about a microsecond each).

local B = 1000000000

local function big(s)
  if not s or s == '' or string.sub(s, 1, 1) == '-' then return {0, 0} end
  local n = #s
  if n <= 9 then return {0, tonumber(s)} end
  return {tonumber(string.sub(s, 1, n - 9)), tonumber(string.sub(s, n - 8))}
end

local function add(a, b)
  local hi, lo = a[1] + b[1], a[2] + b[2]
  if lo >= B then hi, lo = hi + 1, lo - B end
  return {hi, lo}
end

local function sub(a, b) -- a >= b
  local hi, lo = a[1] - b[1], a[2] - b[2]
  if lo < 0 then hi, lo = hi - 1, lo + B end
  return {hi, lo}
end

local function cmp(a, b)
  if a[1] ~= b[1] then return a[1] < b[1] and -1 or 1 end
  if a[2] ~= b[2] then return a[2] < b[2] and -1 or 1 end
  return 0
end

local function str(a)
  if a[1] == 0 then return string.format('%d', a[2]) end
  return string.format('%d%09d', a[1], a[2])
end

local function hget(key, field)
  return big(redis.call('HGET', key, field))
end

-- the team's and the member's amount in one hash (spend or reserved), as stored ('0': none)
local function pair(key, member)
  local v = redis.call('HMGET', key, 'team', 'm:' .. member)
  local team, mine = v[1], v[2]
  -- missing, empty or below 0 ('-'): none
  if not team or team == '' or string.byte(team) == 45 then team = '0' end
  if not mine or mine == '' or string.byte(mine) == 45 then mine = '0' end
  return team, mine
end

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function unhold(id)
  redis.call('ZREM', KEYS[5], id)
  local v = redis.call('HGET', KEYS[6], id)
  if not v then return end -- settled, released or expired already
  redis.call('HDEL', KEYS[6], id)
  local member, amount = string.match(v, '^(.*)|(%d+)$')
  redis.call('HINCRBY', KEYS[7], 'team', '-' .. amount)
  if redis.call('HINCRBY', KEYS[7], 'm:' .. member, '-' .. amount) == 0 then
    redis.call('HDEL', KEYS[7], 'm:' .. member)
  end
end

-- reservations of clients that died: gone after their expiry (a bounded batch per call)
local function expire_holds(now)
  local ids = redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', now, 'LIMIT', 0, 100)
  for _, id in ipairs(ids) do unhold(id) end
end

-- The client's local total for this member only ever grows: count what is new since the last
-- total it sent. Retried or reordered calls, and a replay after data loss, count nothing twice.
local function merge(client, member, total)
  if total == '' then return end
  local field = client .. '|' .. member
  local t, seen = big(total), hget(KEYS[3], field)
  if cmp(t, seen) > 0 then
    local delta = str(sub(t, seen))
    redis.call('HSET', KEYS[3], field, total)
    redis.call('HINCRBY', KEYS[2], 'team', delta)
    redis.call('HINCRBY', KEYS[2], 'm:' .. member, delta)
  end
end

local function keep_month(ttl)
  for i = 2, 4 do redis.call('EXPIRE', KEYS[i], ttl) end -- a missing key stays missing
end

local function figures(status, epoch, spent, member_spent, held, member_held, extra)
  local r = {status, epoch or '', spent, held, member_spent, member_held}
  if extra then table.insert(r, extra) end
  return r
end

local function reply(status, epoch, member, extra)
  local spent, member_spent = pair(KEYS[2], member)
  local held, member_held = pair(KEYS[7], member)
  return figures(status, epoch, spent, member_spent, held, member_held, extra)
end

local op = ARGV[1]
local epoch = redis.call('GET', KEYS[1])

if op == 'reserve' then
  -- ARGV: op, epoch, member, amount, team limit, member limit ('' = none), ttl ms, hold id
  local member, amount = ARGV[3], big(ARGV[4])
  if epoch ~= ARGV[2] then return reply('epoch', epoch, member) end
  local now = now_ms()
  expire_holds(now)
  if redis.call('HEXISTS', KEYS[6], ARGV[8]) == 1 then
    return reply('ok', epoch, member) -- a retried call: this hold is made already
  end
  local spent, member_spent = pair(KEYS[2], member)
  local held, member_held = pair(KEYS[7], member)
  if cmp(amount, {0, 0}) > 0 then
    -- spend + open reservations + this estimate must stay within the limit; at the limit the
    -- budget is spent, so any further paid request is refused
    local team_held, mine_held = big(held), big(member_held)
    local status = 'ok'
    if ARGV[5] ~= '' and cmp(add(add(big(spent), team_held), amount), big(ARGV[5])) > 0 then
      status = 'team'
    elseif ARGV[6] ~= '' and cmp(add(add(big(member_spent), mine_held), amount), big(ARGV[6])) > 0 then
      status = 'member'
    end
    if status ~= 'ok' then
      return figures(status, epoch, spent, member_spent, held, member_held)
    end
    redis.call('ZADD', KEYS[5], now + tonumber(ARGV[7]), ARGV[8])
    redis.call('HSET', KEYS[6], ARGV[8], member .. '|' .. ARGV[4])
    redis.call('HINCRBY', KEYS[7], 'team', ARGV[4])
    redis.call('HINCRBY', KEYS[7], 'm:' .. member, ARGV[4])
    held, member_held = str(add(team_held, amount)), str(add(mine_held, amount))
  end
  return figures('ok', epoch, spent, member_spent, held, member_held)

elseif op == 'settle' then
  -- ARGV: op, epoch, member, hold id (''), client, local total (''), stream cap, month ttl,
  --       usage row ('' = none)
  local member = ARGV[3]
  if epoch ~= ARGV[2] then return reply('epoch', epoch, member) end
  if ARGV[4] ~= '' then unhold(ARGV[4]) end
  merge(ARGV[5], member, ARGV[6])
  if ARGV[9] and ARGV[9] ~= '' then
    redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[7], '*', 'row', ARGV[9])
  end
  keep_month(tonumber(ARGV[8]))
  return reply('ok', epoch, member)

elseif op == 'release' then
  -- ARGV: op, epoch (unused), member, hold ids...
  for i = 4, #ARGV do unhold(ARGV[i]) end
  return reply('ok', epoch, ARGV[3])

elseif op == 'sync' then
  -- ARGV: op, epoch (unused), member, new epoch if none, client, month ttl, member, total, ...
  -- Starts the epoch if there is none (a new team, or Redis restarted empty), then brings this
  -- client's counted totals up to its local ledger's. The 7th reply item is 1 the first time
  -- this client syncs this month in this epoch: it then re-sends its usage rows.
  if not epoch then
    epoch = ARGV[4]
    redis.call('SET', KEYS[1], epoch)
  end
  for i = 7, #ARGV, 2 do merge(ARGV[5], ARGV[i], ARGV[i + 1]) end
  local replay = 0
  if redis.call('HGET', KEYS[3], 'replayed|' .. ARGV[5]) ~= epoch then
    redis.call('HSET', KEYS[3], 'replayed|' .. ARGV[5], epoch)
    replay = 1
  end
  keep_month(tonumber(ARGV[6]))
  return reply('ok', epoch, ARGV[3], tostring(replay))

elseif op == 'status' then
  -- ARGV: op, epoch, member
  if epoch ~= ARGV[2] then return reply('epoch', epoch, ARGV[3]) end
  expire_holds(now_ms())
  return reply('ok', epoch, ARGV[3])
end

return redis.error_reply('magray team script: unknown operation ' .. tostring(op))
