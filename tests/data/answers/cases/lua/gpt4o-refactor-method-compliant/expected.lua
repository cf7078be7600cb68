local Queue = {}
Queue.__index = Queue

function Queue.new()
  return setmetatable({ first = 1, last = 0, items = {} }, Queue)
end

function Queue:push(value)
  self.last = self.last + 1
  self.items[self.last] = value
end

function Queue:pop()
  local first = self.first
  if first > self.last then
    return nil
  end
  local value = self.items[first]
  self.items[first] = nil
  self.first = first + 1
  return value
end

local function drain(queue, fn)
  local count = 0
  while true do
    local value = queue:pop()
    if value == nil then
      break
    end
    fn(value)
    count = count + 1
  end
  return count
end

Queue.drain = drain

return Queue
