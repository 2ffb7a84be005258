-- The same parse as records.weft, with Lua 5.4's string.unpack.
local f = assert(io.open(arg[1], "rb"))
local data = f:read("a")
f:close()
local at, n, count, total = 1, #data, 0, 0
while at <= n do
  local size = string.unpack(">I4", data, at)
  local value = string.unpack(">I2", data, at + 4)
  total = total + value
  count = count + 1
  at = at + 4 + size
end
print(count .. " " .. total)
