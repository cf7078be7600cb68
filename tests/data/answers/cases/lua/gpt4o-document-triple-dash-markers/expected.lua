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
  if self.first > self.last then
    return nil
  end
  local value = self.items[self.first]
  self.items[self.first] = nil
  self.first = self.first + 1
  return value
end

--- Pops every value off the queue and passes each one to `fn`.
--- @param queue table The queue to drain.
--- @param fn fun(value: any) Called once per value, oldest first.
--- @return integer count How many values were drained.
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
