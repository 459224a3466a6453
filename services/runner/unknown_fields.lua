-- Rejects REST bodies with fields the contract does not have, before the gRPC-JSON transcoder
-- (which drops them without a word). services/runner/unknown_fields.py puts the tables this code
-- reads above it: MESSAGES (each message's accepted JSON keys), NAMES (their full names) and ROUTES
-- (which REST call carries which message as its body, by HTTP method, in the transcoder's order). The body is scanned, never decoded into Lua values; what is not JSON
-- this code can read is left to the transcoder, which judges it (MALFORMED_REQUEST).

local byte, find, sub, char, concat = string.byte, string.find, string.sub, string.char, table.concat
local MAX_DEPTH = 64        -- deeper than any contract nests: left to the transcoder
local MAX_VIOLATIONS = 100  -- as the services cap theirs (services/common/errors.py)
local SHOWN_CHARS = 40      -- of a key the client wrote, in a path
local UNREADABLE = {}       -- raised for a body that is not JSON as far as this scanner sees

local function unreadable() error(UNREADABLE, 0) end

-- Byte loops and plain finds only: LuaJIT compiles those, not pattern searches (measured: the
-- same scan with pattern searches took three times as long on a 1,000-sample batch).
local function next_token(s, i)  -- the first byte from i that is no whitespace, and its index
  local c = byte(s, i)
  while c == 32 or c == 10 or c == 13 or c == 9 do
    i = i + 1
    c = byte(s, i)
  end
  if not c then unreadable() end
  return i, c
end

local function string_end(s, i)  -- s[i] is the opening quote: the index of the closing one
  local j = i + 1
  while true do
    local k = find(s, '"', j, true)
    if not k then unreadable() end
    local backslashes = 0
    while byte(s, k - 1 - backslashes) == 92 do backslashes = backslashes + 1 end
    if backslashes % 2 == 0 then return k end  -- else the quote is escaped
    j = k + 1
  end
end

local ESCAPES = { [98] = "\b", [102] = "\f", [110] = "\n", [114] = "\r", [116] = "\t" }

local function utf8_char(code)
  if code < 0x80 then return char(code) end
  if code < 0x800 then return char(0xC0 + math.floor(code / 0x40), 0x80 + code % 0x40) end
  if code < 0x10000 then
    return char(0xE0 + math.floor(code / 0x1000), 0x80 + math.floor(code / 0x40) % 0x40, 0x80 + code % 0x40)
  end
  return char(0xF0 + math.floor(code / 0x40000), 0x80 + math.floor(code / 0x1000) % 0x40,
              0x80 + math.floor(code / 0x40) % 0x40, 0x80 + code % 0x40)
end

local function unescape(raw)  -- a key with backslashes, as the JSON parser reads it
  local out, i = {}, 1
  while true do
    local k = find(raw, "\\", i, true)
    if not k then out[#out + 1] = sub(raw, i); return concat(out) end
    out[#out + 1] = sub(raw, i, k - 1)
    local c = byte(raw, k + 1)
    if c == 117 then  -- \uXXXX, with a surrogate pair as one character
      local code = tonumber(sub(raw, k + 2, k + 5), 16)
      if not code then unreadable() end
      i = k + 6
      if code >= 0xD800 and code < 0xDC00 and sub(raw, i, i + 1) == "\\u" then
        local low = tonumber(sub(raw, i + 2, i + 5), 16)
        if low and low >= 0xDC00 and low < 0xE000 then
          code = 0x10000 + (code - 0xD800) * 0x400 + (low - 0xDC00)
          i = i + 6
        end
      end
      out[#out + 1] = utf8_char(code)
    elseif c then
      out[#out + 1] = ESCAPES[c] or char(c)
      i = k + 2
    else
      unreadable()
    end
  end
end

local function skip_value(s, i, c)  -- s[i] (byte c) starts any JSON value: the index after it
  if c == 34 then return string_end(s, i) + 1 end
  if c == 123 or c == 91 then  -- brackets are counted; their kinds are the transcoder's to check
    local depth, j = 1, i + 1
    while true do
      local b = byte(s, j)
      if not b then unreadable() end
      if b == 34 then
        j = string_end(s, j)
      elseif b == 123 or b == 91 then
        depth = depth + 1
      elseif b == 125 or b == 93 then
        depth = depth - 1
        if depth == 0 then return j + 1 end
      end
      j = j + 1
    end
  end
  local j = i  -- a number, true, false or null: up to a delimiter
  while true do
    local b = byte(s, j)
    if not b or b == 44 or b == 125 or b == 93 or b == 32 or b == 10 or b == 13 or b == 9 then
      if j == i then unreadable() end
      return j
    end
    j = j + 1
  end
end

-- The path to the value being scanned, kept as parts (a key, or an index or map key in brackets)
-- and joined only for a violation, so a valid body builds no strings.
local function shown_key(key)
  if #key > SHOWN_CHARS then key = sub(key, 1, SHOWN_CHARS) .. "..." end
  return key
end

local function path_of(parts, n, key)
  local out = {}
  for p = 1, n do
    local part = parts[p]
    if type(part) == "number" then
      out[#out + 1] = "[" .. part .. "]"
    elseif byte(part, 1) == 91 then
      out[#out + 1] = part
    else
      out[#out + 1] = (#out > 0 and "." or "") .. part
    end
  end
  out[#out + 1] = (#out > 0 and "." or "") .. shown_key(key)
  return concat(out)
end

-- A known field the client misspelled: the closest name (optimal string alignment distance, a
-- swap of two letters counting one), if close enough; JSON names before proto names, then by name.
local function distance(a, b)
  local before, last, row = {}, {}, {}
  for j = 0, #b do last[j] = j end
  for i = 1, #a do
    row = { [0] = i }
    local ai = byte(a, i)
    for j = 1, #b do
      local bj = byte(b, j)
      local d = math.min(last[j] + 1, row[j - 1] + 1, last[j - 1] + (ai == bj and 0 or 1))
      if i > 1 and j > 1 and ai == byte(b, j - 1) and byte(a, i - 1) == bj then d = math.min(d, before[j - 2] + 1) end
      row[j] = d
    end
    before, last = last, row
  end
  return last[#b]
end

-- The search is quadratic in a key's length, so it is bounded: many long unknown keys cannot make
-- Envoy spend on them (unbounded, 150 keys of 60 characters took 31 ms of CPU a call; now 0.6 ms).
local MAX_HINTS = 10
local HINT_CHARS = 32

local function hint(key, message, nth)
  local text = "no such field in " .. NAMES[message]
  if #key > HINT_CHARS or nth > MAX_HINTS then return text end
  local best, best_rank, limit, lower_key = nil, nil, math.max(1, math.min(3, math.floor(#key / 3))), key:lower()
  for name in pairs(MESSAGES[message]) do
    if math.abs(#name - #key) <= limit then  -- a distance is at least the difference in length
      local d = distance(lower_key, name:lower())
      if d <= limit then
        local rank = d * 2 + (find(name, "_", 1, true) and 1 or 0)
        if not best_rank or rank < best_rank or rank == best_rank and name < best then best, best_rank = name, rank end
      end
    end
  end
  if best then text = text .. ' (did you mean "' .. best .. '"?)' end
  return text
end

local scan_object

local function scan_field(s, i, c, spec, st)
  local message, kind = spec[1], spec[2]
  if kind == 1 then
    if c == 123 then return scan_object(s, i, message, st) end
    return skip_value(s, i, c)  -- null, or a value the transcoder will refuse
  end
  if kind == 2 and c == 91 then  -- repeated: each element at its index
    local n = st.depth
    i, c = next_token(s, i + 1)
    if c == 93 then return i + 1 end
    local index = 0
    while true do
      st.parts[n + 1] = index
      st.depth = n + 1
      if c == 123 then i = scan_object(s, i, message, st) else i = skip_value(s, i, c) end
      st.depth = n
      i, c = next_token(s, i)
      if c == 93 then return i + 1 end
      if c ~= 44 then unreadable() end
      i, c = next_token(s, i + 1)
      index = index + 1
    end
  end
  if kind == 3 and c == 123 then  -- a map: any key, each value a message
    local n = st.depth
    i, c = next_token(s, i + 1)
    if c == 125 then return i + 1 end
    while true do
      if c ~= 34 then unreadable() end
      local e = string_end(s, i)
      local key = sub(s, i + 1, e - 1)
      i, c = next_token(s, e + 1)
      if c ~= 58 then unreadable() end
      i, c = next_token(s, i + 1)
      st.parts[n + 1] = '["' .. shown_key(key) .. '"]'
      st.depth = n + 1
      if c == 123 then i = scan_object(s, i, message, st) else i = skip_value(s, i, c) end
      st.depth = n
      i, c = next_token(s, i)
      if c == 125 then return i + 1 end
      if c ~= 44 then unreadable() end
      i, c = next_token(s, i + 1)
    end
  end
  return skip_value(s, i, c)
end

scan_object = function(s, i, message, st)  -- s[i] is "{": the index after the object
  local n, fields = st.depth, MESSAGES[message]
  if n > MAX_DEPTH then unreadable() end
  local c
  i, c = next_token(s, i + 1)
  if c == 125 then return i + 1 end
  while true do
    if c ~= 34 then unreadable() end
    local e = string_end(s, i)
    local key = sub(s, i + 1, e - 1)
    if find(key, "\\", 1, true) then key = unescape(key) end
    i, c = next_token(s, e + 1)
    if c ~= 58 then unreadable() end
    i, c = next_token(s, i + 1)
    local spec = fields[key]
    if spec == nil then
      st.count = st.count + 1
      if st.count <= MAX_VIOLATIONS then st.found[st.count] = { path_of(st.parts, n, key), hint(key, message, st.count) } end
      i = skip_value(s, i, c)
    elseif spec == 0 then
      i = skip_value(s, i, c)
    else
      st.parts[n + 1] = key
      st.depth = n + 1
      i = scan_field(s, i, c, spec, st)
      st.depth = n
    end
    i, c = next_token(s, i)
    if c == 125 then return i + 1 end
    if c ~= 44 then unreadable() end
    i, c = next_token(s, i + 1)
  end
end

-- The body's unknown fields (the first MAX_VIOLATIONS, each its JSON path and what to say), and how
-- many there are;
-- nil when the body is not an object this scanner can read.
local function unknown_fields(body, route)
  local ok, i, c = pcall(next_token, body, 1)
  if not ok or c ~= 123 then return nil end
  local st = { parts = {}, depth = 0, found = {}, count = 0 }
  if route[3] ~= "" then st.parts[1] = route[3]; st.depth = 1 end
  local ok, err = pcall(scan_object, body, i, route[2], st)
  if not ok then
    if err == UNREADABLE then return nil end
    error(err, 0)
  end
  return st.found, st.count
end

local function json_string(text)
  -- Control characters and quotes escaped; bytes that are no UTF-8 become U+FFFD, so the answer
  -- stays JSON whatever the key held.
  text = text:gsub('[%c"\\]', function(ch)
    return (ch == '"' or ch == "\\") and "\\" .. ch or string.format("\\u%04x", byte(ch))
  end)
  local out, i = {}, 1
  while true do
    local k = find(text, "[\128-\255]", i)
    if not k then out[#out + 1] = sub(text, i); break end
    out[#out + 1] = sub(text, i, k - 1)
    local b = byte(text, k)
    local len = (b >= 0xC2 and b <= 0xDF and 2) or (b >= 0xE0 and b <= 0xEF and 3)
                or (b >= 0xF0 and b <= 0xF4 and 4) or 1
    local seq = sub(text, k, k + len - 1)
    if len > 1 and #seq == len and not find(sub(seq, 2), "[^\128-\191]") then
      out[#out + 1] = seq
    else
      out[#out + 1] = "\\ufffd"
      len = 1
    end
    i = k + len
  end
  return '"' .. concat(out) .. '"'
end

local function rejection(found, count)
  local violations, messages = {}, {}
  for v, item in ipairs(found) do
    local field, description = item[1], item[2]
    violations[v] = '{"field":' .. json_string(field) .. ',"description":' .. json_string(description)
                    .. ',"reason":"UNKNOWN_FIELD"}'
    messages[v] = field .. ": " .. description
  end
  local message = concat(messages, "; ")
  if #message > 1024 then message = sub(message, 1, 1024) .. "..." end
  if count > #found then message = message .. " (and " .. (count - #found) .. " more problems)" end
  local metadata = count == 1 and '{"field":' .. json_string(found[1][1]) .. '}' or "{}"
  return '{"code":3,"message":' .. json_string(message) .. ',"details":['
         .. '{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"UNKNOWN_FIELD",'
         .. '"domain":"gateway.healthmesh","metadata":' .. metadata .. '},'
         .. '{"@type":"type.googleapis.com/google.rpc.BadRequest","fieldViolations":['
         .. concat(violations, ",") .. ']}]}'
end

local function route_of(method, path)
  local candidates = ROUTES[method]
  if not candidates then return nil end
  local q = find(path, "?", 1, true)
  if q then path = sub(path, 1, q - 1) end
  for _, route in ipairs(candidates) do
    if find(path, route[1]) then return route end
  end
  return nil
end

function envoy_on_request(handle)
  local headers = handle:headers()
  local content_type = headers:get("content-type") or ""
  if find(content_type, "application/grpc", 1, true) == 1 then return end  -- not transcoded
  local route = route_of(headers:get(":method"), headers:get(":path") or "")
  if not route then return end
  local body = handle:body()
  if not body then return end
  local found, count = unknown_fields(body:getBytes(0, body:length()), route)
  if found and count > 0 then
    handle:streamInfo():dynamicMetadata():set("healthmesh.unknown_fields", "rejected", true)
    handle:respond({ [":status"] = "400", ["content-type"] = "application/json" },
                   rejection(found, count))
  end
end
