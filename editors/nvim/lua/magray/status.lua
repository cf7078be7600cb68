--- The statusline component: what the last request cost, fed by `magray/status`, plus what is
--- running now (from `$/progress`). Every change fires `User MagrayStatus` so statuslines redraw.
local M = {}

---@class magray.StatusState
---@field last table|nil       the last `magray/status` payload
---@field running table<string, string>  progress token -> action

M.state = { last = nil, running = {} }
M.format_fn = nil ---@type fun(payload: table|nil, state: magray.StatusState): string
M.busy_icon = "⋯"

local function value(v)
  if v == vim.NIL then
    return nil
  end
  return v
end

--- Dollars the way the server writes them: "$0", "<$0.0001", "$0.0004", "$3.10".
---@param amount number|nil
function M.money(amount)
  amount = value(amount)
  if amount == nil then
    return "$?"
  end
  if amount == 0 then
    return "$0"
  end
  if amount < 0.0001 then
    return "<$0.0001"
  end
  if amount < 0.01 then
    return ("$%.4f"):format(amount)
  end
  return ("$%.2f"):format(amount)
end

--- A budget reads better without cents when it is whole: "$20", "$12.50".
local function budget(amount)
  if amount == math.floor(amount) then
    return ("$%d"):format(amount)
  end
  return M.money(amount)
end

--- "$0.0004 · gpt-4o-mini · month $3.10/$20" (plus "cached", "fallback", "local" when they apply).
---@param payload table|nil a `magray/status` payload
---@return string
function M.format(payload)
  if payload == nil then
    return ""
  end
  local parts = {}
  if value(payload.cached) then
    parts[#parts + 1] = "cached"
  else
    parts[#parts + 1] = M.money(payload.costUsd)
  end
  local model = value(payload.model)
  if model then
    parts[#parts + 1] = model
  end
  local month = value(payload.monthUsd)
  if month ~= nil then
    local text = "month " .. M.money(month)
    local limit = value(payload.budgetUsd)
    if limit ~= nil then
      text = text .. "/" .. budget(limit)
    end
    parts[#parts + 1] = text
  end
  local from = value(payload.fallbackFrom)
  if from then
    parts[#parts + 1] = "fallback from " .. from
  end
  if value(payload.localOnly) then
    parts[#parts + 1] = "local only"
  end
  return table.concat(parts, " · ")
end

local function running_actions()
  local actions = {}
  for _, action in pairs(M.state.running) do
    actions[#actions + 1] = action
  end
  table.sort(actions)
  return actions
end

--- The statusline text: "⋯ explain" while a request runs, else the last request's line.
---@return string
function M.component()
  if M.format_fn then
    local ok, text = pcall(M.format_fn, M.state.last, M.state)
    return ok and tostring(text or "") or "magray: status.format failed"
  end
  local busy = running_actions()
  if #busy > 0 then
    local line = M.busy_icon .. " " .. table.concat(busy, ", ")
    if M.state.last then
      line = line .. " · " .. M.format(M.state.last)
    end
    return line
  end
  return M.format(M.state.last)
end

local function changed()
  vim.api.nvim_exec_autocmds("User", { pattern = "MagrayStatus", modeline = false, data = M.state.last })
  -- built-in 'statusline' expressions only re-evaluate on redraw
  pcall(vim.cmd.redrawstatus)
end

--- Handler for the `magray/status` notification.
function M.on_status(_, payload, _)
  if type(payload) ~= "table" then
    return
  end
  M.state.last = payload
  changed()
end

--- Track `$/progress` of magray requests ("magray: explain" titles) through LspProgress.
---@param params table the `$/progress` params
function M.on_progress(params)
  local token, report = params.token, params.value
  if type(report) ~= "table" or token == nil then
    return
  end
  local key = tostring(token)
  if report.kind == "begin" then
    local title = report.title or ""
    local action = title:match("^magray: (%S+)")
    if not action then
      return
    end
    M.state.running[key] = action
  elseif report.kind == "end" then
    if M.state.running[key] == nil then
      return
    end
    M.state.running[key] = nil
  else
    return
  end
  changed()
end

function M.reset()
  M.state.last = nil
  M.state.running = {}
end

return M
