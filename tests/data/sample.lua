local json = require("json")

local MAX_DEPTH = 10

--- A simple stack.
local Stack = {}
Stack.__index = Stack

function Stack.new()
  return setmetatable({ items = {}, size = 0 }, Stack)
end

function Stack:push(value)
  self.size = self.size + 1
  self.items[self.size] = value
end

function Stack:pop()
  if self.size == 0 then
    return nil
  end
  local value = self.items[self.size]
  self.items[self.size] = nil
  self.size = self.size - 1
  return value
end

--- Returns the top value without removing it.
-- @return the top value or nil
function Stack:peek()
  return self.items[self.size]
end

local function depth_ok(depth)
  return depth <= MAX_DEPTH
end

local M = {}

function M.encode(stack)
  return json.encode(stack.items)
end

function M.greet(name)
  print("你好, " .. name .. " 🌙")
end

local helper = function(x)
  return x * 2
end

M.Stack = Stack
M.depth_ok = depth_ok
return M
